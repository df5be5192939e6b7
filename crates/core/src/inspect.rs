//! Everything Berth shows about one image: header, objects, container metadata.

use std::path::Path;

use berth_sif::{DataType, Descriptor, FsType, Header, Image, Link, ZERO_TIME};

use crate::model::{ExtraField, HeaderView, ImageDetails, LinkView, ObjectView};
use crate::{container, ApiError, Error, Result};

/// Reads an image's header, objects and (from the primary partition) container metadata.
/// A damaged file system still gives the header and objects, with `container_error` set.
pub fn inspect(path: &Path) -> Result<ImageDetails> {
    // Header and table only, so a damaged or truncated file still shows what it holds.
    let mut image = Image::open_table(path).map_err(|e| Error::sif(path, e))?;
    let damage = image
        .validate_objects()
        .err()
        .map(|e| ApiError::about_shown_file(&Error::sif(path, e)));
    let size = image.file_len();
    let header = header_view(image.header());
    let objects = image.descriptors().iter().map(object_view).collect();
    let signature_count = image
        .descriptors()
        .iter()
        .filter(|d| d.data_type == DataType::Signature)
        .count();
    let (container, container_error) = match container_metadata(&mut image, path) {
        Ok(meta) => (Some(meta), None),
        Err(e) => (None, Some(ApiError::about_shown_file(&e))),
    };
    Ok(ImageDetails {
        path: path.display().to_string(),
        size,
        header,
        objects,
        signature_count: u32::try_from(signature_count).unwrap_or(u32::MAX),
        damage,
        container,
        container_error,
    })
}

/// Container metadata (`/.singularity.d`) of an opened image's primary partition.
pub fn container_metadata<R: std::io::Read + std::io::Seek + Send>(
    image: &mut Image<R>,
    path: &Path,
) -> Result<crate::model::ContainerMetadata> {
    let primary = image.primary_partition().map_err(|e| Error::sif(path, e))?;
    let id = primary.id;
    let meta = primary.partition().map_err(|e| Error::sif(path, e))?;
    if meta.fs != FsType::Squashfs {
        return Err(Error::UnsupportedPartition {
            path: path.to_path_buf(),
            fs_type: meta.fs.to_string(),
        });
    }
    let reader = image.object_reader(id).map_err(|e| Error::sif(path, e))?;
    container::read_metadata(reader).map_err(|reason| Error::Squashfs {
        path: path.to_path_buf(),
        reason,
    })
}

fn non_zero_time(t: i64) -> Option<i64> {
    (t != ZERO_TIME).then_some(t)
}

/// The header as shown to a person.
pub fn header_view(h: &Header) -> HeaderView {
    HeaderView {
        launch_script: (!h.launch_script.is_empty())
            .then(|| String::from_utf8_lossy(&h.launch_script).into_owned()),
        version: h.version.clone(),
        arch: h.arch.is_known().then(|| h.arch.go_name().to_owned()),
        id: (!h.is_nil_id()).then(|| h.id_string()),
        created_at: non_zero_time(h.created_at),
        modified_at: non_zero_time(h.modified_at),
        descriptors_free: h.descriptors_free,
        descriptors_total: h.descriptors_total,
        descriptors_offset: h.descriptors_offset,
        descriptors_size: h.descriptors_size,
        data_offset: h.data_offset,
        data_size: h.data_size,
    }
}

/// One object as shown to a person.
pub fn object_view(d: &Descriptor) -> ObjectView {
    ObjectView {
        id: d.id,
        data_type: d.data_type.siftool_name().to_owned(),
        group: (d.group_id != 0).then_some(d.group_id),
        link: match d.link {
            Link::None => None,
            Link::Object(id) => Some(LinkView { id, group: false }),
            Link::Group(id) => Some(LinkView { id, group: true }),
        },
        offset: d.offset,
        size: d.size,
        name: d.name.clone(),
        primary: d.is_primary_partition(),
        extras: extra_fields(d).unwrap_or_else(|e| {
            vec![ExtraField {
                label: "Error".into(),
                value: e.to_string(),
            }]
        }),
    }
}

/// The type-specific metadata of an object, labelled as `siftool info` labels it.
pub fn extra_fields(d: &Descriptor) -> std::result::Result<Vec<ExtraField>, berth_sif::Error> {
    let f = |label: &str, value: String| ExtraField {
        label: label.to_owned(),
        value,
    };
    Ok(match d.data_type {
        DataType::Partition => {
            let p = d.partition()?;
            vec![
                f("Filesystem Type", p.fs.to_string()),
                f("Partition Type", p.part.to_string()),
                f("Architecture", p.arch.go_name().to_owned()),
            ]
        }
        DataType::Signature => {
            let s = d.signature()?;
            let mut v = vec![f("Hash Type", s.hash.to_string())];
            if let Some(fp) = s.fingerprint {
                v.push(f("Entity", fp.iter().map(|b| format!("{b:02X}")).collect()));
            }
            v
        }
        DataType::CryptoMessage => {
            let c = d.crypto_message()?;
            vec![
                f("Format Type", c.format.to_string()),
                f("Message Type", c.message.to_string()),
            ]
        }
        DataType::Sbom => vec![f("Format", d.sbom()?.to_string())],
        DataType::OciRootIndex | DataType::OciBlob => vec![f("Digest", d.oci_digest()?)],
        _ => Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn busybox() -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/testdata/sif/images/apptainer-e2e/busybox_amd64.sif")
    }

    #[test]
    fn a_whole_image_has_no_damage_and_its_container_metadata() {
        let d = inspect(&busybox()).unwrap();
        assert!(d.damage.is_none());
        assert_eq!(d.objects.len(), 5);
        assert_eq!(d.signature_count, 1);
        let c = d.container.unwrap();
        assert!(c.labels.iter().any(|l| l.value == "busybox:1.33.1"));
        assert!(c.problems.is_empty());
    }

    #[test]
    fn a_truncated_image_still_shows_its_objects_with_the_damage_named() {
        let dir = tempfile::tempdir().unwrap();
        let cut = dir.path().join("cut.sif");
        std::fs::write(&cut, &std::fs::read(busybox()).unwrap()[..40_000]).unwrap();
        let d = inspect(&cut).unwrap();
        assert_eq!(d.objects.len(), 5);
        let damage = d.damage.unwrap();
        assert_eq!(damage.code, "sif.corrupt");
        assert!(
            damage.message.contains("out of bounds"),
            "{}",
            damage.message
        );
        // The root file system lies past the end: said where the metadata would be.
        assert!(d.container.is_none());
        assert_eq!(d.container_error.unwrap().code, "sif.corrupt");
    }
}
