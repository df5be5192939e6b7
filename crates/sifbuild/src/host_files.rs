//! `%files` from the host into the tree with the semantics of the reference's
//! `cp -fLr SRC DEST` (Apptainer's `CopyFromHost`): sources expanded as shell patterns,
//! symbolic links on the host followed, a destination that is a directory receiving the
//! source under its own name, missing parents created. Every destination path is resolved
//! inside the tree, so neither `..` nor a symbolic link in the image can lead a write out of
//! it; a host directory that links back into itself is an error, not an endless copy.
//!
//! `%files from STAGE` copies the same way from an earlier stage's tree instead of the
//! host: one copier serves both, so the two cannot drift apart in how they treat
//! destinations.

use std::collections::HashSet;
use std::fs::{self, File};
use std::io::Read;
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
    let sources = |src: &[u8]| expand(base_dir, src);
    copy_line(root, &Host { base_dir }, line, &sources, cancel, note)
}

/// Copies one `%files from STAGE` line from `stage`'s tree into `root`; returns the bytes
/// copied. Sources are read inside `stage` only: relative paths start at its root, patterns
/// expand against its directories and its symbolic links are followed within it, never on
/// the host.
pub fn copy_from_stage(
    root: &mut RootFs,
    stage: &RootFs,
    line: &FilesLine,
    cancel: &Cancel,
    note: &mut dyn FnMut(Note),
) -> Result<u64> {
    let tree = Tree(stage);
    let sources = |src: &[u8]| tree.expand(src);
    copy_line(root, &tree, line, &sources, cancel, note)
}

/// The `cp -fLr` of one line, whatever the sources live on.
fn copy_line<S: Source>(
    root: &mut RootFs,
    source: &S,
    line: &FilesLine,
    sources: &dyn Fn(&[u8]) -> Vec<Vec<u8>>,
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
    for src in sources(line.src.as_bytes()) {
        cancel.check()?;
        let dest = match &line.dest {
            Some(d) => d.as_bytes().to_vec(),
            None => src.clone(),
        };
        // `dir/.` (or `.`): the directory's contents, not the directory. Paths drop a
        // trailing `.`, so this is read from the text as written.
        let contents_only = src == b"." || src.ends_with(b"/.");
        let mut copier = Copier {
            root: &mut *root,
            source,
            cancel,
            stack: HashSet::new(),
            copied: 0,
        };
        copier
            .copy_top(&source.path(&src), &dest, contents_only)
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

/// The pattern's matches on the host as the shell lists them, in the pattern's own form
/// (relative stays relative); the pattern itself when it has no match or no pattern
/// character.
fn expand(base_dir: &Path, pattern: &[u8]) -> Vec<Vec<u8>> {
    let list = |prefix: &[u8]| {
        let dir = if prefix.is_empty() {
            base_dir.to_path_buf()
        } else {
            host_path(base_dir, prefix)
        };
        let entries = fs::read_dir(dir).ok()?;
        Some(
            entries
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().into_vec())
                .collect(),
        )
    };
    let exists = |p: &[u8]| fs::symlink_metadata(host_path(base_dir, p)).is_ok();
    expand_with(pattern, &list, &exists)
}

/// The names in the directory a path leads to, `None` if it is none.
type ListDir<'a> = dyn Fn(&[u8]) -> Option<Vec<Vec<u8>>> + 'a;

/// Shell expansion over any directory listing: `list` names the entries of the directory
/// a prefix (as written; empty for the base) leads to, `exists` says whether a path names
/// anything without following its last component.
fn expand_with(pattern: &[u8], list: &ListDir, exists: &dyn Fn(&[u8]) -> bool) -> Vec<Vec<u8>> {
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
            let Some(entries) = list(prefix) else {
                continue;
            };
            let mut names: Vec<Vec<u8>> = entries
                .into_iter()
                .filter(|n| glob::matches(comp, n))
                .collect();
            names.sort();
            next.extend(names.iter().map(|n| join(n)));
        }
        found = next;
    }
    // A literal component after a pattern may name nothing; the shell drops such paths.
    found.retain(|p| exists(p));
    if found.is_empty() {
        vec![glob::unescape(pattern)]
    } else {
        found
    }
}

/// What a source path names once links are followed (`cp -L`).
enum SourceKind {
    Dir,
    File,
    Other,
}

struct SourceMeta<I> {
    kind: SourceKind,
    /// Permission bits as the source has them.
    mode: u32,
    /// Identity of a directory, to notice a link leading back into one being copied.
    id: I,
}

