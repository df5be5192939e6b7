//! The library double's v2 multipart upload (§5.1, §12.7–8, §14), with a plain HTTP client.

mod library_support;

use berth_testkit::{Flavour, LibraryDouble, LibraryOptions};
use library_support::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

const PART: u64 = 1000;

fn double(flavour: Flavour) -> LibraryDouble {
    seeded_with(LibraryOptions {
        flavour,
        multipart_part_size: Some(PART),
        ..Default::default()
    })
}

fn put(d: &LibraryDouble, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
    json(
        with_token(client().put(format!("{}{path}", d.url())), Some(token))
            .header("Content-Type", "application/json")
            .body(body.to_string())
            .send()
            .unwrap(),
    )
}

/// Creates an image for `data` in `path`; returns its ID.
fn new_image(d: &LibraryDouble, path: &str, data: &[u8]) -> String {
    let kid = d.add_container(path, false);
    let hash = format!("sha256.{}", sha256(data));
    let (status, img) = post(
        d,
        "/v1/images",
        Some(ALICE),
        json!({"hash": hash, "container": kid}),
    );
    assert_eq!(status, 200, "{img}");
    img["data"]["id"].as_str().unwrap().to_owned()
}

/// Starts a session: (uploadID, partSize, totalParts).
fn start(d: &LibraryDouble, id: &str, size: usize) -> (String, u64, u64) {
    let (status, r) = post(
        d,
        &format!("/v2/imagefile/{id}/_multipart"),
        Some(ALICE),
        json!({"filesize": size}),
    );
    assert_eq!(status, 200, "{r}");
    let r = &r["data"];
    assert!(r["options"].is_object(), "{r}");
    (
        r["uploadID"].as_str().unwrap().to_owned(),
        r["partSize"].as_u64().unwrap(),
        r["totalParts"].as_u64().unwrap(),
    )
}

/// Asks for part `n`'s presigned URL.
fn part_url(d: &LibraryDouble, id: &str, upload_id: &str, n: u64, chunk: &[u8]) -> String {
    let (status, r) = put(
        d,
        &format!("/v2/imagefile/{id}/_multipart"),
        ALICE,
        json!({"uploadID": upload_id, "partNumber": n, "partSize": chunk.len(), "sha256sum": sha256(chunk)}),
    );
    assert_eq!(status, 200, "{r}");
    r["data"]["presignedURL"].as_str().unwrap().to_owned()
}

/// PUTs a part's bytes (no Authorization, as clients do); status and ETag.
fn put_part(url: &str, chunk: &[u8]) -> (StatusCode, Option<String>) {
    let r = client()
        .put(url)
        .header("x-amz-content-sha256", sha256(chunk))
        .body(chunk.to_vec())
        .send()
        .unwrap();
    let etag = r
        .headers()
        .get("etag")
        .map(|v| v.to_str().unwrap().to_owned());
    (r.status(), etag)
}

/// Uploads every part in order; returns the completion list.
fn upload_parts(d: &LibraryDouble, id: &str, upload_id: &str, data: &[u8]) -> Vec<Value> {
    data.chunks(PART as usize)
        .enumerate()
        .map(|(i, chunk)| {
            let n = i as u64 + 1;
            let url = part_url(d, id, upload_id, n, chunk);
            let (status, etag) = put_part(&url, chunk);
            assert_eq!(status, 200);
            json!({"partNumber": n, "token": etag.unwrap()})
        })
        .collect()
}

fn complete(
    d: &LibraryDouble,
    id: &str,
    upload_id: &str,
    parts: Vec<Value>,
) -> (StatusCode, Value) {
    put(
        d,
        &format!("/v2/imagefile/{id}/_multipart_complete"),
        ALICE,
        json!({"uploadID": upload_id, "completedParts": parts}),
    )
}

fn download(d: &LibraryDouble, path: &str) -> Vec<u8> {
    let r = client().get(format!("{}{path}", d.url())).send().unwrap();
    assert_eq!(r.status(), 200);
    r.bytes().unwrap().to_vec()
}

