//! `library://` references (library-api.md §3).
//!
//! Parsing follows the CLI's `NormalizeLibraryRef` (§3.1) so that Berth reads a reference
//! exactly as Apptainer would (notably: a first component is a host only when three more
//! follow), and adds the client-side validation of §3.2/§3.4 so mistakes are reported
//! before any request, naming the part that is wrong.

use std::fmt;
use std::str::FromStr;

/// Longest name component accepted (the OpenAPI file's upper bound).
const MAX_NAME: usize = 255;
/// Longest tag accepted (the OCI distribution limit; libraries back onto OCI registries).
const MAX_TAG: usize = 128;
/// The tag used when a reference has none.
pub const DEFAULT_TAG: &str = "latest";

/// A parsed, validated `library://` reference.
///
/// [`Display`](fmt::Display) gives the canonical form, which parses back to an equal value:
/// `library://[host/]path:tag[,tag…]` with the host lower-cased, tags always spelled out
/// (`latest` when none was given) and duplicates dropped.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LibraryRef {
    host: Option<String>,
    /// 1–3 components; servers fill in missing entity/collection (§3.3).
    path: Vec<String>,
    /// Never empty.
    tags: Vec<String>,
}

/// Which part of a reference is wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RefPart {
    /// The reference as a whole.
    Reference,
    /// The `scheme:` prefix.
    Scheme,
    /// `host[:port]`.
    Host,
    /// The `/`-separated path as a whole.
    Path,
    /// First of three path components.
    Entity,
    /// Second of three, or first of two, path components.
    Collection,
    /// Last path component.
    Container,
    /// One tag, or the tag list.
    Tag,
    /// An architecture name.
    Arch,
}

impl fmt::Display for RefPart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Reference => "reference",
            Self::Scheme => "scheme",
            Self::Host => "host",
            Self::Path => "path",
            Self::Entity => "entity",
            Self::Collection => "collection",
            Self::Container => "container",
            Self::Tag => "tag",
            Self::Arch => "architecture",
        })
    }
}

/// Why that part is wrong.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RefReason {
    /// Nothing where something is required.
    Empty,
    /// A scheme other than `library`.
    WrongScheme,
    /// `user@host` is not allowed.
    UserInfo,
    /// `?query` is not allowed.
    Query,
    /// `#fragment` is not allowed.
    Fragment,
    /// More than three path components.
    TooManyComponents(usize),
    /// Upper-case letters in a name.
    UpperCase,
    /// A character that may not appear there.
    InvalidChar(char),
    /// `.`, `_` or `-` at the start or end, or two in a row.
    BadSeparator,
    /// Longer than the limit (given).
    TooLong(usize),
    /// More than one `:` after the path.
    TooManyColons,
    /// `sha256.` not followed by 64 hex digits, or `sif.` not followed by a UUID.
    BadImageId,
    /// An image id (`sha256.…`) together with other tags.
    ImageIdWithOtherTags,
    /// Port not a number in 1–65535.
    BadPort,
    /// `library://host:port/x` — a host is only recognised before three path components.
    HostNeedsFullPath,
    /// A push destination without entity and collection.
    PushNeedsFullPath,
}

