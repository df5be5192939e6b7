//! `%files` from the host into the tree with the semantics of the reference's
//! `cp -fLr SRC DEST` (Apptainer's `CopyFromHost`): sources expanded as shell patterns,
//! symbolic links on the host followed, a destination that is a directory receiving the
//! source under its own name, missing parents created. Every destination path is resolved
//! inside the tree, so neither `..` nor a symbolic link in the image can lead a write out of
//! it; a host directory that links back into itself is an error, not an endless copy.

use std::collections::HashSet;
use std::fs::{self, File};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use berth_progress::Cancel;

use crate::error::{Error, Result};
use crate::glob;
use crate::sections::Note;
use crate::tree::{clean, display, now, Kind, Node, RootFs, NO_LAYER};

/// Mode bits the reference's build clears from what `cp` creates (it runs with umask 002).
const UMASK: u32 = 0o002;

/// One `%files` line: `src` on the host (a pattern, relative to the definition's folder),
/// `dest` in the container; `None` copies each match to the same path inside.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilesLine {
    /// Source pattern, quotes removed.
    pub src: String,
    /// Destination, quotes removed.
    pub dest: Option<String>,
    /// 1-based line number in the definition, for errors.
    pub line: usize,
}

impl FilesLine {
    /// A line from the parser's source and destination words. Quoted paths with spaces
    /// (`"my file" /opt/`) are put back together the way the reference splits them.
    pub fn from_words(src: &str, dest: &str, line: usize) -> FilesLine {
        let text = if src == dest {
            src.to_owned()
        } else {
            format!("{src} {dest}")
        };
        let mut words = split_quoted(&text).into_iter();
        let src = words.next().unwrap_or_default();
        let dest = words.next();
        FilesLine { src, dest, line }
    }
}

/// Splits at white space outside quotes and drops the quotes.
fn split_quoted(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut any = false;
    for c in text.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => cur.push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                any = true;
            }
            (None, c) if c.is_whitespace() => {
                if any || !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            (None, c) => cur.push(c),
        }
    }
    if any || !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Copies one `%files` line into `root`; returns the bytes copied.
pub fn copy_from_host(
    root: &mut RootFs,
    base_dir: &Path,
    line: &FilesLine,
    cancel: &Cancel,
    note: &mut dyn FnMut(Note),
) -> Result<u64> {
    let fail = |reason: String| Error::FileCopy {
        line: line.line,
        reason,
    };
    if line.src.is_empty() {
        note(Note::Warning(
            "Attempt to copy file with no name, skipping.".into(),
        ));
        return Ok(0);
    }
    let dest_shown = line.dest.clone().unwrap_or_default();
    note(Note::Info(format!("Copying {} to {dest_shown}", line.src)));
    let mut copied = 0;
    for src in expand(base_dir, line.src.as_bytes()) {
        cancel.check()?;
        let dest = match &line.dest {
            Some(d) => d.as_bytes().to_vec(),
            None => src.clone(),
        };
        let host = host_path(base_dir, &src);
        // `dir/.` (or `.`): the directory's contents, not the directory. The path type
        // drops a trailing `.`, so this is read from the text as written.
        let contents_only = src == b"." || src.ends_with(b"/.");
        let mut copier = Copier {
            root: &mut *root,
            cancel,
            stack: HashSet::new(),
            copied: 0,
        };
        copier
            .copy_top(&host, &dest, contents_only)
            .map_err(|e| match e {
                Error::Cancelled => Error::Cancelled,
                Error::FileCopy { reason, .. } => fail(reason),
                other => fail(other.to_string()),
            })?;
        copied += copier.copied;
    }
    Ok(copied)
}

/// The host paths one `%files` line copies from, as written (relative stays relative to
/// `base_dir`): what a remote build must carry in its build context.
pub fn host_sources(base_dir: &Path, line: &FilesLine) -> Vec<PathBuf> {
    if line.src.is_empty() {
        return Vec::new();
    }
    expand(base_dir, line.src.as_bytes())
        .into_iter()
        .map(|m| PathBuf::from(std::ffi::OsString::from_vec(m)))
        .collect()
}

fn host_path(base_dir: &Path, src: &[u8]) -> PathBuf {
    let p = Path::new(std::ffi::OsStr::from_bytes(src));
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        base_dir.join(p)
    }
}

