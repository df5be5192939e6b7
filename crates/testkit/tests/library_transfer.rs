//! The library double's downloads (Range, 303), uploads (v2 single-part, legacy; multipart in library_multipart.rs) and fault
//! knobs, seen with a plain HTTP client.

mod library_support;

use std::io::Read as _;
use std::time::{Duration, Instant};

use berth_testkit::{Flavour, LibraryOptions};
use library_support::*;
use reqwest::StatusCode;
use serde_json::json;

const AMD: &str = "/v1/imagefile/alice/pub/alpine:latest?arch=amd64";

fn bytes(
    d: &berth_testkit::LibraryDouble,
    path: &str,
    range: Option<&str>,
) -> (StatusCode, reqwest::header::HeaderMap, Vec<u8>) {
    let mut rb = client().get(format!("{}{path}", d.url()));
    if let Some(r) = range {
        rb = rb.header("Range", r);
    }
    let r = rb.send().unwrap();
    let (status, headers) = (r.status(), r.headers().clone());
    (status, headers, r.bytes().unwrap().to_vec())
}

#[test]
fn download_full_and_ranges() {
    for flavour in [Flavour::Sylabs, Flavour::Hinkskalle] {
        let d = seeded(flavour);
        let want = sif(1, 4000);
        let (status, h, body) = bytes(&d, AMD, None);
        assert_eq!(status, 200);
        assert_eq!(body, want);
        assert_eq!(h["content-length"], want.len().to_string().as_str());
        assert_eq!(h["accept-ranges"], "bytes");

        let (status, h, body) = bytes(&d, AMD, Some("bytes=10-19"));
        assert_eq!(status, 206);
        assert_eq!(body, want[10..20]);
        assert_eq!(
            h["content-range"],
            format!("bytes 10-19/{}", want.len()).as_str()
        );
        let (status, _, body) = bytes(&d, AMD, Some("bytes=4000-"));
        assert_eq!(status, 206);
        assert_eq!(body, want[4000..]);
        let (status, _, body) = bytes(&d, AMD, Some("bytes=-5"));
        assert_eq!(status, 206);
        assert_eq!(body, want[want.len() - 5..]);
        let (status, h, _) = bytes(&d, AMD, Some("bytes=99999-"));
        assert_eq!(status, 416);
        assert_eq!(
            h["content-range"],
            format!("bytes */{}", want.len()).as_str()
        );

        // HEAD works and does not count; every GET (ranged too) counts.
        let r = client().head(format!("{}{AMD}", d.url())).send().unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(
            r.headers()["content-length"],
            want.len().to_string().as_str()
        );
        assert_eq!(d.download_count("alice/pub/alpine"), Some(5));

        // Other arch, by hash, missing.
        let (_, _, body) = bytes(&d, "/v1/imagefile/alice/pub/alpine:latest?arch=arm64", None);
        assert_eq!(body, sif(2, 3000));
        let hash = d.images()[0].hash.clone();
        let (_, _, body) = bytes(
            &d,
            &format!("/v1/imagefile/alice/pub/alpine:{hash}?arch="),
            None,
        );
        assert_eq!(body, want);
        assert_eq!(
            bytes(&d, "/v1/imagefile/alice/pub/alpine:nope?arch=amd64", None).0,
            404
        );
    }
}