impl fmt::Display for RefReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("is empty"),
            Self::WrongScheme => f.write_str("is not library://"),
            Self::UserInfo => {
                f.write_str("contains user information (user@host), which is not allowed")
            }
            Self::Query => f.write_str("contains '?': queries are not allowed"),
            Self::Fragment => f.write_str("contains '#': fragments are not allowed"),
            Self::TooManyComponents(n) => write!(
                f,
                "has {n} components; at most entity/collection/container (3) are allowed"
            ),
            Self::UpperCase => f.write_str("must be lower-case"),
            Self::InvalidChar(c) => write!(
                f,
                "contains {c:?}; only a-z, 0-9 and the separators '.', '_', '-' are allowed"
            ),
            Self::BadSeparator => f.write_str(
                "must start and end with a letter or digit, without two separators in a row",
            ),
            Self::TooLong(max) => write!(f, "is longer than {max} characters"),
            Self::TooManyColons => {
                f.write_str("contains more than one ':' (tags are separated by ',')")
            }
            Self::BadImageId => f.write_str(
                "is not a valid image id: expected sha256.<64 hex digits> or sif.<uuid>",
            ),
            Self::ImageIdWithOtherTags => {
                f.write_str("is an image id and cannot be combined with other tags")
            }
            Self::BadPort => f.write_str("has a port that is not a number from 1 to 65535"),
            Self::HostNeedsFullPath => f.write_str(
                "looks like host:port; a host is only allowed before entity/collection/container",
            ),
            Self::PushNeedsFullPath => {
                f.write_str("is too short: a push needs entity/collection/container")
            }
        }
    }
}

/// A reference failed to parse: says which [`RefPart`] and why ([`RefReason`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid library reference {input:?}: {part} {value:?} {reason}")]
pub struct RefError {
    /// The whole text that was parsed.
    pub input: String,
    /// The part that is wrong.
    pub part: RefPart,
    /// The offending text of that part.
    pub value: String,
    /// Why it is wrong.
    pub reason: RefReason,
}

impl RefError {
    fn new(input: &str, part: RefPart, value: &str, reason: RefReason) -> Self {
        Self {
            input: input.to_owned(),
            part,
            value: value.to_owned(),
            reason,
        }
    }
}

