//! Signatures cross both ways between Berth and the reference implementation: `sifsig`
//! (tests/interop, over Debian's sylabs/sif 2.8.3 Go sources) verifies what `berth sign`
//! wrote, and `berth verify` accepts what the reference signed.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

fn testdata() -> PathBuf {
    std::env::var_os("BERTH_TESTDATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata/sif")
        })
}

/// The reference program, built once per test run (offline GOPATH build, ~10 s cold).
fn sifsig() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("sifsig");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/interop/build.sh");
        let status = Command::new("sh").arg(&script).arg(&out).status().expect("run tests/interop/build.sh");
        assert!(status.success(), "building the reference program failed (scripts/setup.sh test installs Go and sylabs/sif)");
        out.join("sifsig")
    })
}

struct Keys(tempfile::TempDir);

impl Keys {
    fn new() -> Self {
        Keys(tempfile::tempdir().expect("tempdir"))
    }

    fn berth(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_berth"))
            .args(args)
            .env("APPTAINER_KEYSDIR", self.0.path())
            // Berth's own settings (keyservers) stay in the test's directory too.
            .env("BERTH_CONFIG_DIR", self.0.path().join("berth"))
            .output()
            .expect("run berth")
    }
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "failed ({:?}):\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn copy_image(dir: &Path, name: &str) -> PathBuf {
    let dst = dir.join(name);
    std::fs::copy(testdata().join("images/sylabs-sif").join(name), &dst).expect("copy");
    let mut perms = std::fs::metadata(&dst).expect("meta").permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o644);
    std::fs::set_permissions(&dst, perms).expect("chmod");
    dst
}

const SYLABS_FPR: &str = "12045C8C0B1004D058DE4BEDA20C27EE7FF7BA84";

#[test]
fn the_reference_verifies_what_berth_signed() {
    let keys = Keys::new();
    let key = testdata().join("keys/sylabs-sif/private.asc");
    ok(&keys.berth(&["key", "import", key.to_str().expect("path")]));
    let dir = tempfile::tempdir().expect("tempdir");
    let img = copy_image(dir.path(), "two-groups.sif");
    ok(&keys.berth(&["sign", "--keyidx", "0", img.to_str().expect("path")]));

    let out = Command::new(sifsig())
        .args([
            "verify",
            "--keyring",
            key.to_str().expect("path"),
            img.to_str().expect("path"),
        ])
        .output()
        .expect("run sifsig");
    let text = ok(&out);
    assert!(
        text.contains(&format!("OK sig=4 objects=1,2 signer={SYLABS_FPR}")),
        "{text}"
    );
    assert!(
        text.contains(&format!("OK sig=5 objects=3 signer={SYLABS_FPR}")),
        "{text}"
    );
}

#[test]
fn the_reference_verifies_a_key_pair_berth_made() {
    let keys = Keys::new();
    let dir = tempfile::tempdir().expect("tempdir");
    let pass = dir.path().join("pass");
    std::fs::write(&pass, "s3cret words\n").expect("write");
    let pass_s = pass.to_str().expect("path");
    ok(&keys.berth(&[
        "key",
        "newpair",
        "--name",
        "Interop Test",
        "--email",
        "interop@example.org",
        "--algorithm",
        "ed25519",
        "--passphrase-file",
        pass_s,
    ]));
    let list = ok(&keys.berth(&["key", "list", "--secret"]));
    let fpr = list
        .lines()
        .find_map(|l| l.trim().strip_prefix("F: "))
        .expect("a fingerprint line")
        .to_owned();
    let public = dir.path().join("public.asc");
    ok(&keys.berth(&[
        "key",
        "export",
        "--armor",
        &fpr,
        public.to_str().expect("path"),
    ]));

    let img = copy_image(dir.path(), "one-group.sif");
    ok(&keys.berth(&[
        "sign",
        "--passphrase-file",
        pass_s,
        img.to_str().expect("path"),
    ]));
    let text = ok(&Command::new(sifsig())
        .args([
            "verify",
            "--keyring",
            public.to_str().expect("path"),
            img.to_str().expect("path"),
        ])
        .output()
        .expect("run sifsig"));
    assert!(
        text.contains(&format!("OK sig=3 objects=1,2 signer={fpr}")),
        "{text}"
    );

    // A wrong passphrase signs nothing and leaves the image as it was.
    let before = std::fs::read(&img).expect("read");
    let bad = dir.path().join("bad");
    std::fs::write(&bad, "not it\n").expect("write");
    let out = keys.berth(&[
        "sign",
        "--passphrase-file",
        bad.to_str().expect("path"),
        img.to_str().expect("path"),
    ]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .to_lowercase()
            .contains("passphrase"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(std::fs::read(&img).expect("read"), before);
}

#[test]
fn berth_verifies_what_the_reference_signed_and_sees_tampering() {
    let keys = Keys::new();
    let key = testdata().join("keys/sylabs-sif/private.asc");
    let key_s = key.to_str().expect("path");
    let dir = tempfile::tempdir().expect("tempdir");
    let img = copy_image(dir.path(), "two-groups.sif");
    let img_s = img.to_str().expect("path");
    ok(&Command::new(sifsig())
        .args(["sign", "--key", key_s, img_s])
        .output()
        .expect("run sifsig"));

    let text = ok(&keys.berth(&["verify", "--keyring", key_s, img_s]));
    assert!(
        text.contains("Signing entity: Unit Test <unit@test.com>"),
        "{text}"
    );
    assert!(
        text.contains(&format!("Fingerprint: {SYLABS_FPR}")),
        "{text}"
    );
    assert!(text.contains("Objects verified:"), "{text}");

    // Without the key in any keyring (and no keyserver): exit status 255, the reference's words.
    let out = keys.berth(&["verify", "--local", img_s]);
    assert_eq!(out.status.code(), Some(255));
    assert!(String::from_utf8_lossy(&out.stderr).contains("signature made by unknown entity"));

    // One byte of object 3 (the ext3 partition at 40960) changed on disk.
    let mut bytes = std::fs::read(&img).expect("read");
    bytes[40960 + 1024] ^= 0xff;
    std::fs::write(&img, &bytes).expect("write");
    let out = keys.berth(&["verify", "--keyring", key_s, img_s]);
    assert_eq!(out.status.code(), Some(255));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("integrity: data object integrity compromised: 3"),
        "{stderr}"
    );
    // And the reference agrees.
    let reference = Command::new(sifsig())
        .args(["verify", "--keyring", key_s, img_s])
        .output()
        .expect("run sifsig");
    assert!(
        String::from_utf8_lossy(&reference.stderr).contains("data object integrity compromised: 3")
    );
}