/// The pattern's matches as the shell lists them, in the pattern's own form (relative
/// stays relative); the pattern itself when it has no match or no pattern character.
fn expand(base_dir: &Path, pattern: &[u8]) -> Vec<Vec<u8>> {
    if !glob::has_magic(pattern) {
        return vec![glob::unescape(pattern)];
    }
    let absolute = pattern.first() == Some(&b'/');
    let mut found: Vec<Vec<u8>> = vec![if absolute { b"/".to_vec() } else { Vec::new() }];
    for comp in pattern.split(|b| *b == b'/').filter(|c| !c.is_empty()) {
        let mut next = Vec::new();
        for prefix in &found {
            let join = |name: &[u8]| {
                let mut p = prefix.clone();
                if !p.is_empty() && !p.ends_with(b"/") {
                    p.push(b'/');
                }
                p.extend_from_slice(name);
                p
            };
            if !glob::has_magic(comp) {
                next.push(join(&glob::unescape(comp)));
                continue;
            }
            let dir = if prefix.is_empty() {
                base_dir.to_path_buf()
            } else {
                host_path(base_dir, prefix)
            };
            let Ok(entries) = fs::read_dir(&dir) else {
                continue;
            };
            let mut names: Vec<Vec<u8>> = entries
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().into_vec())
                .filter(|n| glob::matches(comp, n))
                .collect();
            names.sort();
            next.extend(names.iter().map(|n| join(n)));
        }
        found = next;
    }
    // A literal component after a pattern may name nothing; the shell drops such paths.
    found.retain(|p| fs::symlink_metadata(host_path(base_dir, p)).is_ok());
    if found.is_empty() {
        vec![glob::unescape(pattern)]
    } else {
        found
    }
}

struct Copier<'r, 'c> {
    root: &'r mut RootFs,
    cancel: &'c Cancel,
    /// Host directories being copied, by device and inode: a link back into one is a loop.
    stack: HashSet<(u64, u64)>,
    copied: u64,
}

enum Existing {
    Nothing,
    Dir,
    Other,
}

impl Copier<'_, '_> {
    fn existing(&self, comps: &[Vec<u8>]) -> Existing {
        match self.root.lookup(comps) {
            None => Existing::Nothing,
            Some(n) if n.is_dir() => Existing::Dir,
            Some(_) => Existing::Other,
        }
    }

    /// `cp -fLr host dest` with `dest` as written in the definition.
    fn copy_top(&mut self, host: &Path, dest: &[u8], contents_only: bool) -> Result<()> {
        let meta = fs::metadata(host).map_err(|e| self.host_err(host, e))?;
        let mut target = self.root.resolve(&clean(dest), true)?;
        if let Existing::Nothing = self.existing(&target) {
            // As the reference: a trailing slash asks for the directory itself.
            let dir: &[Vec<u8>] = if dest.ends_with(b"/") {
                &target
            } else {
                target.split_last().map_or(&[][..], |(_, p)| p)
            };
            self.root.dir_all(dir)?;
        }
        if let Existing::Dir = self.existing(&target) {
            let name = host
                .file_name()
                .filter(|_| !contents_only)
                .map(|n| n.as_bytes().to_vec())
                .filter(|n| !n.is_empty() && n != b"." && n != b"..");
            match name {
                Some(name) => {
                    target.push(name);
                    target = self.root.resolve(&target, true)?;
                }
                // `cp -r dir/. dest`: the contents merge into the directory.
                None if meta.is_dir() => {}
                None => return Err(self.copy_err(host, "the source has no file name")),
            }
        }
        self.copy_entry(host, &meta, &target)
    }

    fn copy_entry(&mut self, host: &Path, meta: &fs::Metadata, target: &[Vec<u8>]) -> Result<()> {
        self.cancel.check()?;
        let Some((name, parent)) = target.split_last() else {
            // The root itself: only a directory's contents can land there.
            if meta.is_dir() {
                return self.copy_children(host, meta, target);
            }
            return Err(self.copy_err(host, "cannot overwrite a directory with a file"));
        };
        let existing = self.existing(target);
        if meta.is_dir() {
            match existing {
                Existing::Dir => {}
                Existing::Other => {
                    return Err(self.copy_err(
                        host,
                        &format!(
                            "cannot overwrite non-directory {} with a directory",
                            display(target)
                        ),
                    ))
                }
                Existing::Nothing => {
                    let node = Node::dir(meta.mode() & 0o777 & !UMASK, now(), NO_LAYER);
                    self.root.dir_all(parent)?.insert(name.clone(), node);
                }
            }
            return self.copy_children(host, meta, target);
        }
        if !meta.is_file() {
            return Err(self.copy_err(
                host,
                "is not a regular file or directory (devices, pipes and sockets are not copied)",
            ));
        }
        let mode = match (existing, self.root.lookup(target)) {
            (Existing::Dir, _) => {
                return Err(self.copy_err(
                    host,
                    &format!("cannot overwrite directory {} with a file", display(target)),
                ))
            }
            // cp truncates an existing file in place, keeping its mode.
            (Existing::Other, Some(n)) if matches!(n.kind, Kind::File { .. }) => n.mode,
            _ => meta.mode() & 0o777 & !UMASK,
        };
        let mut file = File::open(host).map_err(|e| self.host_err(host, e))?;
        let (offset, len) = self.root.spool_from(&mut file)?;
        self.root.flush()?;
        self.copied += len;
        let node = Node {
            mode,
            mtime: now(),
            layer: NO_LAYER,
            kind: Kind::File { offset, len },
        };
        self.root.dir_all(parent)?.insert(name.clone(), node);
        Ok(())
    }

