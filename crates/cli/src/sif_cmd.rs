//! `berth sif …`: siftool's commands with siftool's options and output.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use berth_sif::{
    Arch, CreateOptions, DataType, DeleteOptions, EditOptions, FsType, HashType, Image, Link,
    ObjectData, ObjectInput, ObjectMetadata, PartType, PartitionMeta, SbomFormat, SignatureMeta,
};
use clap::{Args, Subcommand};

use crate::siftool_text;

#[derive(Subcommand)]
pub enum SifCommand {
    /// Display the global header.
    Header { sif_path: PathBuf },
    /// List data objects.
    List { sif_path: PathBuf },
    /// Display data object info.
    Info { id: u32, sif_path: PathBuf },
    /// Write a data object's bytes to standard output.
    Dump { id: u32, sif_path: PathBuf },
    /// Create an empty SIF image.
    New {
        sif_path: PathBuf,
        /// Nil UUID and zero time, for reproducible output.
        #[arg(long)]
        deterministic: bool,
    },
    /// Add a data object.
    Add(AddArgs),
    /// Delete a data object.
    Del {
        id: u32,
        sif_path: PathBuf,
        /// Overwrite the object's bytes with zeros.
        #[arg(long)]
        zero: bool,
        /// Truncate free space at the end of the file.
        #[arg(long)]
        compact: bool,
    },
    /// Set the primary system partition.
    Setprim { id: u32, sif_path: PathBuf },
}

#[derive(Args)]
pub struct AddArgs {
    sif_path: PathBuf,
    object_path: PathBuf,
    /// The type of data to add: 1-Deffile, 2-EnvVar, 3-Labels, 4-Partition, 5-Signature,
    /// 6-GenericJSON, 7-Generic, 8-CryptoMessage, 9-SBOM.
    #[arg(long)]
    datatype: Option<i32>,
    /// Partition type (with datatype 4): 1-System, 2-PrimSys, 3-Data, 4-Overlay.
    #[arg(long, default_value_t = 0)]
    parttype: i32,
    /// File system (with datatype 4): 1-Squash, 2-Ext3, 3-ImmuObj, 4-Raw.
    #[arg(long, default_value_t = 0)]
    partfs: i32,
    /// Architecture (with datatype 4): 1-386, 2-amd64, 3-arm, 4-arm64, 5-ppc64, 6-ppc64le,
    /// 7-mips, 8-mipsle, 9-mips64, 10-mips64le, 11-s390x, 12-riscv64.
    #[arg(long, default_value_t = 0)]
    partarch: i32,
    /// Signature hash (with datatype 5): 1-SHA256, 2-SHA384, 3-SHA512, 4-BLAKE2s_256, 5-BLAKE2b_256.
    #[arg(long, default_value_t = 0)]
    signhash: i32,
    /// Signing entity fingerprint, 40 hex digits (with datatype 5).
    #[arg(long, default_value = "")]
    signentity: String,
    /// SBOM format (with datatype 9): cyclonedx-json, cyclonedx-xml, github-json, spdx-json,
    /// spdx-rdf, spdx-tag-value, spdx-yaml, syft-json.
    #[arg(long, default_value = "")]
    sbomformat: String,
    /// Group id (0 = no group).
    #[arg(long, default_value_t = 0)]
    groupid: u32,
    /// Id of the object this one links to.
    #[arg(long)]
    link: Option<u32>,
    /// Alignment [default: 4096 for partitions, none otherwise].
    #[arg(long)]
    alignment: Option<i64>,
    /// Object name.
    #[arg(long)]
    filename: Option<String>,
}

