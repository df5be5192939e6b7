//! Adding modern signatures (sif-signing.md §4–6), as `integrity.NewSigner`/`Sign` do.
//!
//! All signatures are computed first (streaming object data through SHA-256), then appended to
//! a copy of the image that replaces the original only once every object is written: on any
//! error the image is left as it was, byte for byte.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::Path;

use berth_sif::{
    DataType, Descriptor, EditOptions, HashType, Image, ImageEditor, Link, ObjectInput,
    ObjectMetadata, SignatureMeta,
};

use crate::clearsign;
use crate::digest::DigestAlgorithm;
use crate::dsse;
use crate::error::{Error, Result};
use crate::metadata::ImageMetadata;
use crate::pgp;
use crate::selection::{self, Selection};
use crate::signer::{Signer, SignerKind};

/// How to sign.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SignOptions {
    /// What to sign: every group (default), one group, or objects (one signature per group).
    pub selection: Selection,
    /// Signature creation time (Unix seconds); default now. Also the SIF object and header
    /// time unless `deterministic`.
    pub time: Option<i64>,
    /// No salt notation in PGP signatures, and zero SIF times, for reproducible output.
    pub deterministic: bool,
}

/// One signature to add.
struct Planned {
    group: u32,
    data: Vec<u8>,
    hash: HashType,
    fingerprint: Option<[u8; 20]>,
}

fn selection_error(text: &str) -> Error {
    Error::Selection(format!("integrity: {text}"))
}

/// Signs the image at `path` and returns the IDs of the new signature objects.
pub fn sign(path: &Path, signer: &Signer, opts: &SignOptions) -> Result<Vec<u32>> {
    let target = fs::canonicalize(path).map_err(|e| Error::io(path, e))?;
    // Opened for writing although only read here, so that an image the caller may not modify
    // is refused before any work is done.
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(&target)
        .map_err(|e| Error::io(&target, e))?;
    let mut image = Image::load(file)?;

    let groups = plan_groups(&image, &opts.selection)?;
    let time = opts.time.unwrap_or_else(pgp::now_unix);
    let mut planned = Vec::with_capacity(groups.len());
    for (group, objects) in groups {
        let min_id = selection::group_min_id(&image, group).map_err(selection_error)?;
        let metadata =
            ImageMetadata::compute(&mut image, min_id, &objects, DigestAlgorithm::Sha256)?;
        planned.push(sign_message(
            signer,
            group,
            metadata.to_json().as_bytes(),
            time,
            opts,
        )?);
    }

    let edit = if opts.deterministic {
        EditOptions {
            deterministic: true,
            time: None,
        }
    } else {
        EditOptions {
            deterministic: false,
            time: Some(time),
        }
    };
    let original = image.into_inner();
    write_signatures(&target, &original, planned, &edit)
}

/// The groups to sign and the objects each signature covers (ascending ID).
fn plan_groups(image: &Image<File>, selection: &Selection) -> Result<Vec<(u32, Vec<Descriptor>)>> {
    match selection {
        Selection::AllGroups => {
            let mut out = Vec::new();
            for group in selection::group_ids(image).map_err(selection_error)? {
                out.push((group, group_objects(image, group)?));
            }
            Ok(out)
        }
        Selection::Group(group) => Ok(vec![(*group, group_objects(image, *group)?)]),
        Selection::Objects(ids) => {
            if ids.is_empty() {
                return Err(selection_error("no objects specified"));
            }
            let mut by_group: Vec<(u32, Vec<Descriptor>)> = Vec::new();
            for &id in ids {
                let d = selection::object(image, id).map_err(selection_error)?;
                match by_group.iter_mut().find(|(g, _)| *g == d.group_id) {
                    Some((_, list)) => list.push(d),
                    None => by_group.push((d.group_id, vec![d])),
                }
            }
            by_group.sort_by_key(|(g, _)| *g);
            for (group, list) in &mut by_group {
                if *group == 0 {
                    return Err(selection_error(selection::INVALID_GROUP_ID));
                }
                list.sort_by_key(|d| d.id);
                list.dedup_by_key(|d| d.id);
            }
            Ok(by_group)
        }
    }
}

fn group_objects(image: &Image<File>, group: u32) -> Result<Vec<Descriptor>> {
    let mut objects = selection::group_objects(image, group).map_err(selection_error)?;
    objects.sort_by_key(|d| d.id);
    Ok(objects)
}

/// Signs one metadata document.
fn sign_message(
    signer: &Signer,
    group: u32,
    message: &[u8],
    time: i64,
    opts: &SignOptions,
) -> Result<Planned> {
    match &signer.kind {
        SignerKind::Pgp(p) => {
            let (written, signed) = clearsign::escape_text(message);
            let packet = pgp::sign_packet(&p.keypair, &signed, time, !opts.deterministic)?;
            Ok(Planned {
                group,
                data: clearsign::encode("SHA256", &written, &packet),
                hash: HashType::Sha256,
                fingerprint: Some(p.primary_fingerprint),
            })
        }
        SignerKind::Dsse { keys, hash } => {
            // Apptainer writes the envelope with a JSON encoder, which ends it with a newline.
            let mut data = dsse::encode_envelope(message, keys, *hash)?.into_bytes();
            data.push(b'\n');
            Ok(Planned {
                group,
                data,
                hash: hash.sif(),
                fingerprint: None,
            })
        }
    }
}

/// Appends the signature objects to a copy of the image and renames it over the original.
fn write_signatures(
    target: &Path,
    original: &File,
    planned: Vec<Planned>,
    edit: &EditOptions,
) -> Result<Vec<u32>> {
    let dir = target
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let io_err = |e: io::Error| Error::io(target, e);
    let mut tmp = tempfile::Builder::new()
        .prefix(".berth-sign-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(io_err)?;
    {
        let mut src = original;
        io::Seek::seek(&mut src, io::SeekFrom::Start(0)).map_err(io_err)?;
        // On Linux this copies in the kernel (copy_file_range).
        io::copy(&mut src, tmp.as_file_mut()).map_err(io_err)?;
        let perms = original.metadata().map_err(io_err)?.permissions();
        tmp.as_file().set_permissions(perms).map_err(io_err)?;
    }
    let mut ids = Vec::with_capacity(planned.len());
    {
        let mut editor = ImageEditor::open(tmp.as_file_mut())?;
        for p in planned {
            let input = ObjectInput::new(DataType::Signature, p.data)
                .with_group(0)
                .with_link(Link::Group(p.group))
                .with_metadata(ObjectMetadata::Signature(SignatureMeta {
                    hash: p.hash,
                    fingerprint: p.fingerprint,
                }));
            ids.push(editor.add_object(input, edit)?);
        }
    }
    tmp.as_file().sync_all().map_err(io_err)?;
    tmp.persist(target).map_err(|e| io_err(e.error))?;
    if let Ok(d) = File::open(dir) {
        // The new image is in place; a failure to make the rename durable is not a failed sign.
        let _ = d.sync_all();
    }
    Ok(ids)
}
