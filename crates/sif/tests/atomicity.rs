//! Failed edits leave the image byte-identical and leave no temporary files behind.

mod support;

use std::io::{self, Read};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use berth_sif::{
    Arch, CreateOptions, DataType, DeleteOptions, EditOptions, Error, FsType, Image, ObjectData,
    ObjectInput, ObjectMetadata, PartType, PartitionMeta, SbomFormat,
};

fn primary(arch: Arch) -> ObjectInput {
    ObjectInput::partition(
        vec![0xfa, 0xce],
        PartitionMeta {
            fs: FsType::Squashfs,
            part: PartType::PrimSys,
            arch,
        },
    )
}

/// An image with a primary partition, a data partition, a generic object and an OCI blob.
fn setup() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("image.sif");
    let opts = CreateOptions {
        descriptor_capacity: 5,
        objects: vec![
            primary(Arch::AMD64),
            ObjectInput::partition(
                vec![1, 2, 3],
                PartitionMeta {
                    fs: FsType::Raw,
                    part: PartType::Data,
                    arch: Arch::AMD64,
                },
            ),
            ObjectInput::new(DataType::Generic, b"hello".as_slice()),
            ObjectInput::new(DataType::OciBlob, b"{}".as_slice()),
        ],
        ..CreateOptions::deterministic()
    };
    berth_sif::create(&path, opts).unwrap();
    (dir, path)
}

/// Files in `dir` other than the image.
fn leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|name| name != "image.sif")
        .collect()
}

/// A reader that yields some data, then fails.
struct Failing(usize);

impl Read for Failing {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.0 == 0 {
            return Err(io::Error::other("source went away"));
        }
        let n = self.0.min(buf.len());
        buf[..n].fill(0xAB);
        self.0 -= n;
        Ok(n)
    }
}

fn assert_refused(
    what: &str,
    edit: impl FnOnce(&Path) -> berth_sif::Result<()>,
    expected: impl Fn(&Error) -> bool,
) {
    let (dir, path) = setup();
    let before = std::fs::read(&path).unwrap();
    let err = edit(&path).expect_err(what);
    assert!(expected(&err), "{what}: unexpected error {err:?}");
    assert_eq!(
        std::fs::read(&path).unwrap(),
        before,
        "{what}: image changed"
    );
    assert!(
        leftovers(dir.path()).is_empty(),
        "{what}: left {:?}",
        leftovers(dir.path())
    );
}

#[test]
fn refused_edits_change_nothing() {
    let edit = EditOptions::default();
    let del = DeleteOptions {
        zero: true,
        compact: true,
        edit,
    };
    assert_refused(
        "second primary partition",
        |p| berth_sif::add_object(p, primary(Arch::ARM64), &edit).map(drop),
        |e| matches!(e, Error::PrimaryPartitionExists),
    );
    assert_refused(
        "delete missing id",
        |p| berth_sif::delete_object(p, 9, &del),
        |e| matches!(e, Error::ObjectNotFound { id: 9 }),
    );
    assert_refused(
        "delete with selector matching nothing",
        |p| berth_sif::delete_objects(p, |d| d.data_type == DataType::Sbom, &del),
        |e| matches!(e, Error::ObjectNotFound { id: 0 }),
    );
    assert_refused(
        "set primary on missing id",
        |p| berth_sif::set_primary_partition(p, 7, &edit),
        |e| matches!(e, Error::ObjectNotFound { id: 7 }),
    );
    assert_refused(
        "set primary on a generic object",
        |p| berth_sif::set_primary_partition(p, 3, &edit),
        |e| matches!(e, Error::NotAPartition { id: 3 }),
    );
    assert_refused(
        "set primary on a data partition",
        |p| berth_sif::set_primary_partition(p, 2, &edit),
        |e| matches!(e, Error::NotASystemPartition { id: 2 }),
    );
    assert_refused(
        "metadata of the wrong type",
        |p| berth_sif::set_metadata(p, 3, ObjectMetadata::Sbom(SbomFormat::SpdxJson), &edit),
        |e| {
            matches!(
                e,
                Error::WrongDataType {
                    id: 3,
                    found: DataType::Generic,
                    ..
                }
            )
        },
    );
    assert_refused(
        "second primary through metadata",
        |p| {
            let meta = PartitionMeta {
                fs: FsType::Raw,
                part: PartType::PrimSys,
                arch: Arch::AMD64,
            };
            berth_sif::set_metadata(p, 2, ObjectMetadata::Partition(meta), &edit)
        },
        |e| matches!(e, Error::PrimaryPartitionExists),
    );
    assert_refused(
        "digest of a non-OCI object",
        |p| berth_sif::set_oci_blob_digest(p, 3, &format!("sha256:{}", "0".repeat(64)), &edit),
        |e| matches!(e, Error::WrongDataType { id: 3, .. }),
    );
    assert_refused(
        "malformed digest",
        |p| berth_sif::set_oci_blob_digest(p, 4, "sha256:XYZ", &edit),
        |e| matches!(e, Error::InvalidDigest(_)),
    );
    assert_refused(
        "name too long",
        |p| {
            let object = ObjectInput::new(DataType::Generic, vec![1]).with_name("n".repeat(129));
            berth_sif::add_object(p, object, &edit).map(drop)
        },
        |e| matches!(e, Error::NameTooLong),
    );
    assert_refused(
        "partition without an architecture",
        |p| {
            let meta = PartitionMeta {
                fs: FsType::Raw,
                part: PartType::Data,
                arch: Arch::UNKNOWN,
            };
            berth_sif::add_object(p, ObjectInput::partition(vec![1], meta), &edit).map(drop)
        },
        |e| matches!(e, Error::UnknownArch(_)),
    );
    assert_refused(
        "partition without metadata",
        |p| {
            berth_sif::add_object(p, ObjectInput::new(DataType::Partition, vec![1]), &edit)
                .map(drop)
        },
        |e| matches!(e, Error::MissingMetadata { .. }),
    );
    assert_refused(
        "link to object 0",
        |p| {
            let object =
                ObjectInput::new(DataType::Generic, vec![1]).with_link(berth_sif::Link::Object(0));
            berth_sif::add_object(p, object, &edit).map(drop)
        },
        |e| matches!(e, Error::InvalidLink { target: 0 }),
    );
    assert_refused(
        "missing data file",
        |p| {
            let object =
                ObjectInput::new(DataType::Generic, ObjectData::File("/nonexistent/x".into()));
            berth_sif::add_object(p, object, &edit).map(drop)
        },
        |e| matches!(e, Error::Io(io) if io.kind() == io::ErrorKind::NotFound),
    );
    // Fails after the copy was made and part of the data written to it.
    assert_refused(
        "data source failing half-way",
        |p| {
            let object = ObjectInput::new(
                DataType::Generic,
                ObjectData::Reader(Box::new(Failing(200_000))),
            );
            berth_sif::add_object(p, object, &edit).map(drop)
        },
        |e| matches!(e, Error::Io(_)),
    );
}