#[test]
fn redirect_303_to_ranged_storage() {
    let d = seeded_with(LibraryOptions {
        redirect_downloads: true,
        ..Default::default()
    });
    let want = sif(1, 4000);
    let r = with_token(client().get(format!("{}{AMD}", d.url())), Some(ALICE))
        .send()
        .unwrap();
    assert_eq!(r.status(), 303);
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        location.starts_with(&format!("{}/storage/", d.url())),
        "{location}"
    );
    // Ranged parts without Authorization, as the Go client sends them, reassemble the file.
    let mut out = Vec::new();
    for (a, b) in [(0, 1499), (1500, 2999), (3000, want.len() - 1)] {
        let r = client()
            .get(&location)
            .header("Range", format!("bytes={a}-{b}"))
            .send()
            .unwrap();
        assert_eq!(r.status(), 206);
        out.extend(r.bytes().unwrap());
    }
    assert_eq!(out, want);
    // The size the client learns from the image metadata matches.
    let (_, img) = get(&d, "/v1/images/alice/pub/alpine:latest?arch=amd64", None);
    assert_eq!(img["data"]["size"], want.len());
    let storage: Vec<_> = d
        .requests()
        .into_iter()
        .filter(|r| r.path.starts_with("/storage/"))
        .collect();
    assert_eq!(storage.len(), 3);
    assert!(storage
        .iter()
        .all(|r| r.authorization.is_none() && r.range.is_some()));
    // A client that follows redirects gets the file too.
    let body = reqwest::blocking::get(format!("{}{AMD}", d.url()))
        .unwrap()
        .bytes()
        .unwrap();
    assert_eq!(body.to_vec(), want);
}

#[test]
fn ignore_range_answers_the_whole_file() {
    let d = seeded_with(LibraryOptions {
        ignore_range: true,
        ..Default::default()
    });
    let (status, h, body) = bytes(&d, AMD, Some("bytes=10-19"));
    assert_eq!(status, 200);
    assert_eq!(body, sif(1, 4000));
    assert!(h.get("accept-ranges").is_none());
    assert!(h.get("content-range").is_none());
}

#[test]
fn reset_after_bytes_breaks_the_download_and_resume_works() {
    let want = sif(1, 400_000);
    let d = seeded_with(LibraryOptions {
        reset_after_bytes: Some(100_000),
        ..Default::default()
    });
    d.add_image("alice/pub/big", want.clone(), "amd64", &["latest"], false);
    let url = format!("{}/v1/imagefile/alice/pub/big:latest?arch=amd64", d.url());
    let mut r = client().get(&url).send().unwrap();
    assert_eq!(r.status(), 200);
    let mut got = Vec::new();
    let err = r.read_to_end(&mut got).unwrap_err();
    assert_eq!(got.len(), 100_000, "{err}");
    assert_eq!(got, want[..100_000]);
    // Resuming at the break point completes.
    let r = client()
        .get(&url)
        .header("Range", "bytes=100000-")
        .send()
        .unwrap();
    assert_eq!(r.status(), 206);
    got.extend(r.bytes().unwrap());
    assert_eq!(got, want);
    // A range ending before the break point is unaffected.
    let r = client()
        .get(&url)
        .header("Range", "bytes=0-999")
        .send()
        .unwrap();
    assert_eq!(r.bytes().unwrap().len(), 1000);
    // 0 breaks before the first byte (possibly before the status line).
    d.update_options(|o| o.reset_after_bytes = Some(0));
    if let Ok(mut r) = client().get(&url).send() {
        let mut got = Vec::new();
        assert!(r.read_to_end(&mut got).is_err());
        assert!(got.is_empty());
    }
}

#[test]
fn fail_with_latency_and_prefix() {
    for flavour in [Flavour::Sylabs, Flavour::Hinkskalle] {
        let d = seeded_with(LibraryOptions {
            flavour,
            fail_with: Some(503),
            ..Default::default()
        });
        let (status, body) = get(&d, "/version", None);
        assert_eq!(status, 503);
        assert_eq!(error_message(flavour, status, &body), "Service Unavailable");
        // Only downloads, only twice.
        d.update_options(|o| {
            o.fail_with = Some(500);
            o.fail_path_prefix = Some("/v1/imagefile".into());
            o.fail_times = 2;
        });
        assert_eq!(get(&d, "/version", None).0, 200);
        assert_eq!(bytes(&d, AMD, None).0, 500);
        assert_eq!(bytes(&d, AMD, None).0, 500);
        assert_eq!(bytes(&d, AMD, None).0, 200);
        // Every request is still recorded.
        assert_eq!(d.requests().len(), 5);
    }
    let d = seeded_with(LibraryOptions {
        latency_ms: 300,
        ..Default::default()
    });
    let t = Instant::now();
    assert_eq!(get(&d, "/version", None).0, 200);
    assert!(t.elapsed() >= Duration::from_millis(300));
    let slow = client();
    let r = reqwest::blocking::Client::builder()
        .timeout(Duration::from_millis(100))
        .build()
        .unwrap()
        .get(format!("{}/version", d.url()))
        .send();
    assert!(r.unwrap_err().is_timeout());
    drop(slow);
}

