//! Interop: Apptainer's Go library client (Debian's
//! golang-github-apptainer-container-library-client-dev, built offline in GOPATH mode by
//! `tests/golib/build.sh`) gets, searches, downloads (200 and 303 + ranged parts) and pushes
//! (v2 single-part) against the double, in both flavours. Fails, never skips, when Go or the
//! package is missing: `scripts/setup.sh` installs them.

mod library_support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use berth_testkit::{Flavour, LibraryDouble, LibraryOptions};
use library_support::*;

fn golib() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("golib");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golib/build.sh");
        let res = Command::new("sh").arg(&script).arg(&out).output().unwrap();
        assert!(
            res.status.success(),
            "building the Go interop peer failed (run scripts/setup.sh):\n{}{}",
            String::from_utf8_lossy(&res.stdout),
            String::from_utf8_lossy(&res.stderr)
        );
        out.join("golib")
    })
}

fn run(d: &LibraryDouble, args: &[&str]) -> Vec<String> {
    let res = Command::new(golib())
        .arg(d.url())
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&res.stdout).into_owned();
    assert!(
        res.status.success(),
        "golib failed:\n{stdout}{}",
        String::from_utf8_lossy(&res.stderr)
    );
    stdout.lines().map(str::to_owned).collect()
}

#[test]
fn go_library_client_against_both_flavours() {
    let tmp = tempfile::tempdir().unwrap();
    let data = sif(42, 5000);
    let push_file = tmp.path().join("push.sif");
    let pushed = sif(43, 2500);
    std::fs::write(&push_file, &pushed).unwrap();
    for flavour in [Flavour::Sylabs, Flavour::Hinkskalle] {
        for redirect in [false, true] {
            let d = LibraryDouble::start(LibraryOptions {
                flavour,
                redirect_downloads: redirect,
                ..Default::default()
            })
            .unwrap();
            d.add_user("alice", ALICE);
            let img = d.add_image(
                "alice/pub/alpine",
                data.clone(),
                "amd64",
                &["latest"],
                false,
            );
            d.add_image("alice/pub/alpine", sif(1, 10), "arm64", &["latest"], false);
            let out = tmp.path().join(format!("{flavour:?}-{redirect}.sif"));
            let lines = run(
                &d,
                &[
                    ALICE,
                    "alice/pub/alpine",
                    "latest",
                    "amd64",
                    out.to_str().unwrap(),
                    push_file.to_str().unwrap(),
                    "alice/pushed/thing",
                ],
            );
            let ctx = format!("{flavour:?} redirect={redirect}: {lines:?}");
            assert_eq!(lines[0], "version 2.0.0-alpha.2", "{ctx}");
            assert_eq!(
                lines[1],
                format!("image {} {} {}", img.id, img.hash, data.len()),
                "{ctx}"
            );
            assert_eq!(lines[2], "search 1", "{ctx}");
            assert_eq!(lines[3], format!("downloaded {}", data.len()), "{ctx}");
            assert_eq!(std::fs::read(&out).unwrap(), data, "{ctx}");
            let url = match flavour {
                Flavour::Sylabs => "/library/alice/pushed/thing",
                Flavour::Hinkskalle => "entities/alice/collections/pushed/containers/thing",
            };
            assert!(lines[4].starts_with(&format!("pushed {url} 0 ")), "{ctx}");

            let ranged: Vec<_> = d
                .requests()
                .into_iter()
                .filter(|r| r.path.starts_with("/storage/"))
                .collect();
            if redirect {
                // A 0-1024 probe (1.2.2 learns the size from Content-Range), then
                // 1000-byte parts.
                assert_eq!(ranged.len(), 1 + data.len().div_ceil(1000), "{ctx}");
                assert_eq!(ranged[0].range.as_deref(), Some("bytes=0-1024"), "{ctx}");
                assert!(ranged.iter().all(|r| r.range.is_some()), "{ctx}");
            } else {
                assert!(ranged.is_empty(), "{ctx}");
            }
            let got = d
                .images()
                .into_iter()
                .find(|i| i.path == "alice/pushed/thing")
                .unwrap();
            assert!(got.uploaded, "{ctx}");
            assert_eq!(got.arch, "amd64", "{ctx}");
            assert!(got.tags.contains(&"pushed".to_owned()), "{ctx}: {got:?}");
            assert_eq!(std::fs::read(got.file.unwrap()).unwrap(), pushed, "{ctx}");
            // The delete the Go client sent removed the downloaded image (by tag and arch).
            assert_eq!(lines[5], "deleted", "{ctx}");
            assert!(
                d.requests()
                    .iter()
                    .any(|r| r.method == "DELETE" && r.path.starts_with("/v1/images/")),
                "{ctx}"
            );
            // The Go client sends v2 tags with capitalised keys.
            assert!(
                d.requests().iter().any(|r| r.path.starts_with("/v2/tags/")
                    && r.body
                        .as_deref()
                        .is_some_and(|b| b.contains(r#""Arch":"amd64""#))),
                "{ctx}"
            );
        }
    }
}

#[test]
fn go_client_reports_missing_images_and_broken_downloads() {
    let tmp = tempfile::tempdir().unwrap();
    let d = seeded(Flavour::Sylabs);
    let out = tmp.path().join("x.sif");
    let res = Command::new(golib())
        .args([
            &d.url(),
            ALICE,
            "alice/pub/alpine",
            "latest",
            "ppc64le",
            out.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(!res.status.success());
    assert!(String::from_utf8_lossy(&res.stdout).contains("error image"));

    d.update_options(|o| o.reset_after_bytes = Some(1000));
    let res = Command::new(golib())
        .args([
            &d.url(),
            ALICE,
            "alice/pub/alpine",
            "latest",
            "amd64",
            out.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&res.stdout);
    assert!(!res.status.success(), "{stdout}");
    assert!(stdout.contains("error download"), "{stdout}");
}
