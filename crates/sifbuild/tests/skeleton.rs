//! The `/.singularity.d` skeleton: files, modes, quoting, and the runscript run by a real
//! shell (busybox sh).

mod common;

use std::path::Path;
use std::time::{Duration, UNIX_EPOCH};

use berth_sifbuild::{
    add_oci_skeleton, definition_for_pull, oci_runscript, EntryKind, RootFs, SkeletonInput,
};
use serde_json::{json, Value};

fn input<'a>(config: &'a Value, def: &'a str) -> SkeletonInput<'a> {
    SkeletonInput {
        definition: def,
        bootstrap: "docker",
        from: "alpine:latest",
        config,
        arch: "amd64",
        variant: None,
        build_time: UNIX_EPOCH + Duration::from_secs(1_627_931_376),
        base_name: Some("docker.io/library/alpine:latest"),
        base_digest: Some("sha256:abc"),
        berth_version: "0.1.0",
    }
}

fn tree(dir: &Path) -> RootFs {
    RootFs::new(dir).unwrap()
}

#[test]
fn definition_text() {
    let d = definition_for_pull("alpine:latest");
    assert_eq!(d, "bootstrap: docker\nfrom: alpine:latest\n\n");
    assert_eq!(d.len(), 39);
}

#[test]
fn files_modes_and_contents() {
    let dir = tempfile::tempdir().unwrap();
    let mut root = tree(dir.path());
    root.add_dir("var", 0o755).unwrap();
    root.add_symlink("var/tmp", "/tmp").unwrap();
    root.add_file("etc/hosts", 0o600, b"127.0.0.1 localhost\n")
        .unwrap();
    root.add_file("environment", 0o644, b"image's own file")
        .unwrap();
    root.add_symlink(".run", "elsewhere").unwrap();
    root.add_file(
        ".singularity.d/Singularity",
        0o644,
        b"bootstrap: localimage\n",
    )
    .unwrap();
    root.set_mode("/", 0o555);
    let config = json!({
        "Env": ["PATH=/usr/bin:/bin", "LANG=C", "bad-name=1", "NOVAL"],
        "Cmd": ["sh"],
        "Labels": {"maintainer": "me & you", "org.label-schema.schema-version": "0.9"}
    });
    let def = definition_for_pull("alpine:latest");
    add_oci_skeleton(&mut root, &input(&config, &def)).unwrap();

    assert_eq!(root.stat("/").unwrap().mode, 0o755);
    for d in [
        ".singularity.d/libs",
        ".singularity.d/actions",
        ".singularity.d/env",
        "dev",
        "proc",
        "root",
        "tmp",
        "etc",
        "sys",
        "home",
    ] {
        let i = root.stat(d).unwrap_or_else(|| panic!("{d}"));
        assert_eq!((i.kind, i.mode), (EntryKind::Dir, 0o755), "{d}");
    }
    assert_eq!(
        root.stat("var/tmp").unwrap().kind,
        EntryKind::Symlink("/tmp".into())
    );
    assert_eq!(
        root.stat("singularity").unwrap().kind,
        EntryKind::Symlink(".singularity.d/runscript".into())
    );
    assert_eq!(
        root.stat(".run").unwrap().kind,
        EntryKind::Symlink(".singularity.d/actions/run".into())
    );
    assert_eq!(
        root.stat(".shell").unwrap().kind,
        EntryKind::Symlink(".singularity.d/actions/shell".into())
    );
    // An existing non-symlink is left alone.
    assert_eq!(root.read("environment").unwrap(), b"image's own file");

    for f in ["etc/hosts", "etc/resolv.conf"] {
        let i = root.stat(f).unwrap();
        assert_eq!((i.kind, i.mode), (EntryKind::File { len: 0 }, 0o644), "{f}");
    }
    for f in [
        "actions/exec",
        "actions/run",
        "actions/shell",
        "actions/start",
        "actions/test",
        "env/01-base.sh",
        "env/90-environment.sh",
        "env/95-apps.sh",
        "env/99-base.sh",
        "env/99-runtimevars.sh",
        "startscript",
        "runscript",
        "env/10-docker2singularity.sh",
        "env/94-appsbase.sh",
    ] {
        let i = root
            .stat(&format!(".singularity.d/{f}"))
            .unwrap_or_else(|| panic!("{f}"));
        assert_eq!(i.mode, 0o755, "{f}");
        if f != "env/94-appsbase.sh" {
            assert!(
                root.read(&format!(".singularity.d/{f}"))
                    .unwrap()
                    .starts_with(b"#!/bin/sh\n"),
                "{f}"
            );
        }
    }
    assert_eq!(
        root.stat(".singularity.d/env/94-appsbase.sh").unwrap().kind,
        EntryKind::File { len: 0 }
    );
    assert!(
        String::from_utf8(root.read(".singularity.d/env/90-environment.sh").unwrap())
            .unwrap()
            .ends_with("# Custom environment shell code should follow\n")
    );
    assert_eq!(root.stat(".singularity.d/labels.json").unwrap().mode, 0o644);
    assert_eq!(root.stat(".singularity.d/Singularity").unwrap().mode, 0o644);
    assert_eq!(
        root.read(".singularity.d/Singularity").unwrap(),
        def.as_bytes()
    );
    assert_eq!(
        root.read(".singularity.d/bootstrap_history/Apptainer0")
            .unwrap(),
        b"bootstrap: localimage\n"
    );

    assert_eq!(
        String::from_utf8(root.read(".singularity.d/env/10-docker2singularity.sh").unwrap()).unwrap(),
        "#!/bin/sh\nexport PATH=\"/usr/bin:/bin\"\nexport LANG=\"${LANG:-\"C\"}\"\nexport NOVAL=\"${NOVAL:-}\"\n"
    );
    let labels = String::from_utf8(root.read(".singularity.d/labels.json").unwrap()).unwrap();
    assert_eq!(
        labels,
        "{\n\
         \t\"maintainer\": \"me \\u0026 you\",\n\
         \t\"org.label-schema.build-arch\": \"amd64\",\n\
         \t\"org.label-schema.build-date\": \"Monday_2_August_2021_19:9:36_UTC\",\n\
         \t\"org.label-schema.schema-version\": \"1.0\",\n\
         \t\"org.label-schema.usage.berth.version\": \"0.1.0\",\n\
         \t\"org.label-schema.usage.singularity.deffile.bootstrap\": \"docker\",\n\
         \t\"org.label-schema.usage.singularity.deffile.from\": \"alpine:latest\",\n\
         \t\"org.opencontainers.image.architecture\": \"amd64\",\n\
         \t\"org.opencontainers.image.base.digest\": \"sha256:abc\",\n\
         \t\"org.opencontainers.image.base.name\": \"docker.io/library/alpine:latest\",\n\
         \t\"org.opencontainers.image.created\": \"2021-08-02T19:09:36Z\"\n\
         }"
    );
}

