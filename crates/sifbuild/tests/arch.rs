//! Architecture detection from ELF headers (oci-to-sif.md §7.1).

use berth_sifbuild::{detect_arch, elf_arch, RootFs};

/// A minimal ELF identification: magic, class, data, version, padding, e_type, e_machine.
fn elf(is64: bool, le: bool, machine: u16) -> Vec<u8> {
    let mut h = vec![
        0x7f,
        b'E',
        b'L',
        b'F',
        if is64 { 2 } else { 1 },
        if le { 1 } else { 2 },
        1,
    ];
    h.resize(16, 0);
    let two = |v: u16| if le { v.to_le_bytes() } else { v.to_be_bytes() };
    h.extend_from_slice(&two(2));
    h.extend_from_slice(&two(machine));
    h.resize(64, 0);
    h
}

#[test]
fn busybox_static_is_amd64() {
    let dir = tempfile::tempdir().unwrap();
    let mut root = RootFs::new(dir.path()).unwrap();
    let busybox =
        std::fs::read("/bin/busybox").expect("busybox-static must be installed (/bin/busybox)");
    // A merged-/usr layout: /bin is a symlink and /bin/sh an absolute link.
    root.add_file("usr/bin/busybox", 0o755, &busybox).unwrap();
    root.add_symlink("bin", "usr/bin").unwrap();
    root.add_symlink("usr/bin/sh", "/bin/busybox").unwrap();
    assert_eq!(detect_arch(&root).as_deref(), Some("amd64"));
}

#[test]
fn header_table() {
    assert_eq!(elf_arch(&elf(true, true, 183)), Some("arm64"));
    assert_eq!(elf_arch(&elf(true, true, 21)), Some("ppc64le"));
    assert_eq!(elf_arch(&elf(true, false, 22)), Some("s390x"));
    assert_eq!(elf_arch(&elf(false, true, 3)), Some("386"));
    assert_eq!(elf_arch(&elf(false, true, 40)), Some("arm"));
    assert_eq!(elf_arch(&elf(true, true, 62)), Some("amd64"));
    assert_eq!(elf_arch(&elf(true, true, 243)), Some("riscv64"));
    assert_eq!(elf_arch(&elf(true, true, 258)), Some("loong64"));
    assert_eq!(elf_arch(&elf(false, false, 8)), Some("mips"));
    assert_eq!(elf_arch(&elf(true, true, 8)), Some("mips64le"));
    assert_eq!(elf_arch(&elf(true, true, 9999)), None);
    assert_eq!(elf_arch(b"#!/bin/sh\n"), None);
    assert_eq!(elf_arch(&elf(true, true, 183)[..10]), None);
}

#[test]
fn tree_lookup_order() {
    let dir = tempfile::tempdir().unwrap();
    let mut root = RootFs::new(dir.path()).unwrap();
    assert_eq!(detect_arch(&root), None);
    // Not executable: ignored by the fallback walk.
    root.add_file("a/lib.so", 0o644, &elf(true, false, 22))
        .unwrap();
    root.add_file("b/tool", 0o755, b"#!/bin/sh\n").unwrap();
    assert_eq!(detect_arch(&root), None);
    root.add_file("c/prog", 0o755, &elf(true, true, 183))
        .unwrap();
    root.add_file("d/prog", 0o755, &elf(true, true, 21))
        .unwrap();
    assert_eq!(detect_arch(&root).as_deref(), Some("arm64"));
    // /bin/sh wins over the walk, even without the executable bit.
    root.add_file("bin/sh", 0o644, &elf(false, true, 3))
        .unwrap();
    assert_eq!(detect_arch(&root).as_deref(), Some("386"));
    // A /bin/sh that is not ELF falls back to the walk.
    root.add_file("bin/sh", 0o755, b"#!/bin/busybox sh\n")
        .unwrap();
    assert_eq!(detect_arch(&root).as_deref(), Some("arm64"));
}