impl LibraryRef {
    /// Parses any form of §3: `library://[host[:port]/]path[:tags]`, `library:///path`,
    /// `library:path`, `library:/path`, or a bare `path[:tags]`. `path` is
    /// `[[entity/]collection/]container`; tags are comma-separated and may be an image id
    /// `sha256.<hex>` / `sif.<uuid>`. Surrounding whitespace is ignored.
    pub fn parse(input: &str) -> Result<Self, RefError> {
        let text = input.trim();
        let fail = |part, value: &str, reason| RefError::new(input, part, value, reason);
        if text.is_empty() {
            return Err(fail(RefPart::Reference, "", RefReason::Empty));
        }
        for (ch, reason) in [('?', RefReason::Query), ('#', RefReason::Fragment)] {
            if text.contains(ch) {
                return Err(fail(RefPart::Reference, text, reason));
            }
        }

        let (rest, may_have_host) = strip_scheme(text)
            .map_err(|scheme| fail(RefPart::Scheme, scheme, RefReason::WrongScheme))?;

        // §3.1: with `//`, a leading empty host (`library:///a`) means no host; otherwise the
        // first component is a host only if three or more slashes follow it.
        let (host, rest) = if let Some(after) = rest.strip_prefix('/') {
            (None, after)
        } else if may_have_host && rest.matches('/').count() > 2 {
            match rest.split_once('/') {
                Some((h, after)) => (Some(h), after),
                None => (None, rest),
            }
        } else {
            (None, rest)
        };

        let host = match host {
            Some(h) => Some(normalize_host(h).map_err(|reason| fail(RefPart::Host, h, reason))?),
            None => None,
        };

        let (path_text, tag_text) = match rest.split_once(':') {
            Some((p, t)) => (p, Some(t)),
            None => (rest, None),
        };
        if path_text.contains('@') {
            return Err(fail(RefPart::Path, path_text, RefReason::UserInfo));
        }
        let path =
            parse_path(path_text).map_err(|(part, value, reason)| fail(part, &value, reason))?;
        let tags = match tag_text {
            None => vec![DEFAULT_TAG.to_owned()],
            Some(t) => {
                // `library://host:4443/a`: the CLI sees no host (too few slashes), so the
                // "tag" is `4443/a`; say what actually went wrong.
                if let Some((port, _)) = t.split_once('/') {
                    if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) {
                        return Err(fail(RefPart::Host, path_text, RefReason::HostNeedsFullPath));
                    }
                }
                parse_tags(t).map_err(|(value, reason)| fail(RefPart::Tag, &value, reason))?
            }
        };
        Ok(Self { host, path, tags })
    }

    /// Host (`host[:port]`, lower-cased) named in the reference, if any.
    pub fn host(&self) -> Option<&str> {
        self.host.as_deref()
    }

    /// Entity, present only for full three-part paths.
    pub fn entity(&self) -> Option<&str> {
        (self.path.len() == 3).then(|| self.path[0].as_str())
    }

    /// Collection, present for two- and three-part paths.
    pub fn collection(&self) -> Option<&str> {
        (self.path.len() >= 2).then(|| self.path[self.path.len() - 2].as_str())
    }

    /// Container name (always present).
    pub fn container(&self) -> &str {
        // `path` is never empty: parse_path rejects that.
        self.path.last().map_or("", String::as_str)
    }

    /// The path components as given (1–3).
    pub fn components(&self) -> &[String] {
        &self.path
    }

    /// `entity/collection/container` (or the shorter form given), as used in URLs.
    pub fn path(&self) -> String {
        self.path.join("/")
    }

    /// True when entity, collection and container are all given (push needs this).
    pub fn is_full(&self) -> bool {
        self.path.len() == 3
    }

    /// All tags (never empty).
    pub fn tags(&self) -> &[String] {
        &self.tags
    }

    /// The first tag: the one pull and delete use (§3.1).
    pub fn tag(&self) -> &str {
        self.tags.first().map_or(DEFAULT_TAG, String::as_str)
    }

    /// The image id when the reference selects an image by hash (`sha256.…` / `sif.…`).
    pub fn image_id(&self) -> Option<&str> {
        let t = self.tag();
        is_image_id(t).then_some(t)
    }

    /// `path:tag` with the first tag, the form used in `v1/images/…` URLs.
    pub fn path_with_tag(&self) -> String {
        format!("{}:{}", self.path(), self.tag())
    }

    /// The same reference without a host.
    pub fn without_host(&self) -> Self {
        Self {
            host: None,
            ..self.clone()
        }
    }

    /// The same reference with another host; needs a full three-part path, since only then
    /// does the canonical form read back with a host.
    pub fn with_host(&self, host: &str) -> Result<Self, RefError> {
        let input = format!("{host}/{}", self.path());
        if !self.is_full() {
            return Err(RefError::new(
                &input,
                RefPart::Host,
                host,
                RefReason::HostNeedsFullPath,
            ));
        }
        let host = normalize_host(host)
            .map_err(|reason| RefError::new(&input, RefPart::Host, host, reason))?;
        Ok(Self {
            host: Some(host),
            ..self.clone()
        })
    }

    /// The same reference with other tags (validated like parsed ones).
    pub fn with_tags<I, S>(&self, tags: I) -> Result<Self, RefError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let joined: Vec<String> = tags.into_iter().map(|t| t.as_ref().to_owned()).collect();
        let joined = joined.join(",");
        let tags = parse_tags(&joined).map_err(|(value, reason)| {
            RefError::new(
                &format!("{}:{joined}", self.path()),
                RefPart::Tag,
                &value,
                reason,
            )
        })?;
        Ok(Self {
            tags,
            ..self.clone()
        })
    }
}

impl fmt::Display for LibraryRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("library://")?;
        if let Some(h) = &self.host {
            write!(f, "{h}/")?;
        }
        write!(f, "{}:{}", self.path.join("/"), self.tags.join(","))
    }
}