#[test]
fn stop_refuses_connections() {
    let mut d = seeded(Flavour::Sylabs);
    let url = d.url();
    let ks = d.keystore().url();
    d.stop();
    assert!(client().get(format!("{url}/version")).send().is_err());
    assert!(client().get(format!("{ks}/version")).send().is_err());
    d.stop();
}

/// Push as the Go client does it (§5): create image, v2 upload, complete, tag.
fn push(
    d: &berth_testkit::LibraryDouble,
    token: &str,
    container_path: &str,
    data: &[u8],
    arch: &str,
) -> (StatusCode, serde_json::Value) {
    let kid = d.add_container(container_path, false);
    let hash = format!("sha256.{}", sha256(data));
    let (status, img) = post(
        d,
        "/v1/images",
        Some(token),
        json!({"hash": hash, "container": kid}),
    );
    assert_eq!(status, 200, "{img}");
    let id = img["data"]["id"].as_str().unwrap().to_owned();
    let (status, init) = post(
        d,
        &format!("/v2/imagefile/{id}"),
        Some(token),
        json!({"filesize": data.len(), "sha256sum": sha256(data), "md5sum": "x"}),
    );
    if status != 200 {
        return (status, init);
    }
    let url = init["data"]["uploadURL"].as_str().unwrap().to_owned();
    assert!(url.contains("X-Amz-SignedHeaders=host"), "{url}");
    let r = client()
        .put(&url)
        .header("Content-Type", "application/octet-stream")
        .body(data.to_vec())
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["etag"], sha256(data).as_str());
    let r = with_token(
        client().put(format!("{}/v2/imagefile/{id}/_complete", d.url())),
        Some(token),
    )
    .header("Content-Type", "application/json")
    .body("{}")
    .send()
    .unwrap();
    let (status, done) = json(r);
    assert_eq!(status, 200, "{done}");
    let (status, _) = post(
        d,
        &format!("/v2/tags/{kid}"),
        Some(token),
        json!({"Arch": arch, "Tag": "v1", "ImageID": id}),
    );
    assert_eq!(status, 200);
    (StatusCode::OK, done)
}

#[test]
fn v2_single_upload_then_pull() {
    for flavour in [Flavour::Sylabs, Flavour::Hinkskalle] {
        let d = seeded(flavour);
        let data = sif(7, 50_000);
        let (status, done) = push(&d, ALICE, "alice/pushed/tool", &data, "arm64");
        assert_eq!(status, 200);
        let quota = &done["data"]["quota"];
        assert_eq!(quota["quotaTotal"], 0);
        assert!(quota["quotaUsage"].as_u64().unwrap() >= data.len() as u64);
        match flavour {
            Flavour::Sylabs => {
                assert_eq!(done["data"]["containerUrl"], "/library/alice/pushed/tool")
            }
            Flavour::Hinkskalle => assert_eq!(
                done["data"]["containerUrl"],
                "entities/alice/collections/pushed/containers/tool"
            ),
        }
        let (_, _, body) = bytes(&d, "/v1/imagefile/alice/pushed/tool:v1?arch=arm64", None);
        assert_eq!(body, data);
        let info = d
            .images()
            .into_iter()
            .find(|i| i.path == "alice/pushed/tool")
            .unwrap();
        assert!(info.uploaded);
        assert_eq!(std::fs::read(info.file.unwrap()).unwrap(), data);
        if flavour == Flavour::Hinkskalle {
            // Completion tagged latest/amd64 before the arch tag rewrote the arch (§14).
            let (_, k) = get(&d, "/v1/containers/alice/pushed/tool", Some(ALICE));
            assert_eq!(k["data"]["archTags"]["amd64"]["latest"], info.id.as_str());
        }
        // With multipart disabled, start answers 404 so clients fall back to single part.
        d.update_options(|o| o.disable_multipart = true);
        let r = post(
            &d,
            &format!("/v2/imagefile/{}/_multipart", info.id),
            Some(ALICE),
            json!({"filesize": 1}),
        );
        assert_eq!(r.0, 404);
    }
}