/// Where `%files` reads from: the host's file system or an earlier stage's tree. Errors
/// are reasons in words; the copier adds the path and the line.
trait Source {
    type Path;
    type Id: std::hash::Hash + Eq + Clone;
    /// A line's source (one match, as written) as a path of this source.
    fn path(&self, src: &[u8]) -> Self::Path;
    /// Metadata with every link followed.
    fn meta(&self, p: &Self::Path) -> std::result::Result<SourceMeta<Self::Id>, String>;
    /// The names in a directory, sorted.
    fn children(&self, p: &Self::Path) -> std::result::Result<Vec<Vec<u8>>, String>;
    fn child(&self, p: &Self::Path, name: &[u8]) -> Self::Path;
    /// The last component as written, which names the copy inside a destination directory.
    fn file_name(&self, p: &Self::Path) -> Option<Vec<u8>>;
    fn open(&self, p: &Self::Path) -> std::result::Result<Box<dyn Read + '_>, String>;
    fn show(&self, p: &Self::Path) -> String;
}

struct Host<'a> {
    base_dir: &'a Path,
}

fn io_reason(e: std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory (or a dangling link)".to_owned(),
        _ => e.to_string(),
    }
}

impl Source for Host<'_> {
    type Path = PathBuf;
    type Id = (u64, u64);

    fn path(&self, src: &[u8]) -> PathBuf {
        host_path(self.base_dir, src)
    }

    fn meta(&self, p: &PathBuf) -> std::result::Result<SourceMeta<(u64, u64)>, String> {
        let meta = fs::metadata(p).map_err(io_reason)?;
        let kind = if meta.is_dir() {
            SourceKind::Dir
        } else if meta.is_file() {
            SourceKind::File
        } else {
            SourceKind::Other
        };
        Ok(SourceMeta {
            kind,
            mode: meta.mode(),
            id: (meta.dev(), meta.ino()),
        })
    }

    fn children(&self, p: &PathBuf) -> std::result::Result<Vec<Vec<u8>>, String> {
        let mut names: Vec<Vec<u8>> = fs::read_dir(p)
            .map_err(io_reason)?
            .map(|e| e.map(|e| e.file_name().into_vec()))
            .collect::<std::io::Result<_>>()
            .map_err(io_reason)?;
        names.sort();
        Ok(names)
    }

    fn child(&self, p: &PathBuf, name: &[u8]) -> PathBuf {
        p.join(std::ffi::OsStr::from_bytes(name))
    }

    fn file_name(&self, p: &PathBuf) -> Option<Vec<u8>> {
        p.file_name().map(|n| n.as_bytes().to_vec())
    }

    fn open(&self, p: &PathBuf) -> std::result::Result<Box<dyn Read + '_>, String> {
        Ok(Box::new(File::open(p).map_err(io_reason)?))
    }

    fn show(&self, p: &PathBuf) -> String {
        p.display().to_string()
    }
}

/// An earlier stage's tree. Paths are components as written; every access resolves them
/// inside the tree, so an absolute link there means that tree's root, not the host's.
struct Tree<'a>(&'a RootFs);

impl Tree<'_> {
    fn node(&self, p: &[Vec<u8>], follow_last: bool) -> Option<&Node> {
        let resolved = self.0.resolve(p, follow_last).ok()?;
        self.0.lookup(&resolved)
    }

    fn expand(&self, pattern: &[u8]) -> Vec<Vec<u8>> {
        let list = |prefix: &[u8]| match &self.node(&self.path(prefix), true)?.kind {
            Kind::Dir(children) => Some(children.keys().cloned().collect()),
            _ => None,
        };
        let exists = |p: &[u8]| self.node(&self.path(p), false).is_some();
        expand_with(pattern, &list, &exists)
    }
}

