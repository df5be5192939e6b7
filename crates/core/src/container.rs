//! Reads `/.singularity.d` from an image's primary SquashFS partition, in-process — what
//! `apptainer inspect` shows, without mounting anything.

use std::io::{BufReader, Read, Seek};
use std::path::{Component, Path, PathBuf};

use backhand::{FilesystemReader, InnerNode, Node, SquashfsFileReader};

use crate::model::{ContainerMetadata, EnvFile, Label};

/// A metadata file larger than this is shown truncated: the UI displays text, and a crafted
/// image must not make Berth allocate without bound.
const MAX_TEXT: u64 = 1 << 20;
/// Symlink hops followed inside the image before giving up.
const MAX_HOPS: usize = 8;
/// backhand builds a node for every inode before anything can be read. Real images hold
/// up to a few hundred thousand files; a superblock claiming far more is refused up front
/// rather than letting a crafted image exhaust memory (an allocation failure aborts the
/// process, which no error handling can catch).
const MAX_INODES: u32 = 4_000_000;

/// What a panic inside backhand becomes.
const PANICKED: &str = "the SquashFS reader failed on this image";

/// Reads the container metadata from a SquashFS image given as a reader positioned over
/// exactly the partition's bytes.
pub fn read_metadata<R: Read + Seek + Send>(partition: R) -> Result<ContainerMetadata, String> {
    // backhand is a third-party parser of untrusted bytes: a panic inside it must become an
    // error for this one image, not bring the app down.
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
        read_metadata_inner(partition)
    }))
    .unwrap_or_else(|_| Err(PANICKED.to_owned()))
}

fn read_metadata_inner<R: Read + Seek + Send>(
    mut partition: R,
) -> Result<ContainerMetadata, String> {
    check_superblock(&mut partition)?;
    let fs = FilesystemReader::from_reader(BufReader::new(partition)).map_err(|e| e.to_string())?;
    let tree = Tree { fs: &fs };
    let mut problems = Vec::new();
    let mut text = |p: &str| match tree.read_text(Path::new(p)) {
        Ok(Some((t, truncated))) => {
            if truncated {
                problems.push(format!(
                    "{p} is larger than {} MiB; only its start is shown",
                    MAX_TEXT >> 20
                ));
            }
            Some(t)
        }
        Ok(None) => None,
        Err(e) => {
            problems.push(format!("{p}: {e}"));
            None
        }
    };

    let labels_json = text("/.singularity.d/labels.json");
    let deffile = text("/.singularity.d/Singularity");
    let runscript = text("/.singularity.d/runscript");
    let startscript = text("/.singularity.d/startscript");
    let test = text("/.singularity.d/test");
    let helpfile = text("/.singularity.d/runscript.help");
    let mut environment = Vec::new();
    for path in tree.env_scripts() {
        if let Some(content) = text(&path.display().to_string()) {
            environment.push(EnvFile {
                path: path.display().to_string(),
                content,
            });
        }
    }

    let mut labels = Vec::new();
    if let Some(json) = labels_json {
        match serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(&json) {
            Ok(map) => {
                labels = map
                    .into_iter()
                    .map(|(key, v)| Label {
                        key,
                        value: match v {
                            serde_json::Value::String(s) => s,
                            other => other.to_string(),
                        },
                    })
                    .collect();
                labels.sort_by(|a, b| a.key.cmp(&b.key));
            }
            Err(e) => problems.push(format!(
                "/.singularity.d/labels.json is not a JSON object: {e}"
            )),
        }
    }

    Ok(ContainerMetadata {
        labels,
        deffile,
        runscript,
        startscript,
        test,
        helpfile,
        environment,
        problems,
    })
}

/// Refuses what is not a SquashFS 4 image, or claims absurd numbers, before backhand
/// allocates for it.
fn check_superblock<R: Read + Seek>(r: &mut R) -> Result<(), String> {
    let mut sb = [0u8; 32];
    r.read_exact(&mut sb)
        .map_err(|_| "the partition is too small to hold a SquashFS superblock".to_owned())?;
    r.rewind().map_err(|e| e.to_string())?;
    if &sb[0..4] != b"hsqs" {
        return Err("the partition is not a SquashFS file system (no hsqs magic)".to_owned());
    }
    let inodes = u32::from_le_bytes([sb[4], sb[5], sb[6], sb[7]]);
    let major = u16::from_le_bytes([sb[28], sb[29]]);
    if major != 4 {
        return Err(format!(
            "SquashFS version {major} is not supported (only 4)"
        ));
    }
    if inodes > MAX_INODES {
        return Err(format!(
            "the file system claims {inodes} files, more than Berth will read ({MAX_INODES})"
        ));
    }
    Ok(())
}

