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

/// Reads the container metadata from a SquashFS image given as a reader positioned over
/// exactly the partition's bytes.
pub fn read_metadata<R: Read + Seek + Send>(partition: R) -> Result<ContainerMetadata, String> {
    // backhand is a third-party parser of untrusted bytes: a panic inside it must become an
    // error for this one image, not bring the app down.
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
        read_metadata_inner(partition)
    }))
    .unwrap_or_else(|_| Err("the SquashFS reader failed on this image".to_owned()))
}

fn read_metadata_inner<R: Read + Seek + Send>(partition: R) -> Result<ContainerMetadata, String> {
    let fs = FilesystemReader::from_reader(BufReader::new(partition)).map_err(|e| e.to_string())?;
    let tree = Tree { fs: &fs };
    let text = |p: &str| tree.read_text(Path::new(p));

    let mut labels = Vec::new();
    if let Some(json) = text("/.singularity.d/labels.json")? {
        let map: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&json)
            .map_err(|e| format!("labels.json is not a JSON object: {e}"))?;
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

    let mut environment = Vec::new();
    for path in tree.env_scripts() {
        if let Some(content) = tree.read_text(&path)? {
            environment.push(EnvFile {
                path: path.display().to_string(),
                content,
            });
        }
    }

    Ok(ContainerMetadata {
        labels,
        deffile: text("/.singularity.d/Singularity")?,
        runscript: text("/.singularity.d/runscript")?,
        startscript: text("/.singularity.d/startscript")?,
        test: text("/.singularity.d/test")?,
        helpfile: text("/.singularity.d/runscript.help")?,
        environment,
    })
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

    /// A regular file's text (following in-image symlinks), `None` when absent.
    fn read_text(&self, path: &Path) -> Result<Option<String>, String> {
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
                        .take(MAX_TEXT)
                        .read_to_end(&mut bytes)
                        .map_err(|e| format!("{}: {e}", path.display()))?;
                    return Ok(Some(String::from_utf8_lossy(&bytes).into_owned()));
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
    fn garbage_is_an_error_not_a_panic() {
        let err =
            read_metadata(std::io::Cursor::new(vec![0x68, 0x73, 0x71, 0x73, 0, 0, 0])).unwrap_err();
        assert!(!err.trim().is_empty(), "{err:?}");
    }
}