impl Source for Tree<'_> {
    type Path = Vec<Vec<u8>>;
    /// The fully resolved path: with every link followed it names one directory only.
    type Id = Vec<Vec<u8>>;

    fn path(&self, src: &[u8]) -> Vec<Vec<u8>> {
        // `..` is left for `resolve`, which applies it after the links before it.
        src.split(|b| *b == b'/')
            .filter(|c| !c.is_empty() && *c != b".")
            .map(<[u8]>::to_vec)
            .collect()
    }

    fn meta(&self, p: &Vec<Vec<u8>>) -> std::result::Result<SourceMeta<Vec<Vec<u8>>>, String> {
        let resolved = self.0.resolve(p, true).map_err(|e| e.to_string())?;
        let node = self
            .0
            .lookup(&resolved)
            .ok_or("no such file or directory in the stage (or a dangling link)")?;
        let kind = match node.kind {
            Kind::Dir(_) => SourceKind::Dir,
            Kind::File { .. } => SourceKind::File,
            _ => SourceKind::Other,
        };
        Ok(SourceMeta {
            kind,
            mode: node.mode,
            id: resolved,
        })
    }

    fn children(&self, p: &Vec<Vec<u8>>) -> std::result::Result<Vec<Vec<u8>>, String> {
        match self.node(p, true).map(|n| &n.kind) {
            // The map keeps the names sorted by bytes, as the host side sorts them.
            Some(Kind::Dir(children)) => Ok(children.keys().cloned().collect()),
            _ => Err("not a directory in the stage".into()),
        }
    }

    fn child(&self, p: &Vec<Vec<u8>>, name: &[u8]) -> Vec<Vec<u8>> {
        let mut c = p.clone();
        c.push(name.to_vec());
        c
    }

    fn file_name(&self, p: &Vec<Vec<u8>>) -> Option<Vec<u8>> {
        p.last().cloned()
    }

    fn open(&self, p: &Vec<Vec<u8>>) -> std::result::Result<Box<dyn Read + '_>, String> {
        match self.node(p, true).map(|n| &n.kind) {
            Some(Kind::File { offset, len }) => Ok(Box::new(self.0.range_reader(*offset, *len))),
            _ => Err("not a regular file in the stage".into()),
        }
    }

    fn show(&self, p: &Vec<Vec<u8>>) -> String {
        display(p)
    }
}

struct Copier<'r, 's, 'c, S: Source> {
    root: &'r mut RootFs,
    source: &'s S,
    cancel: &'c Cancel,
    /// Source directories being copied: a link back into one is a loop.
    stack: HashSet<S::Id>,
    copied: u64,
}

enum Existing {
    Nothing,
    Dir,
    Other,
}