impl FromStr for LibraryRef {
    type Err = RefError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl serde::Serialize for LibraryRef {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for LibraryRef {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// Checks one entity/collection/container name (`^[a-z0-9]+(?:[._-][a-z0-9]+)*$`, §3.4).
pub fn check_name(part: RefPart, name: &str) -> Result<(), RefError> {
    name_reason(name).map_err(|reason| RefError::new(name, part, name, reason))
}

/// Checks one architecture name as sent in `?arch=` (Go's GOARCH spellings: `amd64`,
/// `arm64`, `ppc64le`, `386`…).
pub fn check_arch(arch: &str) -> Result<(), RefError> {
    let fail = |reason| RefError::new(arch, RefPart::Arch, arch, reason);
    if arch.is_empty() {
        return Err(fail(RefReason::Empty));
    }
    if arch.len() > 32 {
        return Err(fail(RefReason::TooLong(32)));
    }
    if let Some(c) = arch
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_'))
    {
        return Err(fail(if c.is_ascii_uppercase() {
            RefReason::UpperCase
        } else {
            RefReason::InvalidChar(c)
        }));
    }
    Ok(())
}

/// The architecture of this machine in Go's spelling, the default the CLI sends (§3.5).
pub fn host_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" if cfg!(target_endian = "little") => "ppc64le",
        "powerpc64" => "ppc64",
        "s390x" => "s390x",
        "riscv64" => "riscv64",
        "loongarch64" => "loong64",
        "mips64" if cfg!(target_endian = "little") => "mips64le",
        other => other,
    }
}

/// Returns the text after the scheme, and whether a `//host` part may follow.
fn strip_scheme(text: &str) -> Result<(&str, bool), &str> {
    if let Some((scheme, rest)) = text.split_once("://") {
        if scheme.eq_ignore_ascii_case("library") {
            return Ok((rest, true));
        }
        // Anything before `://` that is scheme-like is a foreign scheme (docker://, oras://…).
        return Err(scheme);
    }
    // `library:path` / `library:/path` (§3.2). `get` keeps multi-byte input from panicking.
    if let (Some(head), Some(rest)) = (text.get(..8), text.get(8..)) {
        if head.eq_ignore_ascii_case("library:") {
            return Ok((rest, false));
        }
    }
    Ok((text, true))
}

fn normalize_host(host: &str) -> Result<String, RefReason> {
    if host.is_empty() {
        return Err(RefReason::Empty);
    }
    if host.contains('@') {
        return Err(RefReason::UserInfo);
    }
    let (name, port) = if let Some(v6) = host.strip_prefix('[') {
        let (addr, after) = v6.split_once(']').ok_or(RefReason::InvalidChar('['))?;
        if addr.is_empty() {
            return Err(RefReason::Empty);
        }
        if let Some(c) = addr
            .chars()
            .find(|c| !(c.is_ascii_hexdigit() || *c == ':' || *c == '.'))
        {
            return Err(RefReason::InvalidChar(c));
        }
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':').ok_or(RefReason::BadPort)?),
        };
        (format!("[{}]", addr.to_ascii_lowercase()), port)
    } else {
        let (name, port) = match host.split_once(':') {
            Some((n, p)) => (n, Some(p)),
            None => (host, None),
        };
        if name.is_empty() {
            return Err(RefReason::Empty);
        }
        if let Some(c) = name
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '.'))
        {
            return Err(RefReason::InvalidChar(c));
        }
        if name
            .split('.')
            .any(|label| label.is_empty() || label.starts_with('-') || label.ends_with('-'))
        {
            return Err(RefReason::BadSeparator);
        }
        (name.to_ascii_lowercase(), port)
    };
    match port {
        None => Ok(name),
        Some(p) => match p.parse::<u16>() {
            Ok(n) if n > 0 && p.bytes().all(|b| b.is_ascii_digit()) => Ok(format!("{name}:{n}")),
            _ => Err(RefReason::BadPort),
        },
    }
}