#[test]
fn round_trip_then_download() {
    for flavour in [Flavour::Sylabs, Flavour::Hinkskalle] {
        let d = double(flavour);
        let data = sif(5, 3500); // 3531 bytes: 4 parts, the last one short
        let id = new_image(&d, "alice/mp/tool", &data);
        let (upload_id, part_size, total) = start(&d, &id, data.len());
        assert_eq!((part_size, total), (PART, 4));
        let parts = upload_parts(&d, &id, &upload_id, &data);
        for p in &parts {
            let etag = p["token"].as_str().unwrap();
            match flavour {
                Flavour::Sylabs => assert!(etag.starts_with('"') && etag.ends_with('"')),
                Flavour::Hinkskalle => assert_eq!(etag.len(), 64),
            }
        }
        let (status, done) = complete(&d, &id, &upload_id, parts);
        assert_eq!(status, 200, "{done}");
        assert_eq!(done["data"]["quota"]["quotaTotal"], 0);
        assert!(done["data"]["quota"]["quotaUsage"].as_u64().unwrap() >= data.len() as u64);
        let url = done["data"]["containerUrl"].as_str().unwrap();
        match flavour {
            Flavour::Sylabs => assert_eq!(url, "/library/alice/mp/tool"),
            Flavour::Hinkskalle => assert_eq!(url, "entities/alice/collections/mp/containers/tool"),
        }
        let hash = format!("sha256.{}", sha256(&data));
        let body = download(&d, &format!("/v1/imagefile/alice/mp/tool:{hash}?arch="));
        assert_eq!(body, data);
        let info = d.images().into_iter().find(|i| i.id == id).unwrap();
        assert!(info.uploaded);
        assert_eq!(info.size, data.len() as u64);
        // The session is gone: completing again fails.
        assert_eq!(complete(&d, &id, &upload_id, vec![]).0, 404);
        // Requests are recorded, part bodies are not.
        let reqs = d.requests();
        assert_eq!(
            reqs.iter()
                .filter(|r| r.method == "PUT" && r.path.starts_with("/upload/"))
                .inspect(|r| assert!(r.body.is_none() && r.authorization.is_none()))
                .count(),
            4
        );
        assert!(reqs
            .iter()
            .any(|r| r.path == format!("/v2/imagefile/{id}/_multipart_complete")));
    }
}

#[test]
fn default_part_size_and_checks() {
    for flavour in [Flavour::Sylabs, Flavour::Hinkskalle] {
        let d = seeded(flavour);
        let data = sif(6, 10);
        let id = new_image(&d, "alice/mp/small", &data);
        let (upload_id, part_size, total) = start(&d, &id, 100 << 20);
        let want = match flavour {
            Flavour::Sylabs => 64 << 20,
            Flavour::Hinkskalle => 5 << 20,
        };
        assert_eq!(part_size, want);
        assert_eq!(total, (100u64 << 20).div_ceil(want));
        // Part number beyond totalParts.
        let (status, _) = put(
            &d,
            &format!("/v2/imagefile/{id}/_multipart"),
            ALICE,
            json!({"uploadID": upload_id, "partNumber": total + 1, "partSize": 1, "sha256sum": ""}),
        );
        let bad = match flavour {
            Flavour::Sylabs => 400,
            Flavour::Hinkskalle => 406,
        };
        assert_eq!(status, bad);
        // Auth: anonymous 401, another user 403, unknown uploadID 404.
        assert_eq!(
            post(
                &d,
                &format!("/v2/imagefile/{id}/_multipart"),
                None,
                json!({"filesize": 1})
            )
            .0,
            401
        );
        assert_eq!(
            post(
                &d,
                &format!("/v2/imagefile/{id}/_multipart"),
                Some(BOB),
                json!({"filesize": 1})
            )
            .0,
            403
        );
        assert_eq!(complete(&d, &id, "nope", vec![]).0, 404);
    }
}

#[test]
fn missing_part_and_bad_bytes_are_refused() {
    for flavour in [Flavour::Sylabs, Flavour::Hinkskalle] {
        let d = double(flavour);
        let mismatch = match flavour {
            Flavour::Sylabs => 400,
            Flavour::Hinkskalle => 422,
        };
        let data = sif(7, 2500);
        let id = new_image(&d, "alice/mp/gap", &data);
        let (upload_id, _, total) = start(&d, &id, data.len());
        assert_eq!(total, 3);
        let mut parts = upload_parts(&d, &id, &upload_id, &data);
        // A part left out of the list, and a wrong token → 400.
        let last = parts.pop().unwrap();
        assert_eq!(complete(&d, &id, &upload_id, parts.clone()).0, 400);
        let mut wrong = parts.clone();
        wrong.push(json!({"partNumber": 3, "token": "bogus"}));
        assert_eq!(complete(&d, &id, &upload_id, wrong).0, 400);
        parts.push(last);

        // A part never uploaded → 400, image stays not uploaded.
        let id2 = new_image(&d, "alice/mp/gap2", &data);
        let (up2, _, _) = start(&d, &id2, data.len());
        let chunks: Vec<&[u8]> = data.chunks(PART as usize).collect();
        let mut listed = Vec::new();
        for n in [1u64, 3] {
            let chunk = chunks[n as usize - 1];
            let (status, etag) = put_part(&part_url(&d, &id2, &up2, n, chunk), chunk);
            assert_eq!(status, 200);
            listed.push(json!({"partNumber": n, "token": etag.unwrap()}));
        }
        let (status, body) = complete(&d, &id2, &up2, listed);
        assert_eq!(status, 400, "{body}");
        assert!(!d.images().iter().any(|i| i.id == id2 && i.uploaded));

        // Bytes that do not match the announced part sha256 → mismatch status.
        let chunk = chunks[1];
        let url = part_url(&d, &id2, &up2, 2, chunk);
        assert_eq!(put_part(&url, &chunk[1..]).0, mismatch);
        let mut other = chunk.to_vec();
        other[0] ^= 1;
        assert_eq!(put_part(&url, &other).0, mismatch);

        // Parts whose assembly does not match the image hash (empty sha256sum) → mismatch.
        let id3 = new_image(&d, "alice/mp/bad", &data);
        let (up3, _, _) = start(&d, &id3, data.len());
        let mut corrupt = data.clone();
        corrupt[1500] ^= 0xff;
        let mut listed = Vec::new();
        for (i, chunk) in corrupt.chunks(PART as usize).enumerate() {
            let (status, r) = put(
                &d,
                &format!("/v2/imagefile/{id3}/_multipart"),
                ALICE,
                json!({"uploadID": up3, "partNumber": i + 1, "partSize": chunk.len(), "sha256sum": ""}),
            );
            assert_eq!(status, 200);
            let (status, etag) = put_part(r["data"]["presignedURL"].as_str().unwrap(), chunk);
            assert_eq!(status, 200);
            listed.push(json!({"partNumber": i + 1, "token": etag.unwrap()}));
        }
        assert_eq!(complete(&d, &id3, &up3, listed).0, mismatch);
        assert!(!d.images().iter().any(|i| i.id == id3 && i.uploaded));

        // The first session still completes with the full list.
        assert_eq!(complete(&d, &id, &upload_id, parts).0, 200);
    }
}

