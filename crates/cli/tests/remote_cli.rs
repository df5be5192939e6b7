//! `berth remote …` end to end, with a real Secret Service (gnome-keyring in a private
//! D-Bus session, started by crates/core/tests/with-keyring.sh): tokens go to the keychain
//! and nowhere else, and Apptainer's remote.yaml is never modified.

use std::path::Path;
use std::process::Command;

const TOKEN: &str = "tok-3f9c2a7e-not-a-real-secret-91b4";

#[test]
fn add_import_list_logout_remove_keep_tokens_in_the_keychain_only() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("config");
    let yaml = dir.path().join("remote.yaml");
    let yaml_text = format!(
        "Active: SylabsCloud\nRemotes:\n  SylabsCloud:\n    URI: cloud.sylabs.io\n    Token: {TOKEN}\n  hinkskalle:\n    URI: hinkskalle.example.org\n    Insecure: true\n"
    );
    std::fs::write(&yaml, &yaml_text).expect("write yaml");
    let berth = env!("CARGO_BIN_EXE_berth");
    // One keychain session for the whole flow, so the token stored by import is there
    // for list and logout.
    let script = format!(
        "set -e
         b={berth}
         $b remote add lab library.lab.example:8443 --default
         $b remote import {yaml} --with-tokens
         echo ---list1; $b remote list
         $b remote use SylabsCloud
         echo ---list2; $b remote list
         $b remote logout SylabsCloud
         echo ---list3; $b remote list
         $b remote remove lab
         echo ---list4; $b remote list",
        yaml = yaml.display()
    );
    let wrapper = Path::new(env!("CARGO_MANIFEST_DIR")).join("../core/tests/with-keyring.sh");
    let out = Command::new("sh")
        .arg(&wrapper)
        .args(["sh", "-c", &script])
        .env("BERTH_CONFIG_DIR", &config)
        .output()
        .expect("run the keychain wrapper (apt: gnome-keyring dbus dbus-user-session)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "stdout:\n{stdout}\nstderr:\n{stderr}");

    let section = |name: &str| {
        let start = stdout.find(name).expect(name);
        let rest = &stdout[start + name.len()..];
        rest[..rest.find("---").unwrap_or(rest.len())].to_owned()
    };
    let list1 = section("---list1");
    assert!(
        list1.contains("lab") && list1.contains("library.lab.example:8443"),
        "{list1}"
    );
    let sylabs = list1
        .lines()
        .find(|l| l.starts_with("SylabsCloud"))
        .expect("imported");
    assert!(
        sylabs.trim_end().ends_with("yes"),
        "token moved to the keychain: {sylabs}"
    );
    let hink = list1
        .lines()
        .find(|l| l.starts_with("hinkskalle"))
        .expect("imported");
    assert!(
        hink.contains("YES") && hink.trim_end().ends_with("no"),
        "insecure, no token: {hink}"
    );
    assert!(section("---list2")
        .lines()
        .any(|l| l.starts_with("SylabsCloud") && l.contains(" YES ")));
    let list3 = section("---list3");
    assert!(list3
        .lines()
        .find(|l| l.starts_with("SylabsCloud"))
        .expect("row")
        .trim_end()
        .ends_with("no"));
    assert!(!section("---list4").lines().any(|l| l.starts_with("lab ")));

    // The token is in no file Berth wrote, in no output, and the YAML is untouched.
    assert!(!stdout.contains(TOKEN) && !stderr.contains(TOKEN));
    for entry in walk(&config) {
        let bytes = std::fs::read(&entry).expect("read");
        assert!(
            !String::from_utf8_lossy(&bytes).contains(TOKEN),
            "token leaked into {}",
            entry.display()
        );
    }
    assert_eq!(std::fs::read_to_string(&yaml).expect("yaml"), yaml_text);
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}
