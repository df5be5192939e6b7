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
        "x.def: valid, 1 stage (docker alpine:3.19)\nThe definition runs %post while it is built; a build without root cannot run them.\nBuild it on the remote's build service: `berth build --remote OUT.sif x.def`.\n"
    );
    let (code, out, _) = check("Bootstrap: docker\nFrom: alpine\n\n%environment\n    export X=1\n");
    assert_eq!(code, 0);
    assert!(
        out.contains("Berth builds it on this computer, without root"),
        "{out}"
    );
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

#[test]
fn a_definition_that_runs_nothing_is_built_here() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("hello.txt"), "hello\n").unwrap();
    let def = dir.path().join("hello.def");
    let text =
        "Bootstrap: scratch\n%files\n    hello.txt /hello.txt\n%runscript\n    cat /hello.txt\n";
    std::fs::write(&def, text).unwrap();
    let out = dir.path().join("hello.sif");
    let run = Command::new(env!("CARGO_BIN_EXE_berth"))
        .arg("build")
        .args([&out, &def])
        .env("BERTH_CONFIG_DIR", dir.path().join("config"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(stdout.contains("Creating SIF file"), "{stdout}");
    let inspect = |flag: &str| {
        let o = Command::new(env!("CARGO_BIN_EXE_berth"))
            .args(["inspect", flag])
            .arg(&out)
            .output()
            .unwrap();
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    assert_eq!(inspect("--deffile"), text);
    assert!(inspect("--runscript").contains("cat /hello.txt"));
    // Nothing is left beside the image.
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(names.is_empty(), "{names:?}");
}

#[test]
fn build_arguments_fill_placeholders() {
    let dir = tempfile::tempdir().unwrap();
    let def = dir.path().join("hi.def");
    let text =
        "Bootstrap: scratch\n%arguments\n    WHO=nobody\n%runscript\n    echo hi {{ WHO }}\n";
    std::fs::write(&def, text).unwrap();
    let out = dir.path().join("hi.sif");
    let berth = |args: &[&std::ffi::OsStr]| {
        Command::new(env!("CARGO_BIN_EXE_berth"))
            .args(args)
            .env("BERTH_CONFIG_DIR", dir.path().join("config"))
            .output()
            .unwrap()
    };
    let run = berth(&[
        "build".as_ref(),
        "--build-arg".as_ref(),
        "WHO=cli".as_ref(),
        out.as_os_str(),
        def.as_os_str(),
    ]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let runscript = berth(&["inspect".as_ref(), "--runscript".as_ref(), out.as_os_str()]);
    assert!(String::from_utf8_lossy(&runscript.stdout).contains("echo hi cli"));
    let bad = berth(&[
        "build".as_ref(),
        "-F".as_ref(),
        "--build-arg".as_ref(),
        "WHO".as_ref(),
        out.as_os_str(),
        def.as_os_str(),
    ]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("not NAME=VALUE"));
}
