//! Builds SIF images: OCI layers applied to a virtual root file system, the /.singularity.d
//! skeleton, SquashFS, SIF assembly (oci-to-sif.md §3–§9).
//!
//! A pull runs, in order: [`RootFs::new`], [`RootFs::apply_layer`] per layer (base first),
//! [`detect_arch`], [`add_oci_skeleton`], [`write_squashfs`], [`inspect_metadata_json`] and
//! [`oci_config_json`], then [`assemble_sif`]. Nothing is ever unpacked onto the real file
//! system: the tree lives in memory and file data in one anonymous spool file, so memory
//! stays flat in the image size and no layer entry can write outside the root.
//!
//! A definition build without root starts from a base — an empty tree and
//! [`add_base_skeleton`], OCI layers as for a pull, or a SIF read with [`RootFs::from_sif`]
//! — then copies `%files` with [`copy_from_host`] and applies the other sections with
//! [`apply_sections`] before the same SquashFS and SIF steps.

mod arch;
mod assemble;
mod error;
mod glob;
mod host_files;
mod labels;
mod layer;
mod metadata;
mod prefetch;
mod runscript;
mod scripts;
mod sections;
mod skeleton;
mod squashfs;
mod tree;
mod unsquash;

pub use arch::{detect_arch, elf_arch};
pub use assemble::{assemble_sif, LAUNCH_SCRIPT};
pub use error::{Error, Result};
pub use host_files::{copy_from_host, copy_from_stage, host_sources, FilesLine};
pub use labels::{build_date, labels_json, rfc3339};
pub use layer::{is_layer_media_type, LayerReport};
pub use metadata::{inspect_metadata_json, oci_config_json};
pub use runscript::{docker_env_script, encode_args, oci_runscript, OCI_RUN_SENTINEL};
pub use sections::{
    apply_sections, script_text, shebang_script, Note, ScriptSection, SectionsInput,
};
pub use skeleton::{
    add_base_skeleton, add_oci_config, add_oci_skeleton, definition_for_pull, insert_definition,
    SkeletonInput,
};
pub use squashfs::write_squashfs;
pub use tree::{EntryInfo, EntryKind, RootFs};
pub use unsquash::BaseSif;
