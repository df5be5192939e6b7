//! The library double's discovery, token service and metadata endpoints, in both flavours,
//! seen with a plain HTTP client.

mod library_support;

use berth_testkit::{Flavour, LibraryDouble, LibraryOptions};
use library_support::*;
use reqwest::StatusCode;
use serde_json::json;

const BOTH: [Flavour; 2] = [Flavour::Sylabs, Flavour::Hinkskalle];

#[test]
fn discovery_names_every_service() {
    for flavour in BOTH {
        let d = seeded(flavour);
        let (status, doc) = get(&d, "/assets/config/config.prod.json", None);
        assert_eq!(status, 200);
        let obj = doc.as_object().unwrap();
        // Every top-level value must be an object (§1.2).
        assert!(obj.values().all(|v| v.is_object()), "{doc}");
        assert_eq!(doc["libraryAPI"]["uri"], d.url());
        assert_eq!(doc["tokenAPI"]["uri"], d.url());
        assert_eq!(doc["keystoreAPI"]["uri"], d.keystore().url());
        match flavour {
            Flavour::Sylabs => assert_eq!(doc["builderAPI"]["uri"], d.url()),
            Flavour::Hinkskalle => assert!(doc.get("builderAPI").is_none()),
        }
        // The keystore really is there.
        let r = client()
            .get(format!("{}/version", d.keystore().url()))
            .send()
            .unwrap();
        assert_eq!(r.status(), 200);
    }
}

#[test]
fn version_and_api_version_knob() {
    let d = seeded(Flavour::Sylabs);
    let (status, v) = get(&d, "/version", None);
    assert_eq!(status, 200);
    assert_eq!(v["data"]["apiVersion"], "2.0.0-alpha.2");
    assert!(v["data"]["version"].is_string());
    // Doubled slashes, as string-joining clients send (§0).
    assert_eq!(get(&d, "//version", None).0, 200);

    let legacy = LibraryDouble::start(LibraryOptions {
        api_version: Some(String::new()),
        ..Default::default()
    })
    .unwrap();
    let (_, v) = get(&legacy, "/version", None);
    assert!(v["data"].get("apiVersion").is_none(), "{v}");
    legacy.update_options(|o| o.api_version = Some("v2.0.0".into()));
    assert_eq!(
        get(&legacy, "/version", None).1["data"]["apiVersion"],
        "v2.0.0"
    );
}

#[test]
fn token_status_and_current_user() {
    // Sylabs: 200 valid; no token 401; unknown 404 ("Invalid Credentials" in Apptainer).
    let d = seeded(Flavour::Sylabs);
    assert_eq!(get(&d, "/v1/token-status", Some(ALICE)).0, 200);
    assert_eq!(get(&d, "/v1/token-status", None).0, 401);
    let (status, body) = get(&d, "/v1/token-status", Some("nope"));
    assert_eq!(status, 404);
    assert_eq!(
        error_message(Flavour::Sylabs, status, &body),
        "Invalid Credentials"
    );
    // The scheme is case-insensitive.
    let r = client()
        .get(format!("{}/v1/token-status", d.url()))
        .header("Authorization", format!("BEARER {ALICE}"))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    // Not enveloped (§1.7).
    let (status, user) = get(&d, "//v1/rbac/users/current", Some(ALICE));
    assert_eq!(status, 200);
    assert_eq!(user["username"], "alice");
    assert_eq!(user["oidc_user_meta"]["secret"], "secret-alice");
    assert!(user.get("data").is_none());
    assert_eq!(get(&d, "/v1/rbac/users/current", None).0, 401);

    // Expired tokens, one at a time and all at once.
    d.expire_token(BOB);
    assert_eq!(get(&d, "/v1/token-status", Some(BOB)).0, 404);
    assert_eq!(get(&d, "/v1/entities/alice", Some(BOB)).0, 401);
    d.update_options(|o| o.expired_token = true);
    assert_eq!(get(&d, "/v1/token-status", Some(ALICE)).0, 404);
    assert_eq!(
        get(
            &d,
            "/v1/images/alice/pub/alpine:latest?arch=amd64",
            Some(ALICE)
        )
        .0,
        401
    );
    // Anonymous reads of public data still work.
    assert_eq!(
        get(&d, "/v1/images/alice/pub/alpine:latest?arch=amd64", None).0,
        200
    );

    // Hinkskalle: {"status":"welcome","data":user}; bad token 401 with WWW-Authenticate.
    let h = seeded(Flavour::Hinkskalle);
    let (status, body) = get(&h, "/v1/token-status", Some(ALICE));
    assert_eq!(status, 200);
    assert_eq!(body["status"], "welcome");
    assert_eq!(body["data"]["username"], "alice");
    assert!(body["data"]["quota"].is_u64());
    let r = client()
        .get(format!("{}/v1/token-status", h.url()))
        .header("Authorization", "Bearer wrong")
        .send()
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(
        r.headers()["www-authenticate"].to_str().unwrap(),
        format!("bearer realm=\"{}/v2/\"", h.url())
    );
    let (status, body) = json(r);
    assert_eq!(
        error_message(Flavour::Hinkskalle, status, &body),
        "Not Authorized"
    );
}