#[test]
fn full_table_refuses_add() {
    let (dir, path) = setup();
    let edit = EditOptions::default();
    assert_eq!(
        berth_sif::add_object(&path, ObjectInput::new(DataType::Generic, vec![1]), &edit).unwrap(),
        5
    );
    let before = std::fs::read(&path).unwrap();
    let err = berth_sif::add_object(&path, ObjectInput::new(DataType::Generic, vec![2]), &edit);
    assert!(matches!(err, Err(Error::InsufficientCapacity)), "{err:?}");
    assert_eq!(std::fs::read(&path).unwrap(), before);
    assert!(leftovers(dir.path()).is_empty());
}

#[test]
fn failed_create_leaves_no_destination() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("image.sif");
    let opts = CreateOptions {
        objects: vec![ObjectInput::new(
            DataType::Generic,
            ObjectData::Reader(Box::new(Failing(10))),
        )],
        ..CreateOptions::default()
    };
    assert!(matches!(berth_sif::create(&path, opts), Err(Error::Io(_))));
    assert!(
        std::fs::read_dir(dir.path()).unwrap().next().is_none(),
        "nothing written"
    );

    // An existing file survives a failed create untouched.
    std::fs::write(&path, b"precious").unwrap();
    let opts = CreateOptions {
        launch_script: vec![b'#'; 32],
        ..CreateOptions::default()
    };
    assert!(matches!(
        berth_sif::create(&path, opts),
        Err(Error::LaunchScriptTooLong)
    ));
    assert_eq!(std::fs::read(&path).unwrap(), b"precious");
    assert!(leftovers(dir.path()).is_empty());
}

#[test]
fn edits_keep_permissions_and_follow_symlinks() {
    let (dir, path) = setup();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
    let link = dir.path().join("link.sif");
    std::os::unix::fs::symlink(&path, &link).unwrap();
    let id = berth_sif::add_object(
        &link,
        ObjectInput::new(DataType::Generic, b"via link".as_slice()),
        &EditOptions::default(),
    )
    .unwrap();
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(Image::open(&path).unwrap().descriptor(id).unwrap().size, 8);
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o640);
}

/// Makes a directory unwritable even for root (via the immutable attribute) and undoes it
/// on drop.
struct Unwritable<'a>(&'a Path, bool);

impl<'a> Unwritable<'a> {
    fn new(dir: &'a Path) -> Option<Self> {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o555)).unwrap();
        let probe = dir.join("probe");
        if std::fs::write(&probe, b"").is_err() {
            return Some(Unwritable(dir, false));
        }
        // Root ignores permission bits; try the immutable attribute instead.
        std::fs::remove_file(&probe).unwrap();
        let ok = std::process::Command::new("chattr")
            .arg("+i")
            .arg(dir)
            .status()
            .is_ok_and(|s| s.success());
        ok.then_some(Unwritable(dir, true))
    }
}

impl Drop for Unwritable<'_> {
    fn drop(&mut self) {
        if self.1 {
            let _ = std::process::Command::new("chattr")
                .arg("-i")
                .arg(self.0)
                .status();
        }
        let _ = std::fs::set_permissions(self.0, std::fs::Permissions::from_mode(0o755));
    }
}

#[test]
fn read_only_directory_fails_cleanly() {
    let (dir, path) = setup();
    let before = std::fs::read(&path).unwrap();
    let Some(_guard) = Unwritable::new(dir.path()) else {
        eprintln!("skipped: cannot make a directory unwritable here");
        return;
    };
    let object = ObjectInput::new(DataType::Generic, b"x".as_slice());
    match berth_sif::add_object(&path, object, &EditOptions::default()) {
        Err(Error::Io(e)) => assert!(
            matches!(
                e.kind(),
                io::ErrorKind::PermissionDenied | io::ErrorKind::ReadOnlyFilesystem
            ) || e.raw_os_error() == Some(1),
            "{e:?}"
        ),
        other => panic!("{other:?}"),
    }
    assert_eq!(std::fs::read(&path).unwrap(), before);
    assert!(leftovers(dir.path()).is_empty());
    let err = berth_sif::create(&dir.path().join("new.sif"), CreateOptions::default());
    assert!(matches!(err, Err(Error::Io(_))), "{err:?}");
}
