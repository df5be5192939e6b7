//! The OCI test peers work: an image built with umoci is pushed with skopeo into
//! `docker-registry` and listed there; with basic auth, anonymous reads are refused.

use berth_testkit::{OciImage, RegistryPeer};

fn busybox_image(tag: &str) -> OciImage {
    let img = OciImage::new(tag).expect("umoci image");
    let bin = img.rootfs().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::copy("/bin/busybox", bin.join("busybox")).expect("busybox-static");
    std::os::unix::fs::symlink("busybox", bin.join("sh")).unwrap();
    img.layer().expect("repack");
    img.config(&["--config.cmd=sh"]).expect("config");
    img
}

#[test]
fn an_image_pushed_with_skopeo_is_listed() {
    let registry = RegistryPeer::start().expect("registry");
    let img = busybox_image("1.0");
    registry
        .push(&img.layout(), img.tag(), "test/busybox", false, false)
        .expect("push");
    let tags = reqwest::blocking::get(format!(
        "http://{}/v2/test/busybox/tags/list",
        registry.host()
    ))
    .unwrap()
    .text()
    .unwrap();
    assert!(tags.contains("\"1.0\""), "{tags}");
}

#[test]
fn basic_auth_refuses_anonymous_reads() {
    let registry = RegistryPeer::start_with_basic_auth("ada", "s3cret").expect("registry");
    let img = busybox_image("v1");
    registry
        .push(&img.layout(), img.tag(), "private/bb", false, true)
        .expect("push with credentials");
    let url = format!("http://{}/v2/private/bb/tags/list", registry.host());
    let anonymous = reqwest::blocking::get(&url).unwrap();
    assert_eq!(anonymous.status().as_u16(), 401);
    let authed = reqwest::blocking::Client::new()
        .get(&url)
        .basic_auth("ada", Some("s3cret"))
        .send()
        .unwrap();
    assert!(authed.text().unwrap().contains("\"v1\""));
}
