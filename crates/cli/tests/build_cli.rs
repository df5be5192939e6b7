//! `berth build --check`: valid files are summarised (with whether anything runs inside the
//! container), invalid ones list every problem as `file:line:col` with a hint, exit 1.

use std::process::Command;

fn check(text: &str) -> (i32, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let def = dir.path().join("x.def");
    std::fs::write(&def, text).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_berth"))
        .args(["build", "--check"])
        .arg(&def)
        .output()
        .unwrap();
    let shown = def.display().to_string();
    let clean = |b: &[u8]| String::from_utf8_lossy(b).replace(&shown, "x.def");
    (
        out.status.code().unwrap(),
        clean(&out.stdout),
        clean(&out.stderr),
    )
}

#[test]
fn a_valid_file_says_whether_it_needs_a_builder() {
    let (code, out, _) = check("Bootstrap: docker\nFrom: alpine:3.19\n\n%post\n    apk add curl\n");
    assert_eq!(code, 0);
    assert_eq!(
        out,
        "x.def: valid, 1 stage (docker alpine:3.19)\n%post runs inside the container: it needs a remote builder (or root).\n"
    );
    let (code, out, _) = check("Bootstrap: docker\nFrom: alpine\n\n%environment\n    export X=1\n");
    assert_eq!(code, 0);
    assert!(out.contains("building it needs no root"), "{out}");
}

#[test]
fn every_problem_is_listed_with_its_position_and_a_hint() {
    let (code, out, err) = check("Bootstrap: dockr\nFrom: alpine\n\n%enviroment\n    X=1\n");
    assert_eq!(code, 1);
    assert!(out.is_empty());
    assert!(
        err.contains("x.def:1:12: expected a bootstrap agent"),
        "{err}"
    );
    assert!(err.contains("did you mean `docker`?"), "{err}");
    assert!(
        err.contains("x.def:4:1: unknown section `%enviroment`"),
        "{err}"
    );
    assert!(err.contains("did you mean `%environment`?"), "{err}");
    assert_eq!(err.matches("  hint: ").count(), 2, "{err}");
}
