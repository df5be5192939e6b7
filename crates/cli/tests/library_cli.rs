//! `berth remote login|status`, `berth search`, `berth delete` against the Library API
//! double, with the token in a real Secret Service (private D-Bus session).

use std::path::Path;
use std::process::Command;

use berth_testkit::{Flavour, LibraryDouble, LibraryOptions};

const TOKEN: &str = "cli-token-5a8e0c";

#[test]
fn login_status_search_delete_logout() {
    let double = LibraryDouble::start(LibraryOptions {
        flavour: Flavour::Hinkskalle,
        ..LibraryOptions::default()
    })
    .expect("double");
    double.add_user("ada", TOKEN);
    let sif = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/testdata/sif/images/sylabs-sif/one-group.sif"),
    )
    .expect("image");
    let info = double.add_image(
        "library://ada/tools/hello:latest",
        sif,
        "amd64",
        &["latest"],
        true,
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let tokenfile = dir.path().join("token");
    std::fs::write(&tokenfile, format!("{TOKEN}\n")).expect("write");
    let bad = dir.path().join("bad");
    std::fs::write(&bad, "nope\n").expect("write");
    let script = format!(
        "b={berth}
         $b remote add lab {url} --insecure || exit 1
         $b remote login lab --tokenfile {bad} && exit 2
         echo ---before; $b remote status lab
         $b remote login lab --tokenfile {good} || exit 3
         $b remote login lab --tokenfile {bad} 2>/dev/null && exit 7
         $b remote login lab --tokenfile {good} --replace || exit 8
         echo ---status; $b remote status lab
         echo ---search; $b search hello || exit 4
         $b delete 'library://ada/tools/hello:{hash}' --arch amd64 || exit 5
         echo ---after; $b search hello
         $b remote logout lab || exit 6",
        berth = env!("CARGO_BIN_EXE_berth"),
        url = double.url(),
        bad = bad.display(),
        good = tokenfile.display(),
        hash = info.hash,
    );
    let out = Command::new("sh")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("../core/tests/with-keyring.sh"))
        .args(["sh", "-c", &script])
        .env("BERTH_CONFIG_DIR", dir.path().join("config"))
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "status {:?}\nstdout:\n{stdout}\nstderr:\n{stderr}",
        out.status
    );
    assert!(stderr.contains("refused this token"), "{stderr}");
    let part = |name: &str| {
        let rest = &stdout[stdout.find(name).expect(name) + name.len()..];
        rest[..rest.find("---").unwrap_or(rest.len())].to_owned()
    };
    assert!(
        part("---before").contains("Token: none stored"),
        "a refused token is not stored"
    );
    let status = part("---status");
    assert!(
        status.contains("library") && status.contains("OK (version"),
        "{status}"
    );
    assert!(status.contains("Token: valid"), "{status}");
    assert!(part("---search").contains("library://"), "{stdout}");
    assert!(
        part("---after").contains("No results") || !part("---after").contains(&info.hash),
        "{stdout}"
    );
    assert!(!stdout.contains(TOKEN) && !stderr.contains(TOKEN));
}