#[test]
fn upload_checks() {
    let d = seeded(Flavour::Hinkskalle);
    let data = sif(8, 1000);
    let kid = d.add_container("alice/up/x", false);
    let hash = format!("sha256.{}", sha256(&data));
    let (_, img) = post(
        &d,
        "/v1/images",
        Some(ALICE),
        json!({"hash": hash, "container": kid}),
    );
    let id = img["data"]["id"].as_str().unwrap().to_owned();
    let init = json!({"filesize": data.len(), "sha256sum": sha256(&data)});
    assert_eq!(
        post(&d, &format!("/v2/imagefile/{id}"), None, init.clone()).0,
        401
    );
    assert_eq!(
        post(&d, &format!("/v2/imagefile/{id}"), Some(BOB), init.clone()).0,
        403
    );
    let (_, r) = post(&d, &format!("/v2/imagefile/{id}"), Some(ALICE), init);
    let url = r["data"]["uploadURL"].as_str().unwrap().to_owned();
    // Wrong bytes → 422 (Hinkskalle); right bytes → 200; again → 406.
    let put = |body: Vec<u8>| client().put(&url).body(body).send().unwrap().status();
    assert_eq!(put(sif(9, 1000)), 422);
    assert_eq!(put(data.clone()), 200);
    assert_eq!(put(data.clone()), 406);
    assert_eq!(
        client()
            .put(format!("{}/upload/nope", d.url()))
            .body("x")
            .send()
            .unwrap()
            .status(),
        403
    );
}

#[test]
fn quota_is_enforced_with_507() {
    let d = seeded(Flavour::Sylabs);
    d.set_quota("bob", 10_000);
    let (status, done) = push(&d, BOB, "bob/c/small", &sif(1, 6000), "amd64");
    assert_eq!(status, 200);
    assert_eq!(done["data"]["quota"]["quotaTotal"], 10_000);
    assert_eq!(done["data"]["quota"]["quotaUsage"], 6031);
    let (status, body) = push(&d, BOB, "bob/c/big", &sif(2, 6000), "amd64");
    assert_eq!(status, 507);
    assert_eq!(
        error_message(Flavour::Sylabs, status, &body),
        "Insufficient storage"
    );
    // The default quota knob applies to users without their own.
    d.update_options(|o| o.quota_bytes = Some(1));
    assert_eq!(push(&d, ALICE, "alice/c/q", &sif(3, 10), "amd64").0, 507);
    let (_, user) = get(&d, "/v1/entities/bob", None);
    assert_eq!(user["data"]["quota"], 10_000);
}

#[test]
fn legacy_v1_upload() {
    let d = seeded(Flavour::Sylabs);
    let data = sif(4, 2000);
    let kid = d.add_container("alice/legacy/x", false);
    let hash = format!("sha256.{}", sha256(&data));
    let (_, img) = post(
        &d,
        "/v1/images",
        Some(ALICE),
        json!({"hash": hash, "container": kid}),
    );
    let id = img["data"]["id"].as_str().unwrap().to_owned();
    let r = with_token(
        client().post(format!("{}/v1/imagefile/{id}", d.url())),
        Some(ALICE),
    )
    .body(data.clone())
    .send()
    .unwrap();
    assert_eq!(r.status(), 200);
    let (_, got) = get(
        &d,
        &format!("/v1/images/alice/legacy/x:{hash}?arch=amd64"),
        None,
    );
    assert_eq!(got["data"]["uploaded"], true);
    assert_eq!(got["data"]["size"], data.len());
    // Bytes that do not match the image hash are refused.
    let r = with_token(
        client().post(format!("{}/v1/imagefile/{id}", d.url())),
        Some(ALICE),
    )
    .body(b"other".to_vec())
    .send()
    .unwrap();
    assert_eq!(r.status(), 400);
}