impl<S: Source> Copier<'_, '_, '_, S> {
    fn existing(&self, comps: &[Vec<u8>]) -> Existing {
        match self.root.lookup(comps) {
            None => Existing::Nothing,
            Some(n) if n.is_dir() => Existing::Dir,
            Some(_) => Existing::Other,
        }
    }

    /// `cp -fLr src dest` with `dest` as written in the definition.
    fn copy_top(&mut self, src: &S::Path, dest: &[u8], contents_only: bool) -> Result<()> {
        let meta = self.source.meta(src).map_err(|r| self.copy_err(src, &r))?;
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
            let name = self
                .source
                .file_name(src)
                .filter(|_| !contents_only)
                .filter(|n| !n.is_empty() && n != b"." && n != b"..");
            match name {
                Some(name) => {
                    target.push(name);
                    target = self.root.resolve(&target, true)?;
                }
                // `cp -r dir/. dest`: the contents merge into the directory.
                None if matches!(meta.kind, SourceKind::Dir) => {}
                None => return Err(self.copy_err(src, "the source has no file name")),
            }
        }
        self.copy_entry(src, meta, &target)
    }

    fn copy_entry(
        &mut self,
        src: &S::Path,
        meta: SourceMeta<S::Id>,
        target: &[Vec<u8>],
    ) -> Result<()> {
        self.cancel.check()?;
        let Some((name, parent)) = target.split_last() else {
            // The root itself: only a directory's contents can land there.
            if matches!(meta.kind, SourceKind::Dir) {
                return self.copy_children(src, meta.id, target);
            }
            return Err(self.copy_err(src, "cannot overwrite a directory with a file"));
        };
        let existing = self.existing(target);
        match meta.kind {
            SourceKind::Dir => {
                match existing {
                    Existing::Dir => {}
                    Existing::Other => {
                        return Err(self.copy_err(
                            src,
                            &format!(
                                "cannot overwrite non-directory {} with a directory",
                                display(target)
                            ),
                        ))
                    }
                    Existing::Nothing => {
                        let node = Node::dir(meta.mode & 0o777 & !UMASK, now(), NO_LAYER);
                        self.root.dir_all(parent)?.insert(name.clone(), node);
                    }
                }
                return self.copy_children(src, meta.id, target);
            }
            SourceKind::Other => return Err(self.copy_err(
                src,
                "is not a regular file or directory (devices, pipes and sockets are not copied)",
            )),
            SourceKind::File => {}
        }
        let mode = match (existing, self.root.lookup(target)) {
            (Existing::Dir, _) => {
                return Err(self.copy_err(
                    src,
                    &format!("cannot overwrite directory {} with a file", display(target)),
                ))
            }
            // cp truncates an existing file in place, keeping its mode.
            (Existing::Other, Some(n)) if matches!(n.kind, Kind::File { .. }) => n.mode,
            _ => meta.mode & 0o777 & !UMASK,
        };
        let source = self.source;
        let mut data = source.open(src).map_err(|r| self.copy_err(src, &r))?;
        let (offset, len) = self.root.spool_from(&mut data)?;
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

    fn copy_children(&mut self, src: &S::Path, id: S::Id, target: &[Vec<u8>]) -> Result<()> {
        if self.stack.contains(&id) {
            return Err(self.copy_err(
                src,
                "a symbolic link leads back into a directory being copied (a loop)",
            ));
        }
        let names = self
            .source
            .children(src)
            .map_err(|r| self.copy_err(src, &r))?;
        self.stack.insert(id.clone());
        for name in names {
            let child = self.source.child(src, &name);
            let child_meta = self
                .source
                .meta(&child)
                .map_err(|r| self.copy_err(&child, &r))?;
            let mut t = target.to_vec();
            t.push(name);
            // Whatever the tree holds there (a link placed by the base) is followed inside
            // the tree only.
            let t = self.root.resolve(&t, true)?;
            self.copy_entry(&child, child_meta, &t)?;
        }
        self.stack.remove(&id);
        Ok(())
    }

    fn copy_err(&self, src: &S::Path, reason: &str) -> Error {
        Error::FileCopy {
            line: 0,
            reason: format!("{}: {reason}", self.source.show(src)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::EntryKind;

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

    #[test]
    fn a_stage_is_copied_from_inside_its_own_tree() {
        let spool = tempfile::tempdir().unwrap();
        let mut one = RootFs::new(spool.path()).unwrap();
        one.add_file("srv/data/a.txt", 0o644, b"a").unwrap();
        one.add_file("srv/data/b.txt", 0o600, b"b").unwrap();
        one.add_symlink("srv/data/link.txt", "b.txt").unwrap();
        one.add_symlink("srv/data/passwd", "/etc/passwd").unwrap();
        one.add_file("etc/passwd", 0o644, b"stage one\n").unwrap();
        one.add_symlink("srv/dangling", "/nowhere").unwrap();
        one.add_symlink("srv/loop/self", "/srv/loop").unwrap();
        let mut two = RootFs::new(spool.path()).unwrap();
        two.add_file("opt/keep.txt", 0o644, b"keep").unwrap();
        let cancel = Cancel::new();
        let mut notes = Vec::new();
        let mut note = |n: Note| notes.push(n);
        let mut copy = |two: &mut RootFs, src: &str, dest: &str, line: usize| {
            let line = FilesLine::from_words(src, dest, line);
            copy_from_stage(two, &one, &line, &cancel, &mut note)
        };

        // A pattern expands against the stage; the link to a sibling is followed there.
        assert_eq!(copy(&mut two, "/srv/data/*.txt", "/glob/", 2).unwrap(), 3);
        assert_eq!(two.read("glob/a.txt").as_deref(), Some(&b"a"[..]));
        assert_eq!(
            two.stat("glob/link.txt").unwrap().kind,
            EntryKind::File { len: 1 }
        );
        assert_eq!(two.read("glob/link.txt").as_deref(), Some(&b"b"[..]));
        assert_eq!(two.stat("glob/b.txt").unwrap().mode, 0o600);

        // `dir/.` merges the contents into what is there; the absolute link means the
        // stage's own /etc/passwd, never the host's.
        copy(&mut two, "srv/data/.", "/opt/", 3).unwrap();
        assert_eq!(two.read("opt/keep.txt").as_deref(), Some(&b"keep"[..]));
        assert_eq!(two.read("opt/b.txt").as_deref(), Some(&b"b"[..]));
        assert_eq!(two.read("opt/passwd").as_deref(), Some(&b"stage one\n"[..]));
        assert!(!two.exists("opt/data"), "the contents, not the directory");

        // A directory to a new path; one line alone copies to the same path.
        copy(&mut two, "/srv/data", "/copied", 4).unwrap();
        assert_eq!(
            two.list("copied").unwrap(),
            ["a.txt", "b.txt", "link.txt", "passwd"]
        );
        copy(&mut two, "/etc/passwd", "/etc/passwd", 5).unwrap();
        assert_eq!(two.read("etc/passwd").as_deref(), Some(&b"stage one\n"[..]));
        assert!(!two.exists("srv"), "only what the lines name");

        // Missing sources, dangling links and loops name the line and the stage path.
        for (src, line, why) in [
            ("/srv/dangling", 6, "no such file"),
            ("/srv/none-*.txt", 7, "no such file"),
            ("/srv/loop", 8, "loop"),
        ] {
            let err = copy(&mut two, src, "/x", line).unwrap_err();
            let Error::FileCopy { line: at, reason } = &err else {
                panic!("{err:?}");
            };
            assert_eq!(*at, line);
            assert!(reason.contains(why), "{reason}");
            assert!(err
                .to_string()
                .starts_with(&format!("%files line {line}: /srv/")));
        }
        assert!(notes
            .iter()
            .any(|n| matches!(n, Note::Info(t) if t == "Copying /srv/data to /copied")));
    }
}
