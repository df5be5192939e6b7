//! Shared helpers for the library double's tests: a plain blocking reqwest client.

#![allow(dead_code)]

use berth_testkit::{Flavour, LibraryDouble, LibraryOptions};
use reqwest::blocking::{Client, RequestBuilder, Response};
use reqwest::StatusCode;
use serde_json::Value;

pub const ALICE: &str = "alice-token-0123456789";
pub const BOB: &str = "bob-token-0123456789";

/// Bytes that stand in for a SIF (the double does not parse images).
pub fn sif(seed: u8, len: usize) -> Vec<u8> {
    let mut v = b"#!/usr/bin/env run-singularity\n".to_vec();
    v.extend((0..len).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)));
    v
}

pub fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A double with users alice and bob, and:
/// * `alice/pub/alpine` — amd64 `latest`,`3.19`; arm64 `latest`; signed amd64 image.
/// * `alice/priv/secret` — private, amd64 `latest`.
pub fn seeded(flavour: Flavour) -> LibraryDouble {
    seeded_with(LibraryOptions {
        flavour,
        ..Default::default()
    })
}

pub fn seeded_with(opts: LibraryOptions) -> LibraryDouble {
    let d = LibraryDouble::start(opts).unwrap();
    d.add_user("alice", ALICE);
    d.add_user("bob", BOB);
    d.add_image(
        "alice/pub/alpine",
        sif(1, 4000),
        "amd64",
        &["latest", "3.19"],
        true,
    );
    d.add_image(
        "alice/pub/alpine",
        sif(2, 3000),
        "arm64",
        &["latest"],
        false,
    );
    d.add_container("alice/priv/secret", true);
    d.add_image(
        "alice/priv/secret",
        sif(3, 100),
        "amd64",
        &["latest"],
        false,
    );
    d
}

pub fn client() -> Client {
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

pub fn with_token(rb: RequestBuilder, token: Option<&str>) -> RequestBuilder {
    match token {
        Some(t) => rb.header("Authorization", format!("Bearer {t}")),
        None => rb,
    }
}

pub fn get(d: &LibraryDouble, path: &str, token: Option<&str>) -> (StatusCode, Value) {
    json(
        with_token(client().get(format!("{}{path}", d.url())), token)
            .send()
            .unwrap(),
    )
}

pub fn post(
    d: &LibraryDouble,
    path: &str,
    token: Option<&str>,
    body: Value,
) -> (StatusCode, Value) {
    json(
        with_token(client().post(format!("{}{path}", d.url())), token)
            .header("Content-Type", "application/json")
            .body(body.to_string())
            .send()
            .unwrap(),
    )
}

pub fn json(r: Response) -> (StatusCode, Value) {
    let status = r.status();
    let text = r.text().unwrap();
    let v = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
    };
    (status, v)
}

/// The error message in either flavour's shape, checking the shape.
pub fn error_message(flavour: Flavour, status: StatusCode, body: &Value) -> String {
    match flavour {
        Flavour::Sylabs => {
            assert_eq!(body["error"]["code"], status.as_u16(), "{body}");
            body["error"]["message"].as_str().unwrap().to_owned()
        }
        Flavour::Hinkskalle => {
            if status == StatusCode::UNAUTHORIZED {
                assert_eq!(body["status"], "error", "{body}");
                assert_eq!(body["errors"][0]["code"], 401, "{body}");
                assert_eq!(body["errors"][0]["title"], "Fail!", "{body}");
                body["errors"][0]["detail"].as_str().unwrap().to_owned()
            } else {
                assert!(body.get("error").is_none(), "{body}");
                body["message"].as_str().unwrap().to_owned()
            }
        }
    }
}
