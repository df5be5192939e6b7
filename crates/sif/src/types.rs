//! The numeric codes stored in descriptors (spec §5, §6) and their printed names.
//!
//! Every enum keeps unknown codes in an `Unknown(i32)` variant so that a value read from a
//! file is written back unchanged.

/// Defines a code enum: variants with fixed i32 codes and siftool names, plus `Unknown`.
macro_rules! code_enum {
    (
        $(#[$meta:meta])*
        $name:ident, unknown = $unknown_name:literal {
            $( $(#[$vmeta:meta])* $variant:ident = $code:literal => $text:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
            /// A code outside the known table, kept as stored.
            Unknown(i32),
        }

        impl $name {
            /// The code as stored in the file.
            pub fn code(self) -> i32 {
                match self {
                    $( Self::$variant => $code, )+
                    Self::Unknown(code) => code,
                }
            }

            /// Maps a stored code to its variant (`Unknown` for anything else).
            pub fn from_code(code: i32) -> Self {
                match code {
                    $( $code => Self::$variant, )+
                    other => Self::Unknown(other),
                }
            }

            /// The name `siftool` prints for this value.
            pub fn siftool_name(self) -> &'static str {
                match self {
                    $( Self::$variant => $text, )+
                    Self::Unknown(_) => $unknown_name,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.siftool_name())
            }
        }
    };
}

code_enum! {
    /// The kind of a data object (descriptor offset 0).
    DataType, unknown = "Unknown" {
        /// Definition file (recipe) text.
        Deffile = 0x4001 => "Def.FILE",
        /// Environment variables.
        EnvVar = 0x4002 => "Env.Vars",
        /// JSON labels.
        Labels = 0x4003 => "JSON.Labels",
        /// File-system partition.
        Partition = 0x4004 => "FS",
        /// Signature block.
        Signature = 0x4005 => "Signature",
        /// Generic JSON.
        GenericJson = 0x4006 => "JSON.Generic",
        /// Generic raw data.
        Generic = 0x4007 => "Generic/Raw",
        /// Cryptographic message (e.g. a wrapped key).
        CryptoMessage = 0x4008 => "Cryptographic Message",
        /// Software bill of materials.
        Sbom = 0x4009 => "SBOM",
        /// Root OCI image index.
        OciRootIndex = 0x400A => "OCI.RootIndex",
        /// OCI blob.
        OciBlob = 0x400B => "OCI.Blob",
    }
}

code_enum! {
    /// File-system type of a partition.
    FsType, unknown = "Unknown" {
        /// Read-only squashfs.
        Squashfs = 1 => "Squashfs",
        /// Read-write ext3 (deprecated).
        Ext3 = 2 => "Ext3",
        /// Immutable object archive.
        ImmuObj = 3 => "Archive",
        /// Raw data.
        Raw = 4 => "Raw",
        /// dm-crypt/LUKS container holding a squashfs.
        EncryptedSquashfs = 5 => "Encrypted squashfs",
        /// gocryptfs-encrypted squashfs (Apptainer's fork only).
        GocryptfsSquashfs = 6 => "Gocryptfs squashfs",
    }
}

code_enum! {
    /// Role of a partition.
    PartType, unknown = "Unknown" {
        /// A system partition.
        System = 1 => "System",
        /// The primary system partition: the root file system.
        PrimSys = 2 => "*System",
        /// A data partition.
        Data = 3 => "Data",
        /// An overlay partition.
        Overlay = 4 => "Overlay",
    }
}

code_enum! {
    /// Hash algorithm recorded in a signature descriptor.
    HashType, unknown = "Unknown" {
        /// SHA-256.
        Sha256 = 1 => "SHA-256",
        /// SHA-384.
        Sha384 = 2 => "SHA-384",
        /// SHA-512.
        Sha512 = 3 => "SHA-512",
        /// BLAKE2s-256.
        Blake2s256 = 4 => "BLAKE2s-256",
        /// BLAKE2b-256.
        Blake2b256 = 5 => "BLAKE2b-256",
    }
}

code_enum! {
    /// Format of a cryptographic message.
    FormatType, unknown = "Unknown" {
        /// OpenPGP.
        OpenPgp = 1 => "OpenPGP",
        /// PEM.
        Pem = 2 => "PEM",
    }
}

code_enum! {
    /// Kind of a cryptographic message.
    MessageType, unknown = "Unknown" {
        /// OpenPGP clear signature.
        ClearSignature = 0x100 => "Clear Signature",
        /// RSA-OAEP encrypted data (PEM).
        RsaOaep = 0x200 => "RSA-OAEP",
    }
}

code_enum! {
    /// Format of a software bill of materials.
    SbomFormat, unknown = "unknown" {
        /// CycloneDX JSON.
        CycloneDxJson = 1 => "cyclonedx-json",
        /// CycloneDX XML.
        CycloneDxXml = 2 => "cyclonedx-xml",
        /// GitHub dependency snapshot JSON.
        GithubJson = 3 => "github-json",
        /// SPDX JSON.
        SpdxJson = 4 => "spdx-json",
        /// SPDX RDF.
        SpdxRdf = 5 => "spdx-rdf",
        /// SPDX tag-value.
        SpdxTagValue = 6 => "spdx-tag-value",
        /// SPDX YAML.
        SpdxYaml = 7 => "spdx-yaml",
        /// Syft JSON.
        SyftJson = 8 => "syft-json",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for code in [0, 1, 0x4001, 0x400B, 0x400C, -1, i32::MAX] {
            assert_eq!(DataType::from_code(code).code(), code);
            assert_eq!(FsType::from_code(code).code(), code);
            assert_eq!(SbomFormat::from_code(code).code(), code);
        }
    }

    #[test]
    fn names() {
        assert_eq!(DataType::from_code(0x400A).siftool_name(), "OCI.RootIndex");
        assert_eq!(DataType::from_code(0x5000).to_string(), "Unknown");
        assert_eq!(PartType::PrimSys.to_string(), "*System");
        assert_eq!(FsType::ImmuObj.to_string(), "Archive");
        assert_eq!(SbomFormat::from_code(9).to_string(), "unknown");
        assert_eq!(MessageType::RsaOaep.to_string(), "RSA-OAEP");
    }
}
