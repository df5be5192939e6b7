//! The client against a Sylabs-flavoured server: hex IDs, json-resp envelopes and errors,
//! 409 for "exists", arch-aware v2 tags, no list routes.

mod common;

use axum::extract::{Path, RawQuery};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use berth_library::{
    discover, service_version, ApiLevel, LibraryRef, RemoteOptions, SearchQuery, Timeouts,
    TokenStatus, Url,
};
use common::{client, json, query_pairs, serve};

const TOKEN: &str = "good-token";
const ENTITY_ID: &str = "5cb9c34d7d960d82f5f5bc50";
const COLL_ID: &str = "5cb9c34d7d960d82f5f5bc51";
const CONT_ID: &str = "5cb9c34d7d960d82f5f5bc52";
const IMG_ID: &str = "5cb9c34d7d960d82f5f5bc53";
const HASH: &str = "sha256.d7a1d7e6a9f0d3b6b0c0c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f70819";

fn authed(h: &HeaderMap) -> bool {
    h.get("authorization").and_then(|v| v.to_str().ok()) == Some(&format!("Bearer {TOKEN}"))
}

fn err(code: u16, msg: &str) -> Response {
    json(
        code,
        format!(r#"{{"error":{{"code":{code},"message":"{msg}"}}}}"#),
    )
}

fn image_json() -> String {
    format!(
        r#"{{"id":"{IMG_ID}","hash":"{HASH}","description":"Alpine","container":"{CONT_ID}","size":2719744,
            "uploaded":true,"signed":true,"arch":"amd64","fingerprints":["8883491F4268F173C6E5DC49EDECE4F3F38D871E"],
            "encrypted":false,"customData":"","entity":"{ENTITY_ID}","entityName":"library","collection":"{COLL_ID}",
            "collectionName":"default","containerName":"alpine","tags":["latest","3.19"],"containerDescription":"",
            "containerStars":3,"containerDownloads":1000,"deleted":false,"createdBy":"{ENTITY_ID}",
            "createdAt":"2024-01-02T03:04:05Z","updatedAt":"0001-01-01T00:00:00Z","deletedAt":"0001-01-01T00:00:00Z"}}"#
    )
}

