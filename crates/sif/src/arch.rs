//! Architecture codes (spec §3.1): two ASCII digits and a NUL, named like Go's `GOARCH`.

use std::fmt;

use crate::error::{Error, Result};

/// Code/name table; index 0 is the "unknown" code the writer stores when there is no
/// primary partition.
const TABLE: [(&[u8; 2], &str); 14] = [
    (b"00", "unknown"),
    (b"01", "386"),
    (b"02", "amd64"),
    (b"03", "arm"),
    (b"04", "arm64"),
    (b"05", "ppc64"),
    (b"06", "ppc64le"),
    (b"07", "mips"),
    (b"08", "mipsle"),
    (b"09", "mips64"),
    (b"10", "mips64le"),
    (b"11", "s390x"),
    (b"12", "riscv64"),
    (b"13", "loong64"),
];

/// An architecture as stored in the header and in partition metadata.
///
/// The three stored bytes are kept verbatim so that an image is written back exactly as it
/// was read, even when the code is not in the table (it then reads as "unknown").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Arch([u8; 3]);

impl Arch {
    /// No architecture (`00`), as stored when there is no primary partition.
    pub const UNKNOWN: Arch = Arch(*b"00\0");
    /// `386`
    pub const I386: Arch = Arch(*b"01\0");
    /// `amd64`
    pub const AMD64: Arch = Arch(*b"02\0");
    /// `arm`
    pub const ARM: Arch = Arch(*b"03\0");
    /// `arm64`
    pub const ARM64: Arch = Arch(*b"04\0");
    /// `ppc64`
    pub const PPC64: Arch = Arch(*b"05\0");
    /// `ppc64le`
    pub const PPC64LE: Arch = Arch(*b"06\0");
    /// `mips`
    pub const MIPS: Arch = Arch(*b"07\0");
    /// `mipsle`
    pub const MIPSLE: Arch = Arch(*b"08\0");
    /// `mips64`
    pub const MIPS64: Arch = Arch(*b"09\0");
    /// `mips64le`
    pub const MIPS64LE: Arch = Arch(*b"10\0");
    /// `s390x`
    pub const S390X: Arch = Arch(*b"11\0");
    /// `riscv64`
    pub const RISCV64: Arch = Arch(*b"12\0");
    /// `loong64`
    pub const LOONG64: Arch = Arch(*b"13\0");

    /// The architecture with this two-digit code. Codes outside the table are kept and read
    /// as "unknown".
    pub fn from_code(code: &[u8; 2]) -> Arch {
        Arch([code[0], code[1], 0])
    }

    /// The architecture with this Go name (`amd64`, `arm64`, ...). "unknown" and names
    /// outside the table are rejected, since no partition may be written with them.
    pub fn from_go_name(name: &str) -> Result<Arch> {
        TABLE
            .iter()
            .skip(1)
            .find(|(_, n)| *n == name)
            .map(|(code, _)| Arch::from_code(code))
            .ok_or_else(|| Error::UnknownArch(name.to_owned()))
    }

    /// The architecture this program was compiled for, "unknown" if it has no SIF code.
    pub fn host() -> Arch {
        let little = cfg!(target_endian = "little");
        let name = match std::env::consts::ARCH {
            "x86" => "386",
            "x86_64" => "amd64",
            "arm" => "arm",
            "aarch64" => "arm64",
            "powerpc64" if little => "ppc64le",
            "powerpc64" => "ppc64",
            "mips" if little => "mipsle",
            "mips" => "mips",
            "mips64" if little => "mips64le",
            "mips64" => "mips64",
            "s390x" => "s390x",
            "riscv64" => "riscv64",
            "loongarch64" => "loong64",
            _ => return Arch::UNKNOWN,
        };
        Arch::from_go_name(name).unwrap_or(Arch::UNKNOWN)
    }

    /// The two code digits.
    pub fn code(&self) -> [u8; 2] {
        [self.0[0], self.0[1]]
    }

    /// The Go name, or "unknown" for `00` and for codes outside the table.
    pub fn go_name(&self) -> &'static str {
        if self.0[2] != 0 {
            return "unknown";
        }
        TABLE
            .iter()
            .find(|(code, _)| **code == self.code())
            .map_or("unknown", |(_, name)| name)
    }

    /// Whether the code names a real architecture.
    pub fn is_known(&self) -> bool {
        self.go_name() != "unknown"
    }

    /// The three bytes as stored.
    pub(crate) fn to_bytes(self) -> [u8; 3] {
        self.0
    }

    /// Wraps three stored bytes verbatim.
    pub(crate) fn from_bytes(bytes: [u8; 3]) -> Arch {
        Arch(bytes)
    }
}

impl Default for Arch {
    fn default() -> Self {
        Arch::UNKNOWN
    }
}

impl fmt::Display for Arch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.go_name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_round_trips() {
        for (code, name) in TABLE.iter().skip(1) {
            let arch = Arch::from_go_name(name).unwrap();
            assert_eq!(&arch.code(), *code);
            assert_eq!(arch.go_name(), *name);
            assert_eq!(Arch::from_code(code), arch);
        }
        assert_eq!(Arch::from_go_name("loong64").unwrap().code(), *b"13");
    }

    #[test]
    fn unknown_codes() {
        assert_eq!(Arch::from_code(b"00").go_name(), "unknown");
        assert_eq!(Arch::from_code(b"99").go_name(), "unknown");
        assert_eq!(Arch::from_bytes(*b"02x").go_name(), "unknown");
        assert!(!Arch::from_code(b"14").is_known());
        assert!(matches!(
            Arch::from_go_name("unknown"),
            Err(Error::UnknownArch(_))
        ));
        assert!(matches!(
            Arch::from_go_name("x86_64"),
            Err(Error::UnknownArch(_))
        ));
        assert_eq!(Arch::AMD64.to_string(), "amd64");
    }

    #[test]
    fn host_is_known_on_common_targets() {
        if cfg!(any(target_arch = "x86_64", target_arch = "aarch64")) {
            assert!(Arch::host().is_known());
        }
    }
}
