//! The platform to pull, with Apptainer's arch names (oci-to-sif.md §1) and the matching
//! rule of go-containerregistry (§2 step 5).

use std::fmt;

use serde::Deserialize;

use crate::error::{Error, ErrorKind, Result};

/// OS, architecture and optional variant of an image, in OCI spelling (`linux/arm/v7`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Platform {
    /// `linux` for everything Berth pulls.
    pub os: String,
    /// OCI/Go architecture name (`amd64`, `arm64`, `arm`, ...).
    pub architecture: String,
    /// `v7`, `v8`...; `None` matches any variant.
    pub variant: Option<String>,
}

const ACCEPTED: &[&str] = &[
    "arm", "arm64", "amd64", "386", "ppc64le", "s390x", "riscv64", "loong64",
];

impl Platform {
    /// `linux/<arch>[/<variant>]`, normalising the usual aliases (`x86_64`, `aarch64`,
    /// `armhf`, `armel`, `i386`, `arm32v7`, `arm64v8`) and giving numeric variants a `v`.
    pub fn linux(arch: &str, variant: Option<&str>) -> Result<Self> {
        let lower = arch.trim().to_ascii_lowercase();
        let (architecture, implied) = match lower.as_str() {
            "x86_64" | "x86-64" => ("amd64", None),
            "aarch64" => ("arm64", None),
            "armhf" => ("arm", Some("v7")),
            "armel" => ("arm", Some("v6")),
            "i386" | "i686" => ("386", None),
            "arm32v5" => ("arm", Some("v5")),
            "arm32v6" => ("arm", Some("v6")),
            "arm32v7" => ("arm", Some("v7")),
            "arm64v8" => ("arm64", Some("v8")),
            other if ACCEPTED.contains(&other) => (other, None),
            _ => {
                return Err(Error::new(
                    ErrorKind::InputInvalid,
                    format!(
                        "unknown architecture {arch:?}; use one of {}",
                        ACCEPTED.join(", ")
                    ),
                ))
            }
        };
        let variant = variant
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(|v| {
                if v.bytes().all(|b| b.is_ascii_digit()) {
                    format!("v{v}")
                } else {
                    v.to_ascii_lowercase()
                }
            })
            .or(implied.map(str::to_owned));
        Ok(Self {
            os: "linux".to_owned(),
            architecture: architecture.to_owned(),
            variant,
        })
    }

    /// The machine this runs on, as a Linux platform. Falls back to the Rust arch name when
    /// it has no alias (the registry will then report no match, which is the truth).
    pub fn host() -> Self {
        Self::linux(std::env::consts::ARCH, None).unwrap_or_else(|_| Self {
            os: "linux".to_owned(),
            architecture: std::env::consts::ARCH.to_owned(),
            variant: None,
        })
    }

    /// go-containerregistry's rule: OS and architecture equal; the variant only when we ask
    /// for one. An entry without a platform counts as linux/amd64 (handled by the caller).
    pub(crate) fn matches(&self, entry: &IndexPlatform) -> bool {
        entry.os == self.os
            && entry.architecture == self.architecture
            && self
                .variant
                .as_ref()
                .is_none_or(|v| entry.variant.as_deref() == Some(v.as_str()))
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

/// The `platform` member of an index entry.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
pub struct IndexPlatform {
    /// OCI/Go architecture name.
    pub architecture: String,
    /// Usually `linux`.
    pub os: String,
    /// `v7`, `v8`...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// Windows builds.
    #[serde(
        rename = "os.version",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub os_version: Option<String>,
}

impl fmt::Display for IndexPlatform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_arch_names() {
        let p = |a: &str, v: Option<&str>| Platform::linux(a, v).unwrap().to_string();
        assert_eq!(p("x86_64", None), "linux/amd64");
        assert_eq!(p("amd64", None), "linux/amd64");
        assert_eq!(p("aarch64", None), "linux/arm64");
        assert_eq!(p("armhf", None), "linux/arm/v7");
        assert_eq!(p("armel", None), "linux/arm/v6");
        assert_eq!(p("i386", None), "linux/386");
        assert_eq!(p("arm", Some("7")), "linux/arm/v7");
        assert_eq!(p("arm", Some("v6")), "linux/arm/v6");
        assert_eq!(p("arm32v5", None), "linux/arm/v5");
        assert_eq!(p("arm64v8", None), "linux/arm64/v8");
        assert_eq!(p("arm64", Some("8")), "linux/arm64/v8");
        assert_eq!(p("riscv64", None), "linux/riscv64");
        let e = Platform::linux("sparc", None).unwrap_err();
        assert_eq!(e.code(), "input.invalid");
        assert_eq!(Platform::host().os, "linux");
    }

    #[test]
    fn variant_only_matters_when_asked() {
        let entry = |a: &str, v: Option<&str>| IndexPlatform {
            architecture: a.into(),
            os: "linux".into(),
            variant: v.map(Into::into),
            os_version: None,
        };
        let arm = Platform::linux("arm", None).unwrap();
        assert!(arm.matches(&entry("arm", Some("v6"))));
        let armv7 = Platform::linux("arm", Some("7")).unwrap();
        assert!(!armv7.matches(&entry("arm", Some("v6"))));
        assert!(armv7.matches(&entry("arm", Some("v7"))));
        assert!(!armv7.matches(&entry("arm", None)));
        assert!(!Platform::linux("amd64", None)
            .unwrap()
            .matches(&entry("arm64", None)));
    }
}