#[test]
fn entity_collection_container_reads() {
    for flavour in BOTH {
        let d = seeded(flavour);
        let token = match flavour {
            Flavour::Sylabs => None,
            // Hinkskalle needs a login for these reads (§14).
            Flavour::Hinkskalle => Some(BOB),
        };
        let (status, e) = get(&d, "/v1/entities/alice", token);
        assert_eq!(status, 200, "{flavour:?} {e}");
        let e = &e["data"];
        assert_eq!(e["name"], "alice");
        let (_, c) = get(&d, "/v1/collections/alice/pub", token);
        let c = &c["data"];
        assert_eq!(c["entity"], e["id"]);
        assert_eq!(c["entityName"], "alice");
        let (_, k) = get(&d, "/v1/containers/alice/pub/alpine", token);
        let k = &k["data"];
        assert_eq!(k["collection"], c["id"]);
        assert_eq!(k["collectionName"], "pub");
        assert_eq!(k["entityName"], "alice");
        let amd64 = k["archTags"]["amd64"]["latest"].as_str().unwrap();
        let arm64 = k["archTags"]["arm64"]["latest"].as_str().unwrap();
        assert_ne!(amd64, arm64);
        assert_eq!(k["archTags"]["amd64"]["3.19"], amd64);
        assert!(k["imageTags"]["latest"].is_string());

        // IDs: Sylabs 24-hex ObjectIDs, Hinkskalle decimal strings (§14).
        for id in [&e["id"], &c["id"], &k["id"]] {
            let id = id.as_str().unwrap();
            match flavour {
                Flavour::Sylabs => {
                    assert_eq!(id.len(), 24);
                    assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
                }
                Flavour::Hinkskalle => assert!(id.parse::<u64>().is_ok(), "{id}"),
            }
        }
        match flavour {
            Flavour::Sylabs => {
                assert_eq!(k["images"].as_array().unwrap().len(), 2);
                assert!(e["collections"].is_array());
                assert_eq!(e["updatedAt"], "0001-01-01T00:00:00Z");
            }
            Flavour::Hinkskalle => {
                assert!(k.get("images").is_none(), "{k}");
                let (status, list) = get(&d, "/v1/containers/alice/pub/alpine/images", token);
                assert_eq!(status, 200);
                assert_eq!(list["data"].as_array().unwrap().len(), 2);
                // Anonymous metadata reads: 401.
                let (status, body) = get(&d, "/v1/entities/alice", None);
                assert_eq!(status, 401);
                error_message(flavour, status, &body);
            }
        }

        let (status, body) = get(&d, "/v1/entities/nobody", token);
        assert_eq!(status, 404);
        let msg = error_message(flavour, status, &body);
        if flavour == Flavour::Hinkskalle {
            assert_eq!(msg, "entity nobody not found");
        }
        assert_eq!(get(&d, "/v1/containers/alice/pub/nothing", token).0, 404);
        // Not implementing OCI: clients must stay on the library protocol (§4.8).
        assert_eq!(
            get(
                &d,
                "/v1/oci-redirect?namespace=alice/pub/alpine&mapped=1&accessTypes=pull",
                token
            )
            .0,
            404
        );
    }
}

