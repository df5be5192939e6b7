//! `berth push`, `berth pull` and `berth cache` against the Library API double, with the
//! token in a real Secret Service (private D-Bus session): the seed's output, refusals with
//! hints, the cache, an existing file kept, and a full disk (a file-size limit) failing
//! cleanly.

use std::path::Path;
use std::process::Command;

use berth_testkit::{Flavour, LibraryDouble, LibraryOptions};

const TOKEN: &str = "cli-transfer-token-9f2";

#[test]
fn push_pull_cache_and_a_full_disk() {
    let double = LibraryDouble::start(LibraryOptions {
        flavour: Flavour::Sylabs,
        ..LibraryOptions::default()
    })
    .expect("double");
    double.add_user("ada", TOKEN);
    let dir = tempfile::tempdir().expect("tempdir");
    let image = dir.path().join("busybox.sif");
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/testdata/sif/images/apptainer-e2e/busybox_amd64.sif"),
        &image,
    )
    .expect("copy");
    let tokenfile = dir.path().join("token");
    std::fs::write(&tokenfile, format!("{TOKEN}\n")).expect("write");
    let out = dir.path().join("out");
    std::fs::create_dir(&out).expect("mkdir");
    let script = format!(
        "b={berth}
         $b remote add lab {url} --insecure || exit 1
         $b remote login lab --tokenfile {token} || exit 2
         echo ---refused; $b push {image} library://ada/tools/bb:1.0 2>&1 && exit 3
         echo ---push; $b push -U -D 'BusyBox 1.36' {image} library://ada/tools/bb:1.0,latest || exit 4
         echo ---pull; $b pull {out}/bb.sif library://ada/tools/bb:1.0 2>&1 || exit 5
         cmp {image} {out}/bb.sif || exit 6
         echo ---exists; $b pull {out}/bb.sif library://ada/tools/bb:1.0 2>&1 && exit 7
         echo ---force; $b pull -F {out}/bb.sif library://ada/tools/bb:latest 2>&1 || exit 8
         echo ---list; $b cache list || exit 9
         echo ---dry; $b cache clean --dry-run || exit 10
         $b cache list | grep -q sha256 || exit 11
         $b cache clean >/dev/null || exit 12
         echo ---full; sh -c \"trap '' XFSZ; ulimit -f 100; exec $b pull {out}/full.sif library://ada/tools/bb:1.0\" 2>&1 && exit 13
         test -e {out}/full.sif && exit 14
         echo ---after; $b pull {out}/full.sif library://ada/tools/bb:1.0 2>&1 || exit 15
         cmp {image} {out}/full.sif || exit 16
         echo ---end",
        berth = env!("CARGO_BIN_EXE_berth"),
        url = double.url(),
        token = tokenfile.display(),
        image = image.display(),
        out = out.display(),
    );
    let run = Command::new("sh")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("../core/tests/with-keyring.sh"))
        .args(["sh", "-c", &script])
        .env("BERTH_CONFIG_DIR", dir.path().join("config"))
        .env("APPTAINER_KEYSDIR", dir.path().join("keys"))
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&run.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        run.status.success(),
        "status {:?}\nstdout:\n{stdout}\nstderr:\n{stderr}",
        run.status
    );
    let part = |name: &str| {
        let rest = &stdout[stdout.find(name).expect(name) + name.len()..];
        rest[..rest.find("---").unwrap_or(rest.len())].to_owned()
    };
    let refused = part("---refused");
    assert!(
        refused.contains("Hint:") && refused.contains("--allow-unsigned"),
        "{refused}"
    );
    let push = part("---push");
    assert!(
        push.contains("Library storage: using 773.72 KiB out of unlimited quota"),
        "{push}"
    );
    assert!(
        push.contains(&format!(
            "Container URL: {}/library/ada/tools/bb",
            double.url()
        )),
        "{push}"
    );
    assert!(part("---pull").contains("Pulled library://ada/tools/bb:1.0"));
    assert!(part("---exists").contains("already exists"));
    assert!(part("---force").contains("(from the cache)"));
    assert!(part("---list").contains("library://ada/tools/bb:latest"));
    assert!(part("---dry").contains("Would free 773.72 KiB in 1 images"));
    let full = part("---full");
    assert!(
        full.contains("File too large") || full.contains("No space"),
        "{full}"
    );
    assert!(full.contains("Hint: Free some space"), "{full}");
    let img = double.images();
    assert_eq!(img.len(), 1);
    assert_eq!(img[0].description, "BusyBox 1.36");
}
