//! `docker://` references, normalised the way Docker and Apptainer do (oci-to-sif.md §1–2).

use std::fmt;

use crate::error::{Error, ErrorKind, Result};

/// The registry name Docker Hub references normalise to.
pub const DOCKER_HUB: &str = "docker.io";
/// Docker Hub's API does not answer on `docker.io` itself.
const DOCKER_HUB_API: &str = "registry-1.docker.io";

/// A parsed `docker://` reference.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ImageRef {
    registry: String,
    repository: String,
    tag: Option<String>,
    digest: Option<String>,
}

impl ImageRef {
    /// Parses `[docker://][registry[:port]/]path[:tag][@sha256:hex]`. The first component is
    /// a registry only if it looks like a host (has `.` or `:`, or is `localhost`); Docker
    /// Hub one-component names get `library/`.
    pub fn parse(s: &str) -> Result<Self> {
        let bad = |why: &str| {
            Error::new(
                ErrorKind::RefInvalid,
                format!("invalid image reference {s:?}: {why}"),
            )
        };
        let rest = s.strip_prefix("docker://").unwrap_or(s);
        if rest.is_empty() {
            return Err(bad("it is empty"));
        }
        let (name_tag, digest) = match rest.split_once('@') {
            Some((n, d)) => (n, Some(d)),
            None => (rest, None),
        };
        if let Some(d) = digest {
            check_digest(d).map_err(|why| bad(&why))?;
        }
        // A tag's colon comes after the last slash; an earlier colon is a port.
        let (name, tag) = match name_tag.rfind(':') {
            Some(i) if !name_tag[i..].contains('/') => (&name_tag[..i], Some(&name_tag[i + 1..])),
            _ => (name_tag, None),
        };
        if let Some(t) = tag {
            if !valid_tag(t) {
                return Err(bad("the tag must be 1–128 letters, digits, `_`, `.` or `-`, not starting with `.` or `-`"));
            }
        }
        let (registry, path) = match name.split_once('/') {
            Some((first, rest))
                if first.contains('.') || first.contains(':') || first == "localhost" =>
            {
                (first.to_owned(), rest.to_owned())
            }
            _ => (DOCKER_HUB.to_owned(), name.to_owned()),
        };
        if !valid_host(&registry) {
            return Err(bad("the registry is not a valid host[:port]"));
        }
        let registry = match registry.as_str() {
            "index.docker.io" | "registry-1.docker.io" => DOCKER_HUB.to_owned(),
            _ => registry,
        };
        if path.is_empty() || !path.split('/').all(valid_component) {
            return Err(bad("the name must be lower-case letters and digits separated by `/`, `.`, `_`, `__` or dashes"));
        }
        let repository = if registry == DOCKER_HUB && !path.contains('/') {
            format!("library/{path}")
        } else {
            path
        };
        Ok(Self {
            registry,
            repository,
            tag: tag.map(str::to_owned),
            digest: digest.map(str::to_owned),
        })
    }

    /// The registry as written (`docker.io` for Docker Hub), with its port if any.
    pub fn registry(&self) -> &str {
        &self.registry
    }

    /// The `host[:port]` the registry API answers on (`registry-1.docker.io` for Docker Hub).
    pub fn api_host(&self) -> &str {
        if self.registry == DOCKER_HUB {
            DOCKER_HUB_API
        } else {
            &self.registry
        }
    }

    /// Repository path, e.g. `library/alpine`.
    pub fn repository(&self) -> &str {
        &self.repository
    }

    /// The tag as written (none when absent, even if `latest` is implied).
    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    /// The `sha256:…` digest, if the reference pins one.
    pub fn digest(&self) -> Option<&str> {
        self.digest.as_deref()
    }

    /// What to ask the registry for: the digest wins over the tag, as Docker does.
    pub fn manifest_reference(&self) -> &str {
        self.digest
            .as_deref()
            .or(self.tag.as_deref())
            .unwrap_or("latest")
    }

    /// Apptainer's default output name `<last path component>_<tag>.sif`.
    pub fn default_sif_name(&self) -> String {
        let last = self
            .repository
            .rsplit('/')
            .next()
            .unwrap_or(&self.repository);
        format!("{last}_{}.sif", self.tag.as_deref().unwrap_or("latest"))
    }

    /// The same repository pinned to `digest` (the tag is kept for display).
    pub fn with_digest(&self, digest: &str) -> Self {
        Self {
            digest: Some(digest.to_owned()),
            ..self.clone()
        }
    }
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        match (&self.tag, &self.digest) {
            (Some(t), _) => write!(f, ":{t}")?,
            (None, None) => f.write_str(":latest")?,
            (None, Some(_)) => {}
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

impl std::str::FromStr for ImageRef {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::parse(s)
    }
}

/// Only SHA-256 is accepted: it is the one digest this client can verify.
pub(crate) fn check_digest(d: &str) -> std::result::Result<(), String> {
    let hex = d
        .strip_prefix("sha256:")
        .ok_or_else(|| format!("the digest {d:?} is not sha256:<64 hex digits>"))?;
    if hex.len() != 64
        || !hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Err(format!("the digest {d:?} is not sha256:<64 hex digits>"));
    }
    Ok(())
}