struct Tree<'a, 'b> {
    fs: &'a FilesystemReader<'b>,
}

impl Tree<'_, '_> {
    fn node(&self, path: &Path) -> Option<&Node<SquashfsFileReader>> {
        self.fs.files().find(|n| n.fullpath == path)
    }

    /// The environment scripts `apptainer inspect --environment` shows: the docker-derived
    /// ones and the definition's `%environment` (`10-docker*.sh`, `9*-environment.sh`).
    fn env_scripts(&self) -> Vec<PathBuf> {
        let dir = Path::new("/.singularity.d/env");
        let mut found: Vec<PathBuf> = self
            .fs
            .files()
            .filter(|n| n.fullpath.parent() == Some(dir))
            .filter(|n| {
                let name = n
                    .fullpath
                    .file_name()
                    .map(|s| s.to_string_lossy())
                    .unwrap_or_default();
                (name.starts_with("10-docker") && name.ends_with(".sh"))
                    || (name.starts_with('9') && name.ends_with("-environment.sh"))
            })
            .map(|n| n.fullpath.clone())
            .collect();
        found.sort();
        found
    }

    /// A regular file's text (following in-image symlinks) and whether it was cut at
    /// [`MAX_TEXT`]; `None` when absent.
    fn read_text(&self, path: &Path) -> Result<Option<(String, bool)>, String> {
        let mut path = path.to_path_buf();
        for _ in 0..MAX_HOPS {
            let Some(node) = self.node(&path) else {
                return Ok(None);
            };
            match &node.inner {
                InnerNode::File(file) => {
                    let mut bytes = Vec::new();
                    self.fs
                        .file(file)
                        .reader_checked()
                        .map_err(|e| e.to_string())?
                        .take(MAX_TEXT + 1)
                        .read_to_end(&mut bytes)
                        .map_err(|e| e.to_string())?;
                    let truncated = bytes.len() as u64 > MAX_TEXT;
                    bytes.truncate(MAX_TEXT as usize);
                    return Ok(Some((
                        String::from_utf8_lossy(&bytes).into_owned(),
                        truncated,
                    )));
                }
                InnerNode::Symlink(link) => {
                    let base = path.parent().unwrap_or(Path::new("/"));
                    path = resolve(base, &link.link);
                }
                _ => return Ok(None),
            }
        }
        Ok(None)
    }
}

/// Resolves a symlink target against its directory without leaving the image root.
fn resolve(base: &Path, target: &Path) -> PathBuf {
    let mut out = if target.is_absolute() {
        PathBuf::from("/")
    } else {
        base.to_path_buf()
    };
    for c in target.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::Normal(n) => out.push(n),
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    if out.as_os_str().is_empty() {
        out.push("/");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symlinks_resolve_inside_the_root() {
        assert_eq!(
            resolve(Path::new("/a/b"), Path::new("../c")),
            PathBuf::from("/a/c")
        );
        assert_eq!(
            resolve(Path::new("/a"), Path::new("../../../etc")),
            PathBuf::from("/etc")
        );
        assert_eq!(
            resolve(Path::new("/a"), Path::new("/x/./y")),
            PathBuf::from("/x/y")
        );
    }

    #[test]
    fn absurd_inode_counts_are_refused_before_parsing() {
        let mut sb = vec![0u8; 96];
        sb[0..4].copy_from_slice(b"hsqs");
        sb[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
        sb[28..30].copy_from_slice(&4u16.to_le_bytes());
        let err = read_metadata(std::io::Cursor::new(sb)).unwrap_err();
        assert!(err.contains("claims 4294967295 files"), "{err}");
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let err =
            read_metadata(std::io::Cursor::new(vec![0x68, 0x73, 0x71, 0x73, 0, 0, 0])).unwrap_err();
        assert!(!err.trim().is_empty(), "{err:?}");
        assert_ne!(err, PANICKED, "backhand must reject this input itself");
    }
}
