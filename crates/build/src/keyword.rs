//! Header keywords and bootstrap agents that Apptainer knows.

/// Header keywords the bootstrap agents read, lower case (keywords are case-insensitive).
/// Anything else is kept and warned about, not rejected: agents grow new keywords.
pub(crate) const HEADER_KEYS: &[&str] = &[
    "bootstrap",
    "from",
    "stage",
    "fingerprints",
    "registry",
    "namespace",
    "includecmd",
    "mirrorurl",
    "updateurl",
    "osversion",
    "include",
    "library",
    "confurl",
    "setopt",
    "product",
    "user",
    "regcode",
    "productpgp",
    "registerurl",
    "modules",
];

/// Whether `key` (any case) is a known header keyword. `OtherURL0`, `OtherURL1`, … are a
/// numbered family (extra repositories for yum), so they are matched by prefix.
pub(crate) fn is_known_header_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    if let Some(n) = key.strip_prefix("otherurl") {
        return !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit());
    }
    HEADER_KEYS.contains(&key.as_str())
}

/// Bootstrap agents, lower case (the value is matched case-insensitively).
pub const BOOTSTRAP_AGENTS: &[&str] = &[
    "docker",
    "docker-archive",
    "docker-daemon",
    "library",
    "localimage",
    "oras",
    "oci",
    "oci-archive",
    "scratch",
    "shub",
    "busybox",
    "debootstrap",
    "yum",
    "zypper",
    "arch",
];

/// Agents whose base Berth can fetch or open in-process, without a root-owned chroot: with
/// no section that runs inside the container, such a stage can be built locally.
pub const LOCAL_AGENTS: &[&str] = &["docker", "library", "oras", "localimage", "scratch"];