fn valid_tag(t: &str) -> bool {
    let b = t.as_bytes();
    !b.is_empty()
        && b.len() <= 128
        && (b[0].is_ascii_alphanumeric() || b[0] == b'_')
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || b"_.-".contains(c))
}

/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`
fn valid_component(c: &str) -> bool {
    let b = c.as_bytes();
    if b.is_empty() || !is_alnum(b[0]) || !is_alnum(b[b.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        if is_alnum(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && !is_alnum(b[i]) {
            i += 1;
        }
        let sep = &c[start..i];
        let ok = sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|x| x == b'-');
        if !ok {
            return false;
        }
    }
    true
}

fn is_alnum(c: u8) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit()
}

fn valid_host(h: &str) -> bool {
    let (host, port) = match h.rsplit_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (h, None),
    };
    if let Some(p) = port {
        if p.parse::<u16>().is_err() {
            return false;
        }
    }
    !host.is_empty()
        && host
            .split('.')
            .all(|l| !l.is_empty() && l.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    /// input, registry, repository, tag, digest, display
    type Case<'a> = (
        String,
        &'a str,
        &'a str,
        Option<&'a str>,
        Option<&'a str>,
        String,
    );

    #[test]
    fn parses_the_reference_table() {
        let d = D;
        let cases: Vec<Case> = vec![
            (
                "alpine".into(),
                "docker.io",
                "library/alpine",
                None,
                None,
                "docker.io/library/alpine:latest".into(),
            ),
            (
                "docker://alpine:3.20".into(),
                "docker.io",
                "library/alpine",
                Some("3.20"),
                None,
                "docker.io/library/alpine:3.20".into(),
            ),
            (
                "user/app".into(),
                "docker.io",
                "user/app",
                None,
                None,
                "docker.io/user/app:latest".into(),
            ),
            (
                "index.docker.io/library/busybox:1".into(),
                "docker.io",
                "library/busybox",
                Some("1"),
                None,
                "docker.io/library/busybox:1".into(),
            ),
            (
                "docker.io/busybox".into(),
                "docker.io",
                "library/busybox",
                None,
                None,
                "docker.io/library/busybox:latest".into(),
            ),
            (
                "127.0.0.1:5000/x/y:t".into(),
                "127.0.0.1:5000",
                "x/y",
                Some("t"),
                None,
                "127.0.0.1:5000/x/y:t".into(),
            ),
            (
                "localhost/x".into(),
                "localhost",
                "x",
                None,
                None,
                "localhost/x:latest".into(),
            ),
            (
                "localhost:5000/x".into(),
                "localhost:5000",
                "x",
                None,
                None,
                "localhost:5000/x:latest".into(),
            ),
            (
                "ghcr.io/a/b/c-d_e.f:v1.2-rc".into(),
                "ghcr.io",
                "a/b/c-d_e.f",
                Some("v1.2-rc"),
                None,
                "ghcr.io/a/b/c-d_e.f:v1.2-rc".into(),
            ),
            (
                format!("alpine@{d}"),
                "docker.io",
                "library/alpine",
                None,
                Some(d),
                format!("docker.io/library/alpine@{d}"),
            ),
            (
                format!("quay.io/x/y:t@{d}"),
                "quay.io",
                "x/y",
                Some("t"),
                Some(d),
                format!("quay.io/x/y:t@{d}"),
            ),
        ];
        for (input, reg, repo, tag, digest, display) in cases {
            let r = ImageRef::parse(&input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(r.registry(), reg, "{input}");
            assert_eq!(r.repository(), repo, "{input}");
            assert_eq!(r.tag(), tag, "{input}");
            assert_eq!(r.digest(), digest, "{input}");
            assert_eq!(r.to_string(), display, "{input}");
        }
        assert_eq!(
            ImageRef::parse("alpine").unwrap().api_host(),
            "registry-1.docker.io"
        );
        assert_eq!(
            ImageRef::parse("127.0.0.1:5000/x").unwrap().api_host(),
            "127.0.0.1:5000"
        );
    }

    #[test]
    fn rejects_bad_references() {
        for bad in [
            "",
            "docker://",
            "Alpine",
            "alpine:",
            "alpine:-x",
            "alpine@sha256:abc",
            "alpine@md5:0123",
            "a//b",
            "a/b/",
            "host:99999/x",
            "x/y:t:u",
            "a--b..c",
        ] {
            let e = ImageRef::parse(bad).expect_err(bad);
            assert_eq!(e.code(), "oci.ref_invalid", "{bad}");
        }
    }

    #[test]
    fn default_sif_names() {
        assert_eq!(
            ImageRef::parse("alpine").unwrap().default_sif_name(),
            "alpine_latest.sif"
        );
        assert_eq!(
            ImageRef::parse("127.0.0.1:5000/a/b:1.0")
                .unwrap()
                .default_sif_name(),
            "b_1.0.sif"
        );
        assert_eq!(
            ImageRef::parse(&format!("a/b@{D}"))
                .unwrap()
                .default_sif_name(),
            "b_latest.sif"
        );
    }
}
