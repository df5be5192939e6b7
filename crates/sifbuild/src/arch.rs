//! The architecture of the container's programs, from their ELF headers (oci-to-sif.md
//! §7.1): the SIF partition arch follows the binaries, not what was asked for.

use std::io::Read;

use crate::tree::{clean, Kind, Node, RootFs};

const EM_386: u16 = 3;
const EM_MIPS: u16 = 8;
const EM_486: u16 = 6;
const EM_PPC64: u16 = 21;
const EM_S390: u16 = 22;
const EM_ARM: u16 = 40;
const EM_X86_64: u16 = 62;
const EM_AARCH64: u16 = 183;
const EM_RISCV: u16 = 243;
const EM_LOONGARCH: u16 = 258;

/// The Go architecture name for an ELF identification, if it is one Apptainer knows.
pub fn elf_arch(header: &[u8]) -> Option<&'static str> {
    if header.len() < 20 || &header[..4] != b"\x7fELF" {
        return None;
    }
    let is64 = match header[4] {
        1 => false,
        2 => true,
        _ => return None,
    };
    let le = match header[5] {
        1 => true,
        2 => false,
        _ => return None,
    };
    let bytes = [header[18], header[19]];
    let machine = if le {
        u16::from_le_bytes(bytes)
    } else {
        u16::from_be_bytes(bytes)
    };
    Some(match (machine, is64, le) {
        (EM_386 | EM_486, false, true) => "386",
        (EM_X86_64, _, _) => "amd64",
        (EM_ARM, false, true) => "arm",
        (EM_AARCH64, true, true) => "arm64",
        (EM_S390, true, false) => "s390x",
        (EM_PPC64, true, true) => "ppc64le",
        (EM_PPC64, _, false) => "ppc64",
        (EM_MIPS, false, false) => "mips",
        (EM_MIPS, false, true) => "mipsle",
        (EM_MIPS, true, false) => "mips64",
        (EM_MIPS, true, true) => "mips64le",
        (EM_RISCV, _, _) => "riscv64",
        (EM_LOONGARCH, _, _) => "loong64",
        _ => return None,
    })
}

fn node_arch(root: &RootFs, node: &Node) -> Option<&'static str> {
    let Kind::File { offset, len } = node.kind else {
        return None;
    };
    let mut header = Vec::with_capacity(20);
    root.range_reader(offset, len.min(20))
        .read_to_end(&mut header)
        .ok()?;
    elf_arch(&header)
}

/// The arch of `/bin/sh` (symlinks resolved inside the tree), else of the first executable
/// ELF file in path order; `None` when there is no ELF program at all (the caller then
/// uses the host's arch).
pub fn detect_arch(root: &RootFs) -> Option<String> {
    let sh = root.resolve(&clean(b"bin/sh"), true).ok();
    if let Some(arch) = sh
        .and_then(|p| root.lookup(&p))
        .and_then(|n| node_arch(root, n))
    {
        return Some(arch.to_owned());
    }
    fn walk(root: &RootFs, node: &Node) -> Option<&'static str> {
        match &node.kind {
            Kind::Dir(children) => children.values().find_map(|c| walk(root, c)),
            Kind::File { .. } if node.mode & 0o111 != 0 => node_arch(root, node),
            _ => None,
        }
    }
    walk(root, &root.root).map(str::to_owned)
}
