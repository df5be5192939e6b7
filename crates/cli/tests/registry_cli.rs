//! `berth registry …` end to end, with a real Secret Service (gnome-keyring in a private
//! D-Bus session, started by crates/core/tests/with-keyring.sh): passwords go to the
//! keychain and nowhere else, and Docker's config.json is read but never modified.

use std::path::Path;
use std::process::Command;

const PASSWORD: &str = "pw-5d2b8e14-not-a-real-secret-a7c3";
const DOCKER_PASSWORD: &str = "dpw-0e9f4c21-not-a-real-secret-66d8";

#[test]
fn login_list_logout_keep_passwords_in_the_keychain_only() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("config");
    let docker = dir.path().join("docker");
    std::fs::create_dir_all(&docker).expect("docker dir");
    let docker_file = docker.join("config.json");
    // base64("dockeruser:<DOCKER_PASSWORD>"), computed here so the test needs no crate.
    let auth = base64(&format!("dockeruser:{DOCKER_PASSWORD}"));
    let docker_text = format!(
        "{{\n  \"auths\": {{\n    \"https://index.docker.io/v1/\": {{ \"auth\": \"{auth}\" }},\n    \"ghcr.io\": {{ \"auth\": \"{auth}\" }},\n    \"quay.io\": {{}}\n  }},\n  \"credsStore\": \"desktop\"\n}}\n"
    );
    std::fs::write(&docker_file, &docker_text).expect("write docker config");
    let docker_mtime = std::fs::metadata(&docker_file).unwrap().modified().unwrap();

    let berth = env!("CARGO_BIN_EXE_berth");
    let script = format!(
        "set -e
         b={berth}
         echo ---list1; $b registry list
         printf '%s\\n' '{PASSWORD}' | $b registry login GHCR.io --username alice --password-stdin
         printf '%s\\n' '{PASSWORD}' | $b registry login Registry.Example.com:5000 -u bob --password-stdin
         echo ---list2; $b registry list
         $b registry logout ghcr.io
         $b registry logout ghcr.io
         echo ---list3; $b registry list
         $b registry logout registry.example.com:5000
         echo ---list4; $b registry list
         echo ---end"
    );
    let wrapper = Path::new(env!("CARGO_MANIFEST_DIR")).join("../core/tests/with-keyring.sh");
    let out = Command::new("sh")
        .arg(&wrapper)
        .args(["sh", "-c", &script])
        .env("BERTH_CONFIG_DIR", &config)
        .env("DOCKER_CONFIG", &docker)
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
    let row = |text: &str, host: &str| {
        text.lines()
            .find(|l| l.split_whitespace().next() == Some(host))
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
    };

    // Only Docker's logins at first.
    let list1 = section("---list1");
    assert_eq!(
        row(&list1, "docker.io").as_deref(),
        Some("docker.io dockeruser docker-config"),
        "{list1}"
    );
    assert_eq!(
        row(&list1, "ghcr.io").as_deref(),
        Some("ghcr.io dockeruser docker-config"),
        "{list1}"
    );
    assert_eq!(
        row(&list1, "quay.io").as_deref(),
        Some("quay.io - docker-config managed by docker-credential-desktop, not read"),
        "{list1}"
    );

    // Berth's logins win over Docker's.
    let list2 = section("---list2");
    assert_eq!(
        row(&list2, "ghcr.io").as_deref(),
        Some("ghcr.io alice berth"),
        "{list2}"
    );
    assert_eq!(
        row(&list2, "registry.example.com:5000").as_deref(),
        Some("registry.example.com:5000 bob berth"),
        "{list2}"
    );
    assert!(row(&list2, "docker.io").is_some(), "{list2}");

    // After logout Docker's login for ghcr.io shows through again.
    let list3 = section("---list3");
    assert_eq!(
        row(&list3, "ghcr.io").as_deref(),
        Some("ghcr.io dockeruser docker-config"),
        "{list3}"
    );
    assert!(row(&list3, "registry.example.com:5000").is_some());
    assert!(
        stdout.contains("Berth had no login for ghcr.io."),
        "{stdout}"
    );
    let list4 = section("---list4");
    assert!(
        row(&list4, "registry.example.com:5000").is_none(),
        "{list4}"
    );
    assert!(row(&list4, "docker.io").is_some(), "{list4}");

    // No password in any output or in any file Berth wrote; Docker's file untouched.
    for secret in [PASSWORD, DOCKER_PASSWORD, auth.as_str()] {
        assert!(
            !stdout.contains(secret) && !stderr.contains(secret),
            "{secret} leaked into the output"
        );
        for entry in walk(&config) {
            let bytes = std::fs::read(&entry).expect("read");
            assert!(
                !String::from_utf8_lossy(&bytes).contains(secret),
                "password leaked into {}",
                entry.display()
            );
        }
    }
    assert!(config.join("registries.json").exists());
    assert_eq!(
        std::fs::read_to_string(&docker_file).expect("docker config"),
        docker_text
    );
    assert_eq!(
        std::fs::metadata(&docker_file).unwrap().modified().unwrap(),
        docker_mtime
    );
    assert_eq!(
        std::fs::read_dir(&docker).unwrap().count(),
        1,
        "nothing else written next to Docker's config"
    );
}

/// Standard base64 with padding.
fn base64(s: &str) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in s.as_bytes().chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ABC[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
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
