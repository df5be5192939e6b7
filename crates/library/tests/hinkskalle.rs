//! The client against a Hinkskalle-flavoured server (library-api.md §14): decimal IDs
//! (strings and numbers), `uploadState`, three error shapes, 412 for "exists", list routes,
//! token-status with the user; plus a legacy server without usable `/version`.

mod common;

use axum::extract::{Path, RawQuery};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use berth_library::{ApiLevel, LibraryRef, SearchQuery, TokenStatus, Url};
use common::{client, json, raw, serve};

const TOKEN: &str = "hinkskalle-token-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTU";

fn authed(h: &HeaderMap) -> bool {
    h.get("authorization").and_then(|v| v.to_str().ok()) == Some(&format!("Bearer {TOKEN}"))
}

fn unauthorized() -> Response {
    raw(
        401,
        &[
            ("content-type", "application/json"),
            ("www-authenticate", "bearer realm=\"http://127.0.0.1/v2/\""),
        ],
        r#"{"errors":[{"code":401,"detail":"Not Authorized","title":"Fail!"}],"status":"error"}"#,
    )
}

fn message(status: u16, msg: &str) -> Response {
    json(status, format!(r#"{{"message":"{msg}"}}"#))
}

const IMAGES: &str = r#"[
  {"id":"1","hash":"sha256.aaaa","container":"3","size":800517,"uploadState":"completed","arch":"amd64",
   "tags":["latest"],"signed":false,"encrypted":null,"createdAt":"2021-07-01T10:00:00+00:00","entityName":"test",
   "collectionName":"default","containerName":"hello","containerStars":0,"containerDownloads":null},
  {"id":2,"hash":"sha256.bbbb","container":3,"size":null,"uploadState":"initialized","arch":null,"tags":[]}
]"#;

fn hinkskalle() -> Router {
    Router::new()
        .route("/version", get(|| async { json(200, r#"{"data":{"version":"v4.6.0","apiVersion":"2.0.0-alpha.2"}}"#) }))
        .route(
            "/v1/entities/{e}",
            get(|h: HeaderMap, Path(e): Path<String>| async move {
                if !authed(&h) {
                    return unauthorized();
                }
                if e == "test" {
                    json(200, r#"{"data":{"id":"1","name":"test","description":"","defaultPrivate":false,"quota":0,"size":800517,"usedQuota":800517,"createdAt":"2021-07-01T10:00:00+00:00","updatedAt":null,"deleted":false,"canEdit":true}}"#)
                } else {
                    message(404, &format!("entity {e} not found"))
                }
            }),
        )
        .route(
            "/v1/entities",
            post(|h: HeaderMap, body: String| async move {
                if !authed(&h) {
                    return unauthorized();
                }
                let v: serde_json::Value = serde_json::from_str(&body).unwrap();
                match v["name"].as_str() {
                    Some("test") => message(412, "Entity test already exists"),
                    Some("other") => message(403, "Cannot create entity for other user"),
                    _ => json(
                        400,
                        r#"{"errors":{"name":["Invalid value."]},"message":"JSON body parameters are invalid.","rebar_error_code":"body_validation_failed"}"#,
                    ),
                }
            }),
        )
        .route(
            "/v1/collections/{e}",
            get(|h: HeaderMap, Path(e): Path<String>| async move {
                if !authed(&h) {
                    return unauthorized();
                }
                if e != "test" {
                    return message(404, &format!("entity {e} not found"));
                }
                json(200, r#"{"data":[{"id":"2","name":"default","entity":"1","entityName":"test","private":false,"size":800517},{"id":5,"name":"other","entity":1,"private":true}]}"#)
            }),
        )
        .route(
            "/v1/collections",
            post(|body: String| async move {
                let v: serde_json::Value = serde_json::from_str(&body).unwrap();
                json(200, format!(r#"{{"data":{{"id":"6","name":{},"entity":{}}}}}"#, v["name"], v["entity"]))
            }),
        )
        .route(
            "/v1/containers/{e}/{c}",
            get(|| async { json(200, r#"{"data":[{"id":"3","name":"hello","collection":"2","archTags":{"amd64":{"latest":"1"}},"imageTags":{"latest":1},"downloadCount":12,"readOnly":false}]}"#) }),
        )
        .route("/v1/containers/{e}/{c}/{n}/images", get(|| async { json(200, format!(r#"{{"data":{IMAGES}}}"#)) }))
        .route(
            "/v1/images/{*rest}",
            get(|h: HeaderMap, Path(rest): Path<String>, RawQuery(q): RawQuery| async move {
                let _ = q;
                match rest.as_str() {
                    "test/private/secret:latest" if !authed(&h) => message(403, "Private image, access denied."),
                    "hello:latest" => message(404, "entity default not found"),
                    _ => message(404, "image not found"),
                }
            }),
        )
        .route(
            "/v1/search",
            get(|h: HeaderMap| async move {
                if !authed(&h) {
                    return unauthorized();
                }
                json(200, format!(r#"{{"data":{{"entity":[{{"id":"1","name":"test"}}],"collection":[],"container":[],"image":{IMAGES}}}}}"#))
            }),
        )
        .route(
            "/v1/token-status",
            get(|h: HeaderMap| async move {
                if authed(&h) {
                    json(200, r#"{"status":"welcome","data":{"id":"1","username":"test","email":"test@example.com","firstname":"Test","lastname":"User","quota":0,"used_quota":800517,"isAdmin":false}}"#)
                } else {
                    unauthorized()
                }
            }),
        )
}

#[tokio::test]
async fn reads_need_auth_and_report_hinkskalle_errors() {
    let (base, _log) = serve(hinkskalle()).await;
    let anon = client(&base, None);
    let e = anon.get_entity("test").await.unwrap_err();
    assert_eq!(e.code(), "auth.token_invalid");
    assert_eq!(e.message(), "Not Authorized");
    assert_eq!(e.status(), Some(401));

    let c = client(&base, Some(TOKEN));
    let ent = c.get_entity("test").await.unwrap();
    assert_eq!((ent.id.as_str(), ent.used_quota), ("1", 800_517));
    assert_eq!(ent.audit.updated_at, None);
    let e = c.get_entity("nobody").await.unwrap_err();
    assert_eq!(
        (e.code(), e.message()),
        ("library.not_found", "entity nobody not found")
    );

    // Private image anonymously → 403, not 404.
    let r = LibraryRef::parse("library://test/private/secret").unwrap();
    let e = anon.get_image(&r, Some("amd64")).await.unwrap_err();
    assert_eq!(e.code(), "auth.forbidden");
    assert_eq!(e.message(), "Private image, access denied.");
    // Short ref resolved server-side to default/default, which may not exist.
    let e = anon
        .get_image(&LibraryRef::parse("library://hello").unwrap(), None)
        .await
        .unwrap_err();
    assert_eq!(e.message(), "entity default not found");
}

#[tokio::test]
async fn list_routes_with_decimal_ids() {
    let (base, log) = serve(hinkskalle()).await;
    let c = client(&base, Some(TOKEN));
    let cols = c.list_collections("test").await.unwrap();
    assert_eq!(
        cols.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(),
        ["2", "5"]
    );
    assert_eq!(cols[1].entity, "1");
    assert!(cols[1].private);
    assert_eq!(
        log.paths(),
        ["GET /v1/collections/test"],
        "list route used, no fallback"
    );

    let conts = c.list_containers("test", "default").await.unwrap();
    assert_eq!(conts[0].arch_tags["amd64"]["latest"], "1");
    assert_eq!(conts[0].image_tags["latest"], "1");
    let imgs = c.list_images("test", "default", "hello").await.unwrap();
    assert_eq!(imgs.len(), 2);
    assert!(imgs[0].is_uploaded());
    assert!(!imgs[0].uploaded, "Hinkskalle has no `uploaded` flag");
    assert_eq!(imgs[1].id, "2");
    assert_eq!(imgs[1].size, None);
    assert!(!imgs[1].is_uploaded());
    let e = c.list_collections("nobody").await.unwrap_err();
    // A 404 on the list route falls back to the entity, whose 404 is reported.
    assert_eq!(e.message(), "entity nobody not found");
}

#[tokio::test]
async fn creates_exists_is_412_and_validation_is_400() {
    let (base, log) = serve(hinkskalle()).await;
    let c = client(&base, Some(TOKEN));
    let e = c.create_entity("test", false).await.unwrap_err();
    assert_eq!((e.code(), e.status()), ("library.exists", Some(412)));
    assert_eq!(e.message(), "Entity test already exists");
    let e = c.create_entity("other", false).await.unwrap_err();
    assert_eq!(e.code(), "auth.forbidden");
    let e = c.create_entity("weird", false).await.unwrap_err();
    assert_eq!(e.code(), "library.rejected");
    assert_eq!(
        e.message(),
        "JSON body parameters are invalid. (name: Invalid value.)"
    );
    let col = c.create_collection("1", "new-coll", false).await.unwrap();
    assert_eq!((col.id.as_str(), col.entity.as_str()), ("6", "1"));
    assert_eq!(log.last().json()["entity"], "1");
}

#[tokio::test]
async fn search_and_token_status_with_user() {
    let (base, _log) = serve(hinkskalle()).await;
    let c = client(&base, Some(TOKEN));
    let res = c
        .search(&SearchQuery {
            value: "hello".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(res.entities[0].id, "1");
    assert_eq!(res.images.len(), 2);
    let e = client(&base, None)
        .search(&SearchQuery {
            value: "hello".into(),
            ..Default::default()
        })
        .await;
    assert_eq!(e.unwrap_err().code(), "auth.token_invalid");

    let token_url = Url::parse(&base).unwrap();
    match c.token_status(&token_url).await.unwrap() {
        TokenStatus::Valid { user: Some(u) } => {
            assert_eq!(u.username, "test");
            assert_eq!(u.display_name(), "Test User");
            assert_eq!(u.used_quota, 800_517);
        }
        other => panic!("{other:?}"),
    }
    // Hinkskalle answers a bad token with 401.
    let bad = client(&base, Some("nope"));
    assert_eq!(
        bad.token_status(&token_url).await.unwrap(),
        TokenStatus::Invalid { status: 401 }
    );
    // No /v1/rbac/users/current here.
    assert_eq!(
        c.current_user().await.unwrap_err().code(),
        "library.not_found"
    );
    assert_eq!(c.api_level().await.unwrap(), ApiLevel::V2Tags);
}

/// A server whose `/version` has a `v`-prefixed apiVersion: legacy tags (§12.2).
fn legacy(version_body: &'static str) -> Router {
    Router::new()
        .route(
            "/version",
            get(move || async move { json(200, version_body) }),
        )
        .route(
            "/v1/tags/{cid}",
            get(|| async { json(200, r#"{"data":{"latest":"11","old":12}}"#) })
                .post(|| async { json(200, "") }),
        )
}

#[tokio::test]
async fn legacy_servers_use_v1_tags() {
    for body in [
        r#"{"data":{"version":"v1","apiVersion":"v2.0.0"}}"#,
        "not json",
        r#"{"data":{"version":"v0.9"}}"#,
    ] {
        let (base, log) = serve(legacy(body)).await;
        let c = client(&base, Some(TOKEN));
        assert_eq!(c.api_level().await.unwrap(), ApiLevel::Legacy, "{body}");
        let tags = c.container_tags("7").await.unwrap();
        assert_eq!(tags.image_tags["old"], "12");
        assert!(tags.arch_tags.is_empty());
        c.set_tag("7", "v1", "11", Some("amd64")).await.unwrap();
        let seen = log.last();
        assert_eq!(seen.path, "/v1/tags/7");
        assert_eq!(seen.json(), serde_json::json!({"Tag":"v1","ImageID":"11"}));
        // `/version` asked once per client.
        assert_eq!(
            log.paths().iter().filter(|p| *p == "GET /version").count(),
            1
        );
    }
    // No /version at all (404) → legacy too.
    let (base, _log) = serve(Router::new()).await;
    assert_eq!(
        client(&base, None).api_level().await.unwrap(),
        ApiLevel::Legacy
    );
}
