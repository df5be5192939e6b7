//! The `berth-library-double` binary: URL on the first stdout line, seed directory, flags.

mod library_support;

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};

use library_support::*;

struct Killed(std::process::Child);
impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(args: &[&str]) -> (Killed, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_berth-library-double"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    (Killed(child), line.trim().to_owned())
}

#[test]
fn serves_a_seed_directory() {
    let dir = tempfile::tempdir().unwrap();
    let data = sif(5, 3000);
    std::fs::write(dir.path().join("a.sif"), &data).unwrap();
    std::fs::write(
        dir.path().join("seed.json"),
        r#"{"users":[{"name":"alice","token":"tok-alice","quota":100000}],
            "images":[{"ref":"library://alice/pub/alpine","file":"a.sif","arch":"arm64","tags":["latest","1.0"]},
                      {"ref":"alice/priv/secret","file":"a.sif","arch":"amd64","private":true}]}"#,
    )
    .unwrap();
    let (_child, url) = start(&[
        "--flavour",
        "hinkskalle",
        "--seed",
        dir.path().to_str().unwrap(),
    ]);
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let c = client();
    let r = c
        .get(format!(
            "{url}/v1/imagefile/alice/pub/alpine:1.0?arch=arm64"
        ))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.bytes().unwrap().to_vec(), data);
    let r = c
        .get(format!(
            "{url}/v1/images/alice/priv/secret:latest?arch=amd64"
        ))
        .send()
        .unwrap();
    // Hinkskalle flavour: private → 403; image IDs are decimal.
    assert_eq!(r.status(), 403);
    let r = c
        .get(format!("{url}/v1/token-status"))
        .header("Authorization", "Bearer tok-alice")
        .send()
        .unwrap();
    let (status, body) = json(r);
    assert_eq!(status, 200);
    assert_eq!(body["data"]["quota"], 100000);
}

#[test]
fn flags_reach_the_options() {
    let (_child, url) = start(&["--fail-with", "502", "--fail-path-prefix", "/version"]);
    let r = client().get(format!("{url}/version")).send().unwrap();
    assert_eq!(r.status(), 502);
    let r = client()
        .get(format!("{url}/assets/config/config.prod.json"))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);

    let out = Command::new(env!("CARGO_BIN_EXE_berth-library-double"))
        .args(["--flavour", "quay"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_berth-library-double"))
        .args(["--seed", dir.path().to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "a seed dir without seed.json is an error"
    );
}