#[test]
fn runscript_encoding_table() {
    let v = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let head = |s: &str| s.lines().take(3).collect::<Vec<_>>().join("\n");
    assert_eq!(
        head(&oci_runscript(&[], &v(&["sh"]))),
        "#!/bin/sh\nOCI_ENTRYPOINT=''\nOCI_CMD='\"sh\"'"
    );
    assert_eq!(
        head(&oci_runscript(&[], &v(&["echo", "it's $HOME"]))),
        "#!/bin/sh\nOCI_ENTRYPOINT=''\nOCI_CMD='\"echo\" \"it'\"'\"'s \\$HOME\"'"
    );
    assert_eq!(
        head(&oci_runscript(&v(&["/entry.sh"]), &v(&["--flag"]))),
        "#!/bin/sh\nOCI_ENTRYPOINT='\"/entry.sh\"'\nOCI_CMD='\"--flag\"'"
    );
    assert_eq!(
        head(&oci_runscript(&[], &[])),
        "#!/bin/sh\nOCI_ENTRYPOINT=''\nOCI_CMD=''"
    );
}

/// Runs the runscript with busybox sh; the ENTRYPOINT/CMD is `echo`, so the output is the
/// argument vector the container would have got (one per line via printf).
fn run_script(entrypoint: &[&str], cmd: &[&str], args: &[&str], no_eval: bool) -> String {
    let dir = tempfile::tempdir().unwrap();
    let v = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let script = dir.path().join("runscript");
    std::fs::write(&script, oci_runscript(&v(entrypoint), &v(cmd))).unwrap();
    let mut c = std::process::Command::new("busybox");
    c.arg("sh")
        .arg(&script)
        .args(args)
        .env("HOME", "/home/tester")
        .current_dir(dir.path());
    if no_eval {
        c.env("SINGULARITY_NO_EVAL", "1");
    } else {
        c.env_remove("SINGULARITY_NO_EVAL");
    }
    let out = c
        .output()
        .expect("busybox (busybox-static) must be installed to run the runscript");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

const PRINTF: [&str; 2] = ["printf", "[%s]"];

#[test]
fn runscript_runs_under_busybox_sh() {
    // CMD only: the CMD without arguments, replaced by arguments.
    assert_eq!(
        run_script(&[], &["echo", "hello world"], &[], false),
        "hello world\n"
    );
    assert_eq!(
        run_script(&[], &["echo", "hello world"], &[], true),
        "hello world\n"
    );
    assert_eq!(
        run_script(&[], &["echo", "x"], &["printf", "%s|", "a b", "c"], false),
        "a b|c|"
    );
    // Quotes and $ in CMD stay literal in both modes.
    assert_eq!(
        run_script(&[], &["printf", "[%s]", "it's $HOME"], &[], false),
        "[it's $HOME]"
    );
    assert_eq!(
        run_script(&[], &["printf", "[%s]", "it's $HOME"], &[], true),
        "[it's $HOME]"
    );
    // Arguments are evaluated once by default, passed verbatim with SINGULARITY_NO_EVAL.
    assert_eq!(
        run_script(&PRINTF, &[], &["$HOME"], false),
        "[/home/tester]"
    );
    assert_eq!(run_script(&PRINTF, &[], &["$HOME"], true), "[$HOME]");
    // ENTRYPOINT + CMD: CMD are default arguments, replaced by the caller's.
    assert_eq!(
        run_script(&PRINTF, &["default", "args"], &[], false),
        "[default][args]"
    );
    assert_eq!(
        run_script(&PRINTF, &["default", "args"], &[], true),
        "[default][args]"
    );
    assert_eq!(
        run_script(&PRINTF, &["default"], &["mine", "two words"], false),
        "[mine][two words]"
    );
    assert_eq!(
        run_script(&PRINTF, &["default"], &["mine", "two words"], true),
        "[mine][two words]"
    );
    // Nothing configured: the arguments are the command.
    assert_eq!(run_script(&[], &[], &["echo", "bare"], false), "bare\n");
    assert_eq!(run_script(&[], &[], &["echo", "bare"], true), "bare\n");
}

#[test]
fn env_script_sourced_by_busybox_sh() {
    let dir = tempfile::tempdir().unwrap();
    let env = berth_sifbuild::docker_env_script(
        &[
            "PATH=/opt/bin:/bin",
            "KEEP=image",
            "NEW=a\"b $x `c` \\d",
            "NOVAL",
        ]
        .map(String::from),
    );
    let script = dir.path().join("env.sh");
    std::fs::write(
        &script,
        format!("{env}printf '%s|%s|%s|%s' \"$PATH\" \"$KEEP\" \"$NEW\" \"${{NOVAL-unset}}\"\n"),
    )
    .unwrap();
    let out = std::process::Command::new("busybox")
        .arg("sh")
        .arg(&script)
        .env("KEEP", "caller")
        .env("PATH", "/usr/bin")
        .env_remove("NOVAL")
        .output()
        .expect("busybox (busybox-static) must be installed");
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "/opt/bin:/bin|caller|a\"b $x `c` \\d|"
    );
}