#[test]
fn images_by_tag_arch_and_hash() {
    for flavour in BOTH {
        let d = seeded(flavour);
        let images = d.images();
        let amd = &images[0];
        let arm = &images[1];
        let (status, v) = get(&d, "/v1/images/alice/pub/alpine:latest?arch=amd64", None);
        assert_eq!(status, 200, "{v}");
        let img = &v["data"];
        assert_eq!(img["id"], amd.id);
        assert_eq!(img["hash"], format!("sha256.{}", sha256(&sif(1, 4000))));
        assert_eq!(img["arch"], "amd64");
        assert_eq!(img["size"], 4000 + 31);
        assert_eq!(img["signed"], true);
        assert_eq!(img["tags"], json!(["3.19", "latest"]));
        assert_eq!(img["entityName"], "alice");
        assert_eq!(img["containerName"], "alpine");
        match flavour {
            Flavour::Sylabs => assert_eq!(img["uploaded"], true),
            Flavour::Hinkskalle => {
                assert!(img.get("uploaded").is_none());
                assert_eq!(img["uploadState"], "completed");
            }
        }
        let (_, v) = get(&d, "/v1/images/alice/pub/alpine:latest?arch=arm64", None);
        assert_eq!(v["data"]["id"], arm.id);
        // By hash, ignoring arch; empty arch = unspecified (§12.14).
        let (_, v) = get(
            &d,
            &format!("/v1/images/alice/pub/alpine:{}?arch=arm64", amd.hash),
            None,
        );
        assert_eq!(v["data"]["id"], amd.id);
        assert_eq!(
            get(&d, "/v1/images/alice/pub/alpine:latest?arch=", None).0,
            200
        );
        // Arch mismatch → 404.
        let (status, body) = get(&d, "/v1/images/alice/pub/alpine:3.19?arch=arm64", None);
        assert_eq!(status, 404);
        error_message(flavour, status, &body);
        assert_eq!(
            get(&d, "/v1/images/alice/pub/alpine:nope?arch=amd64", None).0,
            404
        );
        // An escaped colon is the same reference.
        assert_eq!(
            get(&d, "/v1/images/alice/pub/alpine%3Alatest?arch=amd64", None).0,
            200
        );
    }
}

#[test]
fn short_refs_use_the_flavours_default_entity() {
    let d = seeded(Flavour::Sylabs);
    d.add_image(
        "library/default/busybox",
        sif(9, 10),
        "amd64",
        &["latest"],
        false,
    );
    assert_eq!(get(&d, "/v1/images/busybox:latest?arch=amd64", None).0, 200);
    let h = seeded(Flavour::Hinkskalle);
    assert_eq!(get(&h, "/v1/images/busybox:latest?arch=amd64", None).0, 404);
    h.add_image(
        "default/default/busybox",
        sif(9, 10),
        "amd64",
        &["latest"],
        false,
    );
    assert_eq!(get(&h, "/v1/images/busybox:latest?arch=amd64", None).0, 200);
    assert_eq!(
        get(&h, "/v1/images/default/busybox:latest?arch=amd64", None).0,
        200
    );
}

#[test]
fn private_containers() {
    let path = "/v1/images/alice/priv/secret:latest?arch=amd64";
    let d = seeded(Flavour::Sylabs);
    assert_eq!(get(&d, path, Some(ALICE)).0, 200);
    let (status, body) = get(&d, path, None);
    assert_eq!(status, 401);
    assert_eq!(
        error_message(Flavour::Sylabs, status, &body),
        "Not authorized - please authenticate"
    );
    let (status, body) = get(&d, path, Some(BOB));
    assert_eq!(status, 403);
    assert_eq!(
        error_message(Flavour::Sylabs, status, &body),
        "Not authorized to access this entry"
    );
    assert_eq!(
        get(
            &d,
            "/v1/imagefile/alice/priv/secret:latest?arch=amd64",
            Some(BOB)
        )
        .0,
        403
    );
    assert_eq!(
        get(&d, "/v1/containers/alice/priv/secret", Some(BOB)).0,
        403
    );
    let k = get(&d, "/v1/containers/alice/priv/secret", Some(ALICE)).1;
    assert_eq!(k["data"]["private"], true);
    let cid = k["data"]["id"].as_str().unwrap().to_owned();
    assert_eq!(get(&d, &format!("/v2/tags/{cid}"), Some(BOB)).0, 403);

    let h = seeded(Flavour::Hinkskalle);
    for token in [None, Some(BOB)] {
        let (status, body) = get(&h, path, token);
        assert_eq!(status, 403);
        assert_eq!(
            error_message(Flavour::Hinkskalle, status, &body),
            "Private image, access denied."
        );
    }
    assert_eq!(get(&h, path, Some(ALICE)).0, 200);

    d.update_options(|o| o.hide_private = true);
    assert_eq!(get(&d, path, Some(BOB)).0, 404);
    assert_eq!(get(&d, path, None).0, 404);

    // A private collection hides its containers too.
    d.add_collection("alice/hidden", true);
    d.add_image("alice/hidden/thing", sif(5, 5), "amd64", &["latest"], false);
    assert_eq!(
        get(
            &d,
            "/v1/images/alice/hidden/thing:latest?arch=amd64",
            Some(BOB)
        )
        .0,
        404
    );
    assert_eq!(get(&d, "/v1/collections/alice/hidden", Some(BOB)).0, 404);
    assert_eq!(
        get(
            &d,
            "/v1/images/alice/hidden/thing:latest?arch=amd64",
            Some(ALICE)
        )
        .0,
        200
    );
}