#[test]
fn abort_drops_the_parts() {
    for flavour in [Flavour::Sylabs, Flavour::Hinkskalle] {
        let d = double(flavour);
        let data = sif(8, 2500);
        let id = new_image(&d, "alice/mp/abort", &data);
        let (upload_id, _, _) = start(&d, &id, data.len());
        let chunks: Vec<&[u8]> = data.chunks(PART as usize).collect();
        let url1 = part_url(&d, &id, &upload_id, 1, chunks[0]);
        assert_eq!(put_part(&url1, chunks[0]).0, 200);
        let url2 = part_url(&d, &id, &upload_id, 2, chunks[1]);
        let (status, _) = put(
            &d,
            &format!("/v2/imagefile/{id}/_multipart_abort"),
            ALICE,
            json!({"uploadID": upload_id}),
        );
        assert_eq!(status, 200);
        // Later part PUTs fail, the session is gone, no part files remain.
        assert_eq!(put_part(&url2, chunks[1]).0, 403);
        assert_eq!(put_part(&url1, chunks[0]).0, 403);
        let (status, _) = put(
            &d,
            &format!("/v2/imagefile/{id}/_multipart"),
            ALICE,
            json!({"uploadID": upload_id, "partNumber": 3, "partSize": chunks[2].len(), "sha256sum": ""}),
        );
        assert_eq!(status, 404);
        assert_eq!(complete(&d, &id, &upload_id, vec![]).0, 404);
        let (status, _) = put(
            &d,
            &format!("/v2/imagefile/{id}/_multipart_abort"),
            ALICE,
            json!({"uploadID": upload_id}),
        );
        assert_eq!(status, 404);
        let uploads = d.images()[0]
            .file
            .clone()
            .unwrap()
            .parent()
            .unwrap()
            .parent()
            .unwrap()
            .join("uploads");
        assert_eq!(std::fs::read_dir(uploads).unwrap().count(), 0);
        assert!(!d.images().iter().any(|i| i.id == id && i.uploaded));
    }
}

#[test]
fn fail_part_answers_500_once_then_retry_works() {
    for flavour in [Flavour::Sylabs, Flavour::Hinkskalle] {
        let d = seeded_with(LibraryOptions {
            flavour,
            multipart_part_size: Some(PART),
            fail_part: Some(2),
            ..Default::default()
        });
        let data = sif(9, 2500);
        let id = new_image(&d, "alice/mp/retry", &data);
        let (upload_id, _, _) = start(&d, &id, data.len());
        let mut parts = Vec::new();
        for (i, chunk) in data.chunks(PART as usize).enumerate() {
            let n = i as u64 + 1;
            let url = part_url(&d, &id, &upload_id, n, chunk);
            let (mut status, mut etag) = put_part(&url, chunk);
            if n == 2 {
                assert_eq!(status, 500);
                assert!(etag.is_none());
                (status, etag) = put_part(&url, chunk);
            }
            assert_eq!(status, 200, "part {n}");
            parts.push(json!({"partNumber": n, "token": etag.unwrap()}));
        }
        let (status, done) = complete(&d, &id, &upload_id, parts);
        assert_eq!(status, 200, "{done}");
        let hash = format!("sha256.{}", sha256(&data));
        assert_eq!(
            download(&d, &format!("/v1/imagefile/alice/mp/retry:{hash}?arch=")),
            data
        );
    }
}

#[test]
fn quota_is_checked_at_start() {
    for flavour in [Flavour::Sylabs, Flavour::Hinkskalle] {
        let d = double(flavour);
        d.set_quota("alice", 10);
        let data = sif(1, 2000);
        let id = new_image(&d, "alice/mp/q", &data);
        let (status, body) = post(
            &d,
            &format!("/v2/imagefile/{id}/_multipart"),
            Some(ALICE),
            json!({"filesize": data.len()}),
        );
        assert_eq!(status, 507);
        assert_eq!(
            error_message(flavour, status, &body),
            "Insufficient storage"
        );
    }
}