fn parse_path(text: &str) -> Result<Vec<String>, (RefPart, String, RefReason)> {
    if text.is_empty() {
        return Err((RefPart::Path, String::new(), RefReason::Empty));
    }
    let parts: Vec<&str> = text.split('/').collect();
    if parts.len() > 3 {
        return Err((
            RefPart::Path,
            text.to_owned(),
            RefReason::TooManyComponents(parts.len()),
        ));
    }
    let roles: &[RefPart] = match parts.len() {
        1 => &[RefPart::Container],
        2 => &[RefPart::Collection, RefPart::Container],
        _ => &[RefPart::Entity, RefPart::Collection, RefPart::Container],
    };
    for (part, role) in parts.iter().zip(roles) {
        name_reason(part).map_err(|reason| (*role, (*part).to_owned(), reason))?;
    }
    Ok(parts.into_iter().map(str::to_owned).collect())
}

fn name_reason(name: &str) -> Result<(), RefReason> {
    if name.is_empty() {
        return Err(RefReason::Empty);
    }
    if name.len() > MAX_NAME {
        return Err(RefReason::TooLong(MAX_NAME));
    }
    if name.chars().any(|c| c.is_ascii_uppercase()) {
        return Err(RefReason::UpperCase);
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || is_sep(*c)))
    {
        return Err(RefReason::InvalidChar(c));
    }
    check_separators(name)
}

fn is_sep(c: char) -> bool {
    matches!(c, '.' | '_' | '-')
}

fn check_separators(s: &str) -> Result<(), RefReason> {
    let bytes = s.as_bytes();
    let first_last_bad = bytes.first().is_some_and(|b| is_sep(*b as char))
        || bytes.last().is_some_and(|b| is_sep(*b as char));
    let doubled = bytes
        .windows(2)
        .any(|w| is_sep(w[0] as char) && is_sep(w[1] as char));
    if first_last_bad || doubled {
        return Err(RefReason::BadSeparator);
    }
    Ok(())
}

fn parse_tags(text: &str) -> Result<Vec<String>, (String, RefReason)> {
    if text.is_empty() {
        return Err((String::new(), RefReason::Empty));
    }
    if text.contains(':') {
        return Err((text.to_owned(), RefReason::TooManyColons));
    }
    let mut tags: Vec<String> = Vec::new();
    for raw in text.split(',') {
        let tag = normalize_tag(raw).map_err(|reason| (raw.to_owned(), reason))?;
        if !tags.contains(&tag) {
            tags.push(tag);
        }
    }
    if tags.len() > 1 {
        if let Some(id) = tags.iter().find(|t| is_image_id(t)) {
            return Err((id.clone(), RefReason::ImageIdWithOtherTags));
        }
    }
    Ok(tags)
}

fn is_image_id(tag: &str) -> bool {
    tag.starts_with("sha256.") || tag.starts_with("sif.")
}

/// Tags follow the OCI rule `[A-Za-z0-9_][A-Za-z0-9._-]{0,127}`: the Go pull regex is
/// lower-case only, but the CLI never applies it and servers accept OCI-style tags, so
/// refusing upper case here would block images that exist.
fn normalize_tag(tag: &str) -> Result<String, RefReason> {
    if tag.is_empty() {
        return Err(RefReason::Empty);
    }
    if let Some(hex) = tag.strip_prefix("sha256.") {
        if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(RefReason::BadImageId);
        }
        // Servers compare hashes as lower-case strings.
        return Ok(format!("sha256.{}", hex.to_ascii_lowercase()));
    }
    if let Some(uuid) = tag.strip_prefix("sif.") {
        if !is_uuid(uuid) {
            return Err(RefReason::BadImageId);
        }
        return Ok(format!("sif.{}", uuid.to_ascii_lowercase()));
    }
    if tag.len() > MAX_TAG {
        return Err(RefReason::TooLong(MAX_TAG));
    }
    if let Some(c) = tag
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || is_sep(*c)))
    {
        return Err(RefReason::InvalidChar(c));
    }
    if tag.starts_with(['.', '-']) {
        return Err(RefReason::BadSeparator);
    }
    Ok(tag.to_owned())
}

fn is_uuid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}