pub fn run(cmd: SifCommand) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match cmd {
        SifCommand::Header { sif_path } => {
            out.write_all(&siftool_text::header(open(&sif_path)?.header()))?;
        }
        SifCommand::List { sif_path } => {
            out.write_all(siftool_text::list(open(&sif_path)?.descriptors()).as_bytes())?;
        }
        SifCommand::Info { id, sif_path } => {
            let image = open(&sif_path)?;
            out.write_all(&siftool_text::info(image.descriptor(id)?)?)?;
        }
        SifCommand::Dump { id, sif_path } => {
            let mut image = open(&sif_path)?;
            std::io::copy(&mut image.object_reader(id)?, &mut out)?;
        }
        SifCommand::New {
            sif_path,
            deterministic,
        } => {
            berth_sif::create(
                &sif_path,
                CreateOptions {
                    deterministic,
                    ..CreateOptions::default()
                },
            )?;
        }
        SifCommand::Add(args) => add(args)?,
        SifCommand::Del {
            id,
            sif_path,
            zero,
            compact,
        } => {
            berth_sif::delete_object(
                &sif_path,
                id,
                &DeleteOptions {
                    zero,
                    compact,
                    edit: EditOptions::default(),
                },
            )?;
        }
        SifCommand::Setprim { id, sif_path } => {
            berth_sif::set_primary_partition(&sif_path, id, &EditOptions::default())?;
        }
    }
    out.flush()?;
    Ok(())
}

/// Reads header and descriptors only, like siftool: a truncated image still lists, and
/// `dump` of an object that lies past the end fails for that object alone.
fn open(path: &Path) -> Result<Image<std::fs::File>> {
    Image::open_table(path).with_context(|| path.display().to_string())
}

fn add(a: AddArgs) -> Result<()> {
    let data_type = match a.datatype {
        Some(n @ 1..=9) => DataType::from_code(0x4000 + n),
        _ => bail!("-datatype flag is required with a valid range"),
    };
    let metadata = match data_type {
        DataType::Partition => {
            if a.parttype == 0 || a.partfs == 0 || a.partarch == 0 {
                bail!("with partition datatype, -partfs, -parttype and -partarch must be passed");
            }
            let arch = Arch::from_go_name(siftool_arch(a.partarch))?;
            ObjectMetadata::Partition(PartitionMeta {
                fs: FsType::from_code(a.partfs),
                part: PartType::from_code(a.parttype),
                arch,
            })
        }
        DataType::Signature => {
            let fp = parse_fingerprint(&a.signentity)?;
            let hash = match a.signhash {
                n @ 1..=5 => HashType::from_code(n),
                n => bail!("invalid hash type: {n}"),
            };
            ObjectMetadata::Signature(SignatureMeta {
                hash,
                fingerprint: Some(fp),
            })
        }
        DataType::Sbom => {
            if a.sbomformat.is_empty() {
                bail!("with SBOM datatype, -sbomformat must be passed");
            }
            let name = if a.sbomformat == "github" {
                "github-json"
            } else {
                a.sbomformat.as_str()
            };
            match (1..=8)
                .map(SbomFormat::from_code)
                .find(|f| f.siftool_name() == name)
            {
                Some(f) => ObjectMetadata::Sbom(f),
                None => bail!("invalid SBOM format: {}", a.sbomformat),
            }
        }
        _ => ObjectMetadata::None,
    };
    // Open the object first so a missing input fails before the image is touched.
    std::fs::metadata(&a.object_path).with_context(|| a.object_path.display().to_string())?;
    let mut input = ObjectInput::new(data_type, ObjectData::File(a.object_path.clone()));
    input.group = a.groupid;
    input.link = a.link.map_or(Link::None, Link::Object);
    input.alignment = a.alignment;
    input.name = a.filename.unwrap_or_default();
    input.metadata = metadata;
    berth_sif::add_object(&a.sif_path, input, &EditOptions::default())?;
    Ok(())
}

/// siftool's `--partarch` numbering (which is not the on-disk code order past 12).
fn siftool_arch(n: i32) -> &'static str {
    match n {
        1 => "386",
        2 => "amd64",
        3 => "arm",
        4 => "arm64",
        5 => "ppc64",
        6 => "ppc64le",
        7 => "mips",
        8 => "mipsle",
        9 => "mips64",
        10 => "mips64le",
        11 => "s390x",
        12 => "riscv64",
        _ => "unknown",
    }
}

fn parse_fingerprint(hex: &str) -> Result<[u8; 20]> {
    let bytes: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| {
            hex.get(i..i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        })
        .collect::<Option<_>>()
        .context("failed to decode signing entity fingerprint")?;
    bytes.try_into().map_err(|b: Vec<u8>| {
        anyhow::anyhow!(
            "invalid signing entity fingerprint length: got {}, want 20",
            b.len()
        )
    })
}