#[test]
fn tags_v1_and_v2() {
    for flavour in BOTH {
        let d = seeded(flavour);
        let k = get(&d, "/v1/containers/alice/pub/alpine", Some(ALICE)).1;
        let cid = k["data"]["id"].as_str().unwrap().to_owned();
        let images = d.images();
        let (amd, arm) = (&images[0].id, &images[1].id);

        let (status, v2) = get(&d, &format!("/v2/tags/{cid}"), Some(ALICE));
        assert_eq!(status, 200);
        assert_eq!(v2["data"]["amd64"]["latest"], *amd);
        assert_eq!(v2["data"]["arm64"]["latest"], *arm);
        let (_, v1) = get(&d, &format!("/v1/tags/{cid}"), Some(ALICE));
        assert!(v1["data"]["3.19"].is_string(), "{v1}");

        // Capitalised keys, as the Go client sends; exactly 200 (§12.5).
        let (status, _) = post(
            &d,
            &format!("/v2/tags/{cid}"),
            Some(ALICE),
            json!({"Arch": "arm64", "Tag": "stable", "ImageID": arm}),
        );
        assert_eq!(status, 200);
        let (status, _) = post(
            &d,
            &format!("/v1/tags/{cid}"),
            Some(ALICE),
            json!({"tag": "old", "imageID": amd}),
        );
        assert_eq!(status, 200);
        let (_, v2) = get(&d, &format!("/v2/tags/{cid}"), None);
        assert_eq!(v2["data"]["arm64"]["stable"], *arm);
        assert_eq!(v2["data"]["amd64"]["old"], *amd);
        assert_eq!(
            get(&d, "/v1/images/alice/pub/alpine:stable?arch=arm64", None).1["data"]["id"],
            *arm
        );
        assert_eq!(
            get(&d, "/v1/images/alice/pub/alpine:old", None).1["data"]["id"],
            *amd
        );

        // v2 without an arch is refused; others may not tag; unknown images 404.
        let (status, body) = post(
            &d,
            &format!("/v2/tags/{cid}"),
            Some(ALICE),
            json!({"Tag": "x", "ImageID": arm}),
        );
        assert_eq!(status, 400);
        if flavour == Flavour::Hinkskalle {
            assert_eq!(body["rebar_error_code"], "body_validation_failed");
        }
        let body = json!({"Arch": "amd64", "Tag": "x", "ImageID": amd});
        assert_eq!(
            post(&d, &format!("/v2/tags/{cid}"), Some(BOB), body.clone()).0,
            403
        );
        assert_eq!(post(&d, &format!("/v2/tags/{cid}"), None, body).0, 401);
        let body = json!({"Arch": "amd64", "Tag": "x", "ImageID": "999"});
        assert_eq!(
            post(&d, &format!("/v2/tags/{cid}"), Some(ALICE), body).0,
            404
        );

        // An empty image ID removes a tag.
        let body = json!({"Arch": "arm64", "Tag": "stable", "ImageID": ""});
        assert_eq!(
            post(&d, &format!("/v2/tags/{cid}"), Some(ALICE), body).0,
            200
        );
        assert_eq!(
            get(&d, "/v1/images/alice/pub/alpine:stable?arch=arm64", None).0,
            404
        );
    }
    // Hinkskalle also takes a map body.
    let h = seeded(Flavour::Hinkskalle);
    let cid = get(&h, "/v1/containers/alice/pub/alpine", Some(ALICE)).1["data"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let arm = h.images()[1].id.clone();
    let body = json!({"arm64": {"edge": arm}});
    assert_eq!(
        post(&h, &format!("/v2/tags/{cid}"), Some(ALICE), body).0,
        200
    );
    assert_eq!(
        get(&h, "/v1/images/alice/pub/alpine:edge?arch=arm64", None).0,
        200
    );
}

#[test]
fn create_chain_and_exists_codes() {
    for flavour in BOTH {
        let d = seeded(flavour);
        let exists = match flavour {
            Flavour::Sylabs => StatusCode::CONFLICT,
            Flavour::Hinkskalle => StatusCode::PRECONDITION_FAILED,
        };
        // Go's create bodies carry "id":"" and zero audit fields (§4.1).
        let zero = "0001-01-01T00:00:00Z";
        let (status, body) = post(
            &d,
            "/v1/entities",
            Some(ALICE),
            json!({"id": "", "name": "alice", "description": "No description", "createdAt": zero}),
        );
        assert_eq!(status, exists, "{body}");
        error_message(flavour, status, &body);
        let e = get(&d, "/v1/entities/alice", Some(ALICE)).1["data"]["id"].clone();

        let (status, c) = post(
            &d,
            "/v1/collections",
            Some(ALICE),
            json!({"id": "", "name": "tools", "description": "No description", "entity": e, "deletedAt": zero}),
        );
        assert_eq!(status, 200, "{c}");
        let cid = c["data"]["id"].clone();
        assert_eq!(c["data"]["entity"], e);
        let (status, _) = post(
            &d,
            "/v1/collections",
            Some(ALICE),
            json!({"name": "tools", "entity": e}),
        );
        assert_eq!(status, exists);
        // Bob may not create in alice's entity; nobody anonymously.
        assert_eq!(
            post(
                &d,
                "/v1/collections",
                Some(BOB),
                json!({"name": "x", "entity": e})
            )
            .0,
            403
        );
        assert_eq!(
            post(
                &d,
                "/v1/collections",
                None,
                json!({"name": "x", "entity": e})
            )
            .0,
            401
        );
        assert_eq!(
            post(
                &d,
                "/v1/collections",
                Some(ALICE),
                json!({"name": "Bad", "entity": e})
            )
            .0,
            400
        );

        let (status, k) = post(
            &d,
            "/v1/containers",
            Some(ALICE),
            json!({"id": "", "name": "jq", "description": "No description", "collection": cid}),
        );
        assert_eq!(status, 200, "{k}");
        let kid = k["data"]["id"].clone();
        assert_eq!(
            post(
                &d,
                "/v1/containers",
                Some(ALICE),
                json!({"name": "jq", "collection": cid})
            )
            .0,
            exists
        );

        let hash = format!("sha256.{}", sha256(b"hello"));
        let (status, img) = post(
            &d,
            "/v1/images",
            Some(ALICE),
            json!({"id": "", "hash": hash, "description": "first", "container": kid}),
        );
        assert_eq!(status, 200, "{img}");
        match flavour {
            Flavour::Sylabs => assert_eq!(img["data"]["uploaded"], false),
            Flavour::Hinkskalle => {
                assert_eq!(img["data"]["uploadState"], "initialized");
                assert!(img["data"]["size"].is_null());
            }
        }
        assert_eq!(
            post(
                &d,
                "/v1/images",
                Some(ALICE),
                json!({"hash": hash, "container": kid})
            )
            .0,
            exists
        );
        assert_eq!(
            post(
                &d,
                "/v1/images",
                Some(ALICE),
                json!({"hash": "md5.x", "container": kid})
            )
            .0,
            400
        );
        // The existence check the push flow makes (§5 step 7).
        let (status, got) = get(
            &d,
            &format!("/v1/images/alice/tools/jq:{hash}?arch=amd64"),
            Some(ALICE),
        );
        assert_eq!(status, 200);
        assert_eq!(got["data"]["id"], img["data"]["id"]);
        assert_eq!(got["data"]["description"], "first");

        // Entities: Sylabs lets any user create one; Hinkskalle only their own name.
        let (status, _) = post(&d, "/v1/entities", Some(BOB), json!({"name": "bobs-team"}));
        match flavour {
            Flavour::Sylabs => assert_eq!(status, 200),
            Flavour::Hinkskalle => assert_eq!(status, 403),
        }
    }
}

#[test]
fn search_filters() {
    for flavour in BOTH {
        let d = seeded(flavour);
        let token = Some(BOB);
        let (status, r) = get(&d, "/v1/search?value=alp", token);
        assert_eq!(status, 200, "{r}");
        let r = &r["data"];
        assert_eq!(r["container"].as_array().unwrap().len(), 1);
        assert_eq!(r["image"].as_array().unwrap().len(), 2);
        assert!(r["entity"].as_array().unwrap().is_empty());
        assert!(r["collection"].is_array());

        // arch and signed restrict the answer to images.
        let (_, r) = get(&d, "/v1/search?value=alpine&arch=arm64", token);
        let r = &r["data"];
        assert!(r["container"].as_array().unwrap().is_empty());
        let imgs = r["image"].as_array().unwrap();
        assert_eq!(imgs.len(), 1);
        assert_eq!(imgs[0]["arch"], "arm64");
        let (_, r) = get(&d, "/v1/search?value=alpine&arch=amd64,arm64", token);
        assert_eq!(r["data"]["image"].as_array().unwrap().len(), 2);
        let (_, r) = get(
            &d,
            "/v1/search?value=alpine&arch=amd64,arm64&signed=true",
            token,
        );
        let imgs = r["data"]["image"].as_array().unwrap().clone();
        assert_eq!(imgs.len(), 1);
        assert_eq!(imgs[0]["signed"], true);
        assert_eq!(imgs[0]["tags"], json!(["3.19", "latest"]));

        // By hash prefix.
        let hash = d.images()[1].hash.clone();
        let (_, r) = get(&d, &format!("/v1/search?value={}", &hash[7..20]), token);
        assert_eq!(r["data"]["image"][0]["hash"], hash);

        // Private data only for its owner.
        let (_, r) = get(&d, "/v1/search?value=secret", token);
        assert!(r["data"]["container"].as_array().unwrap().is_empty());
        assert!(r["data"]["image"].as_array().unwrap().is_empty());
        let (_, r) = get(&d, "/v1/search?value=secret", Some(ALICE));
        assert_eq!(r["data"]["container"].as_array().unwrap().len(), 1);

        let (_, r) = get(&d, "/v1/search?value=alice", token);
        assert_eq!(r["data"]["entity"][0]["name"], "alice");

        assert_eq!(get(&d, "/v1/search", token).0, 400);
        let anon = get(&d, "/v1/search?value=alpine", None).0;
        match flavour {
            Flavour::Sylabs => assert_eq!(anon, 200),
            Flavour::Hinkskalle => assert_eq!(anon, 401),
        }
    }
}

#[test]
fn delete_image_and_its_tags() {
    for flavour in BOTH {
        let d = seeded(flavour);
        let path = "/v1/images/alice/pub/alpine:latest?arch=arm64";
        let del = |token: Option<&str>| {
            json(
                with_token(client().delete(format!("{}{path}", d.url())), token)
                    .send()
                    .unwrap(),
            )
        };
        assert_eq!(del(None).0, 401);
        assert_eq!(del(Some(BOB)).0, 403);
        let (status, body) = del(Some(ALICE));
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["data"]["arch"], "arm64");
        assert_eq!(get(&d, path, None).0, 404);
        assert_eq!(del(Some(ALICE)).0, 404);
        assert_eq!(d.images().len(), 2);
        assert!(d.images().iter().all(|i| i.arch != "arm64"));
        let k = get(&d, "/v1/containers/alice/pub/alpine", Some(ALICE)).1;
        assert!(k["data"]["archTags"].get("arm64").is_none(), "{k}");
        // The amd64 image is untouched.
        assert_eq!(
            get(&d, "/v1/images/alice/pub/alpine:latest?arch=amd64", None).0,
            200
        );
    }
}

#[test]
fn requests_are_recorded() {
    let d = seeded(Flavour::Sylabs);
    let r = client()
        .get(format!(
            "{}//v1/images/alice/pub/alpine:latest?arch=amd64",
            d.url()
        ))
        .header("Authorization", format!("Bearer {ALICE}"))
        .header("User-Agent", "Apptainer/1.3 (Linux amd64) Go/1.22")
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    post(&d, "/v1/entities", Some(ALICE), json!({"name": "zed"}));
    let reqs = d.requests();
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[0].method, "GET");
    assert_eq!(reqs[0].path, "//v1/images/alice/pub/alpine:latest");
    assert_eq!(reqs[0].query, "arch=amd64");
    assert_eq!(
        reqs[0].authorization.as_deref(),
        Some(&*format!("Bearer {ALICE}"))
    );
    assert!(reqs[0]
        .user_agent
        .as_deref()
        .unwrap()
        .starts_with("Apptainer/"));
    assert_eq!(reqs[1].body.as_deref(), Some(r#"{"name":"zed"}"#));
    d.clear_requests();
    assert!(d.requests().is_empty());
}