    fn copy_children(
        &mut self,
        host: &Path,
        meta: &fs::Metadata,
        target: &[Vec<u8>],
    ) -> Result<()> {
        let id = (meta.dev(), meta.ino());
        if !self.stack.insert(id) {
            return Err(self.copy_err(
                host,
                "a symbolic link leads back into a directory being copied (a loop)",
            ));
        }
        let mut names: Vec<_> = fs::read_dir(host)
            .map_err(|e| self.host_err(host, e))?
            .map(|e| e.map(|e| e.file_name()))
            .collect::<std::io::Result<_>>()
            .map_err(|e| self.host_err(host, e))?;
        names.sort();
        for name in names {
            let child = host.join(&name);
            let child_meta = fs::metadata(&child).map_err(|e| self.host_err(&child, e))?;
            let mut t = target.to_vec();
            t.push(name.as_bytes().to_vec());
            // Whatever the tree holds there (a link placed by the base) is followed inside
            // the tree only.
            let t = self.root.resolve(&t, true)?;
            self.copy_entry(&child, &child_meta, &t)?;
        }
        self.stack.remove(&id);
        Ok(())
    }

    fn host_err(&self, host: &Path, e: std::io::Error) -> Error {
        let what = match e.kind() {
            std::io::ErrorKind::NotFound => {
                "no such file or directory (or a dangling link)".to_owned()
            }
            _ => e.to_string(),
        };
        self.copy_err(host, &what)
    }

    fn copy_err(&self, host: &Path, reason: &str) -> Error {
        Error::FileCopy {
            line: 0,
            reason: format!("{}: {reason}", host.display()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_words_are_joined_back() {
        let l = FilesLine::from_words("\"my", "file\" /opt/", 3);
        assert_eq!(l.src, "my file");
        assert_eq!(l.dest.as_deref(), Some("/opt/"));
        let l = FilesLine::from_words("a.txt", "a.txt", 4);
        assert_eq!(l.dest, None);
        let l = FilesLine::from_words("a.txt", "/b", 5);
        assert_eq!(l.dest.as_deref(), Some("/b"));
    }

    #[test]
    fn patterns_expand_relative_to_the_base() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("d")).unwrap();
        for n in ["b.txt", "a.txt", ".h.txt", "c.md"] {
            fs::write(dir.path().join("d").join(n), n).unwrap();
        }
        assert_eq!(
            expand(dir.path(), b"d/*.txt"),
            vec![b"d/a.txt".to_vec(), b"d/b.txt".to_vec()]
        );
        assert_eq!(expand(dir.path(), b"*/c.md"), vec![b"d/c.md".to_vec()]);
        assert_eq!(expand(dir.path(), b"d/*.none"), vec![b"d/*.none".to_vec()]);
        let abs = format!("{}/d/?.md", dir.path().display());
        assert_eq!(
            expand(Path::new("/nonexistent"), abs.as_bytes()),
            vec![format!("{}/d/c.md", dir.path().display()).into_bytes()]
        );
    }

    #[test]
    fn a_directory_dot_merges_its_contents_and_sources_expand_for_the_context() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("data")).unwrap();
        fs::write(dir.path().join("data/one.txt"), "1").unwrap();
        fs::write(dir.path().join("data/two.txt"), "2").unwrap();
        let spool = tempfile::tempdir().unwrap();
        let mut root = RootFs::new(spool.path()).unwrap();
        root.add_dir("opt", 0o755).unwrap();
        let line = FilesLine::from_words("data/.", "/opt/", 2);
        copy_from_host(&mut root, dir.path(), &line, &Cancel::new(), &mut |_| {}).unwrap();
        assert_eq!(root.read("opt/one.txt").as_deref(), Some(&b"1"[..]));
        assert!(!root.exists("opt/data"), "the contents, not the directory");

        let glob = FilesLine::from_words("data/*.txt", "/srv/", 3);
        assert_eq!(
            host_sources(dir.path(), &glob),
            [PathBuf::from("data/one.txt"), PathBuf::from("data/two.txt")]
        );
        let quoted = FilesLine::from_words("\"my", "file\" /opt/", 4);
        assert_eq!(
            host_sources(dir.path(), &quoted),
            [PathBuf::from("my file")]
        );
    }
}