fn sylabs() -> Router {
    Router::new()
        .route(
            "/assets/config/config.prod.json",
            get(|h: HeaderMap| async move {
                // Point the services back at this server, as a real front-end would.
                let host = h.get("host").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
                json(200, format!(
                    r#"{{"libraryAPI":{{"uri":"http://{host}","registryUri":"https://registry.example"}},"keystoreAPI":{{"uri":"https://keys.example"}},"tokenAPI":{{"uri":"http://{host}"}},"consentAPI":{{"uri":null}}}}"#
                ))
            }),
        )
        .route("/version", get(|| async { json(200, r#"{"data":{"version":"v1.2.0-5","apiVersion":"2.0.0-alpha.2"}}"#) }))
        .route(
            "/v1/entities/{e}",
            get(|Path(e): Path<String>| async move {
                if e == "library" {
                    json(200, format!(r#"{{"data":{{"id":"{ENTITY_ID}","name":"library","description":"Official","collections":["{COLL_ID}"],"size":0,"quota":0,"defaultPrivate":false,"customData":""}}}}"#))
                } else {
                    err(404, "Not found")
                }
            }),
        )
        .route(
            "/v1/entities",
            axum::routing::post(|h: HeaderMap, body: String| async move {
                if !authed(&h) {
                    return err(401, "Not authorized - please authenticate");
                }
                let v: serde_json::Value = serde_json::from_str(&body).unwrap();
                if v["name"] == "library" {
                    return err(409, "entity already exists");
                }
                json(201, format!(r#"{{"data":{{"id":"5cb9c34d7d960d82f5f5bc99","name":{},"description":{}}}}}"#, v["name"], v["description"]))
            }),
        )
        .route(
            "/v1/collections/{id}",
            get(|Path(id): Path<String>| async move {
                // No list route on this flavour: a single segment is only an ID.
                if id == COLL_ID {
                    json(200, format!(r#"{{"data":{{"id":"{COLL_ID}","name":"default","entity":"{ENTITY_ID}","containers":["{CONT_ID}"],"private":false}}}}"#))
                } else {
                    err(404, "Not found")
                }
            }),
        )
        .route(
            "/v1/collections/{e}/{c}",
            get(|Path((e, c)): Path<(String, String)>| async move {
                if (e.as_str(), c.as_str()) == ("library", "default") {
                    json(200, format!(r#"{{"data":{{"id":"{COLL_ID}","name":"default","entity":"{ENTITY_ID}","entityName":"library","containers":["{CONT_ID}"]}}}}"#))
                } else {
                    err(404, "Not found")
                }
            }),
        )
        .route(
            "/v1/containers/{id}",
            get(|Path(id): Path<String>| async move {
                if id == CONT_ID { json(200, container_json()) } else { err(404, "Not found") }
            }),
        )
        .route(
            "/v1/containers/{e}/{c}/{n}",
            get(|Path((e, c, n)): Path<(String, String, String)>| async move {
                if (e.as_str(), c.as_str(), n.as_str()) == ("library", "default", "alpine") {
                    json(200, container_json())
                } else {
                    err(404, "Not found")
                }
            }),
        )
        .route(
            "/v1/containers",
            axum::routing::post(|body: String| async move {
                let v: serde_json::Value = serde_json::from_str(&body).unwrap();
                if v["name"] == "full" {
                    return err(507, "Insufficient storage");
                }
                json(200, format!(r#"{{"data":{{"id":"c-new","name":{},"collection":{}}}}}"#, v["name"], v["collection"]))
            }),
        )
        .route(
            "/v1/images/{*rest}",
            get(|Path(rest): Path<String>, RawQuery(q): RawQuery| async move {
                let q = query_pairs(&q.unwrap_or_default());
                let arch = q.iter().find(|(k, _)| k == "arch").map(|(_, v)| v.clone());
                let Some(arch) = arch else { return err(400, "arch parameter missing") };
                let ok = match rest.as_str() {
                    "library/default/alpine:latest" => arch == "amd64" || arch.is_empty(),
                    r => r == format!("library/default/alpine:{HASH}"),
                };
                if ok { json(200, format!(r#"{{"data":{}}}"#, image_json())) } else { err(404, "Not found") }
            })
            .delete(|h: HeaderMap, Path(rest): Path<String>| async move {
                if !authed(&h) {
                    return err(401, "Not authorized - please authenticate");
                }
                if rest == "library/default/alpine:3.19" { json(200, format!(r#"{{"data":{}}}"#, image_json())) } else { err(404, "Not found") }
            }),
        )
        .route(
            "/v2/tags/{cid}",
            get(|| async { json(200, format!(r#"{{"data":{{"amd64":{{"latest":"{IMG_ID}"}},"arm64":{{"latest":"5cb9c34d7d960d82f5f5bc54"}}}}}}"#)) })
                .post(|| async { json(200, "") }),
        )
        .route(
            "/v1/search",
            get(|| async {
                json(200, format!(r#"{{"data":{{"entity":[],"collection":[],"container":[],"image":[{}]}}}}"#, image_json()))
            }),
        )
        .route(
            "/v1/rbac/users/current",
            get(|h: HeaderMap| async move {
                if authed(&h) {
                    json(200, r#"{"username":"jo","email":"jo@example.com","realname":"Jo Doe","oidc_user_meta":{"secret":"registry-secret"}}"#)
                } else {
                    err(401, "Not authorized - please authenticate")
                }
            }),
        )
        .route(
            "/v1/token-status",
            get(|h: HeaderMap| async move { if authed(&h) { json(200, "{}") } else { err(404, "Invalid Credentials") } }),
        )
}

fn container_json() -> String {
    format!(
        r#"{{"data":{{"id":"{CONT_ID}","name":"alpine","collection":"{COLL_ID}","images":["{IMG_ID}","5cb9c34d7d960d82f5f5bc54"],
            "imageTags":{{"latest":"{IMG_ID}"}},"archTags":{{"amd64":{{"latest":"{IMG_ID}"}}}},"downloadCount":1000,"stars":3,
            "private":false,"readOnly":false,"entity":"{ENTITY_ID}","entityName":"library","collectionName":"default"}}}}"#
    )
}

async fn server() -> (String, common::Log) {
    serve(sylabs()).await
}

#[tokio::test]
async fn discovery_and_version() {
    let (base, _log) = server().await;
    let opts = RemoteOptions {
        insecure_http: true,
        ..Default::default()
    };
    let front = base.trim_start_matches("http://");
    let eps = discover(front, &opts, Timeouts::default()).await.unwrap();
    assert_eq!(eps.library.as_ref().unwrap().as_str(), format!("{base}/"));
    assert_eq!(eps.token.as_ref().unwrap().as_str(), format!("{base}/"));
    assert_eq!(eps.keyserver.unwrap().as_str(), "https://keys.example/");
    assert_eq!(eps.registry.unwrap().as_str(), "https://registry.example/");
    assert!(eps.consent.is_none());

    let v = service_version(&Url::parse(&base).unwrap(), &opts, Timeouts::default())
        .await
        .unwrap();
    assert_eq!(v.version, "v1.2.0-5");
    assert_eq!(v.api_version.as_deref(), Some("2.0.0-alpha.2"));
    let c = client(&base, None);
    assert_eq!(c.api_level().await.unwrap(), ApiLevel::V2Tags);
    // Without `insecure_http` discovery speaks https, which a plain-http server cannot answer;
    // an explicit http:// URL is refused before any request.
    let e = discover(front, &RemoteOptions::default(), Timeouts::default())
        .await
        .unwrap_err();
    assert!(
        matches!(e.code(), "net.unreachable" | "net.tls_untrusted"),
        "{e}"
    );
    let e = discover(&base, &RemoteOptions::default(), Timeouts::default())
        .await
        .unwrap_err();
    assert_eq!(e.code(), "input.invalid");
}

#[tokio::test]
async fn reads_with_token_and_user_agent() {
    let (base, log) = server().await;
    let c = client(&base, Some(TOKEN));
    let e = c.get_entity("library").await.unwrap();
    assert_eq!((e.id.as_str(), e.collections.len()), (ENTITY_ID, 1));
    let seen = log.last();
    assert_eq!(
        seen.header("authorization").as_deref(),
        Some("Bearer good-token")
    );
    assert_eq!(
        seen.header("user-agent").unwrap(),
        format!("Berth/{}", env!("CARGO_PKG_VERSION"))
    );

    let col = c.get_collection("library", "default").await.unwrap();
    assert_eq!(col.entity, ENTITY_ID);
    let cont = c
        .get_container("library", "default", "alpine")
        .await
        .unwrap();
    assert_eq!(cont.arch_tags["amd64"]["latest"], IMG_ID);
    assert_eq!(cont.images.len(), 2);

    let r = LibraryRef::parse("library://library/default/alpine").unwrap();
    let img = c.get_image(&r, Some("amd64")).await.unwrap();
    assert!(img.is_uploaded());
    assert_eq!(img.size, Some(2_719_744));
    assert_eq!(img.tags, ["latest", "3.19"]);
    assert_eq!(log.last().query, "arch=amd64");
    // No arch → `arch=` is still sent (§4.5).
    c.get_image(&r, None).await.unwrap();
    assert_eq!(log.last().query, "arch=");
    // Arch mismatch → 404 (§12.14).
    let e = c.get_image(&r, Some("arm64")).await.unwrap_err();
    assert_eq!(e.code(), "library.not_found");
    // Hash refs ignore the arch.
    let by_hash = LibraryRef::parse(&format!("library://library/default/alpine:{HASH}")).unwrap();
    assert_eq!(
        c.get_image(&by_hash, Some("arm64")).await.unwrap().hash,
        HASH
    );
    // Bad names never reach the server.
    let before = log.all().len();
    assert_eq!(
        c.get_entity("Library").await.unwrap_err().code(),
        "ref.invalid"
    );
    assert_eq!(
        c.get_image(&r, Some("AMD64")).await.unwrap_err().code(),
        "ref.invalid"
    );
    assert_eq!(log.all().len(), before);
}

#[tokio::test]
async fn not_found_carries_server_message() {
    let (base, _log) = server().await;
    let c = client(&base, None);
    let e = c.get_entity("nobody").await.unwrap_err();
    assert_eq!(e.code(), "library.not_found");
    assert_eq!(e.status(), Some(404));
    assert_eq!(e.message(), "Not found");
    assert_eq!(e.to_string(), "GET /v1/entities/nobody: Not found (404)");
    assert!(!e.hint().is_empty());
}

#[tokio::test]
async fn listing_falls_back_to_ids_and_tags() {
    let (base, log) = server().await;
    let c = client(&base, Some(TOKEN));
    let cols = c.list_collections("library").await.unwrap();
    assert_eq!(cols.len(), 1);
    assert_eq!(cols[0].name, "default");
    assert_eq!(
        log.paths(),
        [
            "GET /v1/collections/library".to_owned(),
            "GET /v1/entities/library".into(),
            format!("GET /v1/collections/{COLL_ID}"),
        ]
    );
    let conts = c.list_containers("library", "default").await.unwrap();
    assert_eq!(conts.len(), 1);
    assert_eq!(conts[0].id, CONT_ID);
    let imgs = c.list_images("library", "default", "alpine").await.unwrap();
    // One image behind two tags → listed once.
    assert_eq!(imgs.len(), 1);
    let tags = c.container_tags(CONT_ID).await.unwrap();
    assert_eq!(
        tags.arch_tags["arm64"]["latest"],
        "5cb9c34d7d960d82f5f5bc54"
    );
    assert!(tags.image_tags.is_empty());
    assert!(log.paths().contains(&format!("GET /v2/tags/{CONT_ID}")));
    // Listing an unknown entity: fallback ends in the entity's 404.
    assert_eq!(
        c.list_collections("nobody").await.unwrap_err().code(),
        "library.not_found"
    );
}

#[tokio::test]
async fn creates_and_errors() {
    let (base, log) = server().await;
    let c = client(&base, Some(TOKEN));
    let e = c.create_entity("newuser", false).await.unwrap();
    assert_eq!(e.name, "newuser");
    assert_eq!(e.description, "No description");
    assert_eq!(log.last().json()["defaultPrivate"], false);
    let e = c.create_entity("library", false).await.unwrap_err();
    assert_eq!(e.code(), "library.exists");
    assert_eq!(e.message(), "entity already exists");
    let cont = c.create_container(COLL_ID, "alpine2", true).await.unwrap();
    assert_eq!(cont.collection, COLL_ID);
    let body = log.last().json();
    assert_eq!(body["collection"], COLL_ID);
    assert_eq!(body["private"], true);
    let e = c
        .create_container(COLL_ID, "full", false)
        .await
        .unwrap_err();
    assert_eq!(e.code(), "quota.exceeded");
    assert_eq!(
        e.to_string(),
        "POST /v1/containers: Insufficient storage (507)"
    );
    // POSTs are never retried: one request for the failed create.
    assert_eq!(
        log.paths()
            .iter()
            .filter(|p| *p == "POST /v1/containers")
            .count(),
        2
    );

    let anon = client(&base, None);
    let e = anon.create_entity("x-y", false).await.unwrap_err();
    assert_eq!(e.code(), "auth.token_invalid");
    assert_eq!(e.message(), "Not authorized - please authenticate");
}

#[tokio::test]
async fn tags_and_deletes() {
    let (base, log) = server().await;
    let c = client(&base, Some(TOKEN));
    c.set_tag(CONT_ID, "v2", IMG_ID, Some("arm64"))
        .await
        .unwrap();
    let seen = log.last();
    assert_eq!(seen.path, format!("/v2/tags/{CONT_ID}"));
    assert_eq!(
        seen.json(),
        serde_json::json!({"Arch":"arm64","Tag":"v2","ImageID":IMG_ID})
    );
    c.delete_tag(CONT_ID, "v2", Some("arm64")).await.unwrap();
    assert_eq!(log.last().json()["ImageID"], "");
    assert_eq!(
        c.set_tag(CONT_ID, "a,b", IMG_ID, None)
            .await
            .unwrap_err()
            .code(),
        "input.invalid"
    );

    let r = LibraryRef::parse("library://library/default/alpine:3.19").unwrap();
    c.delete_image(&r, Some("amd64")).await.unwrap();
    let seen = log.last();
    assert_eq!(
        (
            seen.method.as_str(),
            seen.path.as_str(),
            seen.query.as_str()
        ),
        (
            "DELETE",
            "/v1/images/library/default/alpine:3.19",
            "arch=amd64"
        )
    );
    let e = client(&base, None)
        .delete_image(&r, None)
        .await
        .unwrap_err();
    assert_eq!(e.code(), "auth.token_invalid");
}

#[tokio::test]
async fn search_params_and_short_query() {
    let (base, log) = server().await;
    let c = client(&base, None);
    let q = SearchQuery {
        value: "alp".into(),
        arch: Some("amd64,arm64".into()),
        signed: true,
    };
    let res = c.search(&q).await.unwrap();
    assert_eq!(res.images.len(), 1);
    assert_eq!(res.images[0].fingerprints.len(), 1);
    assert_eq!(log.last().query, "value=alp&arch=amd64%2Carm64&signed=true");
    c.search(&SearchQuery {
        value: "alpine".into(),
        ..Default::default()
    })
    .await
    .unwrap();
    assert_eq!(log.last().query, "value=alpine");
    let n = log.all().len();
    let e = c
        .search(&SearchQuery {
            value: " al ".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), "input.invalid");
    assert_eq!(log.all().len(), n, "short query must not reach the server");
    let e = c
        .search(&SearchQuery {
            value: "alpine".into(),
            arch: Some("amd64;rm".into()),
            signed: false,
        })
        .await;
    assert_eq!(e.unwrap_err().code(), "ref.invalid");
}

#[tokio::test]
async fn user_and_token_status() {
    let (base, log) = server().await;
    let token_url = Url::parse(&base).unwrap();
    let c = client(&base, Some(TOKEN));
    let u = c.current_user().await.unwrap();
    assert_eq!(
        (u.username.as_str(), u.email.as_str()),
        ("jo", "jo@example.com")
    );
    assert_eq!(
        u.registry_secret.as_ref().unwrap().expose(),
        "registry-secret"
    );
    assert_eq!(
        c.token_status(&token_url).await.unwrap(),
        TokenStatus::Valid { user: None }
    );
    assert_eq!(log.last().path, "/v1/token-status");

    let bad = client(&base, Some("expired"));
    assert_eq!(
        bad.token_status(&token_url).await.unwrap(),
        TokenStatus::Invalid { status: 404 }
    );
    assert_eq!(
        bad.current_user().await.unwrap_err().code(),
        "auth.token_invalid"
    );
    let none = client(&base, None);
    assert_eq!(
        none.token_status(&token_url).await.unwrap(),
        TokenStatus::Missing
    );
    // An empty token is no token: no Authorization header at all.
    let empty = client(&base, Some(""));
    assert!(!empty.has_token());
    let _ = empty.current_user().await;
    assert!(log.last().header("authorization").is_none());
}
