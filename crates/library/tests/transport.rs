//! Retries, timeouts, unreachable servers, redirects, odd bodies and token redaction.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use axum::routing::{get, post};
use axum::Router;
use berth_library::{LibraryClient, RemoteOptions, RetryPolicy, Secret, Timeouts};
use common::{client, json, raw, serve};

const ENTITY: &str = r#"{"data":{"id":"e1","name":"e"}}"#;

/// Answers 503 `failures` times, then 200.
fn flaky(failures: usize, hits: Arc<AtomicUsize>, retry_after: bool) -> Router {
    Router::new().route(
        "/v1/entities/e",
        get(move || {
            let hits = hits.clone();
            async move {
                let n = hits.fetch_add(1, Ordering::SeqCst);
                if n < failures {
                    let headers: &[(&str, &str)] = if retry_after {
                        &[("retry-after", "0")]
                    } else {
                        &[]
                    };
                    raw(503, headers, "<html>Service Unavailable</html>")
                } else {
                    json(200, ENTITY)
                }
            }
        }),
    )
}

#[tokio::test]
async fn get_is_retried_on_503_then_succeeds() {
    let hits = Arc::new(AtomicUsize::new(0));
    let (base, _log) = serve(flaky(2, hits.clone(), false)).await;
    let e = client(&base, None).get_entity("e").await.unwrap();
    assert_eq!(e.id, "e1");
    assert_eq!(hits.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn retries_are_bounded() {
    let hits = Arc::new(AtomicUsize::new(0));
    let (base, _log) = serve(flaky(100, hits.clone(), true)).await;
    let e = client(&base, None).get_entity("e").await.unwrap_err();
    assert_eq!(e.code(), "library.server_error");
    assert_eq!(e.status(), Some(503));
    assert_eq!(e.message(), "Service Unavailable");
    // First attempt + max_retries (2) of the test client.
    assert_eq!(hits.load(Ordering::SeqCst), 3);

    let hits = Arc::new(AtomicUsize::new(0));
    let (base, _log) = serve(flaky(100, hits.clone(), false)).await;
    let none = LibraryClient::builder(&base)
        .options(RemoteOptions {
            insecure_http: true,
            ..Default::default()
        })
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    none.get_entity("e").await.unwrap_err();
    assert_eq!(hits.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn posts_are_not_retried() {
    let hits = Arc::new(AtomicUsize::new(0));
    let h = hits.clone();
    let router = Router::new().route(
        "/v1/entities",
        post(move || {
            let h = h.clone();
            async move {
                h.fetch_add(1, Ordering::SeqCst);
                json(503, r#"{"error":{"code":503,"message":"down"}}"#)
            }
        }),
    );
    let (base, _log) = serve(router).await;
    let e = client(&base, Some("t"))
        .create_entity("x", false)
        .await
        .unwrap_err();
    assert_eq!((e.code(), e.message()), ("library.server_error", "down"));
    assert_eq!(hits.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn slow_server_times_out() {
    let router = Router::new().route(
        "/v1/entities/e",
        get(|| async {
            tokio::time::sleep(Duration::from_secs(5)).await;
            json(200, ENTITY)
        }),
    );
    let (base, _log) = serve(router).await;
    let c = LibraryClient::builder(&base)
        .options(RemoteOptions {
            insecure_http: true,
            ..Default::default()
        })
        .timeouts(Timeouts {
            connect: Duration::from_secs(1),
            request: Duration::from_millis(200),
        })
        .retry(RetryPolicy {
            max_retries: 1,
            initial_backoff: Duration::from_millis(10),
            max_backoff: Duration::from_millis(10),
        })
        .build()
        .unwrap();
    let started = Instant::now();
    let e = c.get_entity("e").await.unwrap_err();
    assert_eq!(e.code(), "net.timeout", "{e:?}");
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn connection_refused_is_unreachable() {
    // Bind, learn the port, close: nothing listens there any more.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let e = client(&format!("http://127.0.0.1:{port}"), None)
        .get_entity("e")
        .await
        .unwrap_err();
    assert_eq!(e.code(), "net.unreachable", "{e:?}");
    assert_eq!(e.status(), None);
    assert!(
        e.to_string()
            .starts_with("GET /v1/entities/e: could not connect"),
        "{e}"
    );
}

#[tokio::test]
async fn odd_bodies_are_bad_responses() {
    let router = Router::new()
        .route(
            "/v1/entities/html",
            get(|| async { raw(200, &[("content-type", "text/html")], "<html>login</html>") }),
        )
        .route(
            "/v1/entities/nodata",
            get(|| async { json(200, r#"{"status":"ok"}"#) }),
        )
        .route(
            "/v1/entities/wrongtype",
            get(|| async { json(200, r#"{"data":[1,2]}"#) }),
        )
        .route(
            "/v1/entities/enverr",
            get(|| async {
                json(
                    200,
                    r#"{"data":null,"error":{"code":403,"message":"nope"}}"#,
                )
            }),
        )
        .route("/v1/entities/empty", get(|| async { raw(404, &[], "") }));
    let (base, _log) = serve(router).await;
    let c = client(&base, None);
    for name in ["html", "nodata", "wrongtype"] {
        assert_eq!(
            c.get_entity(name).await.unwrap_err().code(),
            "library.bad_response",
            "{name}"
        );
    }
    // A json-resp error inside a 200 is still an error.
    let e = c.get_entity("enverr").await.unwrap_err();
    assert_eq!((e.code(), e.message()), ("auth.forbidden", "nope"));
    let e = c.get_entity("empty").await.unwrap_err();
    assert_eq!((e.code(), e.message()), ("library.not_found", "Not Found"));
}

#[tokio::test]
async fn same_origin_redirect_keeps_auth_other_port_drops_it() {
    // Target server on another port: must not see the token.
    let other = Router::new().route(
        "/v1/entities/moved",
        get(|h: HeaderMap| async move {
            let auth = h.contains_key("authorization");
            json(
                200,
                format!(r#"{{"data":{{"id":"{auth}","name":"moved"}}}}"#),
            )
        }),
    );
    let (other_base, _other_log) = serve(other).await;
    let target = format!("{other_base}/v1/entities/moved");
    let router = Router::new()
        .route(
            "/v1/entities/old",
            get(|| async { raw(307, &[("location", "/v1/entities/new")], "") }),
        )
        .route(
            "/v1/entities/see",
            get(|| async { raw(303, &[("location", "/v1/entities/new")], "") }),
        )
        .route(
            "/v1/entities/new",
            get(|h: HeaderMap| async move {
                let auth = h.contains_key("authorization");
                json(200, format!(r#"{{"data":{{"id":"{auth}","name":"new"}}}}"#))
            }),
        )
        .route(
            "/v1/entities/away",
            get(move || {
                let target = target.clone();
                async move { raw(302, &[("location", &target)], "") }
            }),
        );
    let (base, log) = serve(router).await;
    let c = client(&base, Some("secret-token"));
    let e = c.get_entity("old").await.unwrap();
    assert_eq!((e.name.as_str(), e.id.as_str()), ("new", "true"));
    assert_eq!(
        log.last().header("authorization").as_deref(),
        Some("Bearer secret-token")
    );
    // Metadata calls follow 303 like any redirect (only image downloads treat it specially).
    assert_eq!(c.get_entity("see").await.unwrap().name, "new");
    let e = c.get_entity("away").await.unwrap();
    assert_eq!((e.name.as_str(), e.id.as_str()), ("moved", "false"));
}

#[tokio::test]
async fn token_never_shows_in_debug_or_errors() {
    let router = Router::new().route(
        "/v1/entities/e",
        get(|| async { json(401, r#"{"error":{"code":401,"message":"token expired"}}"#) }),
    );
    let (base, _log) = serve(router).await;
    let token = "super-secret-token-value";
    let c = LibraryClient::builder(&base)
        .token(Some(Secret::new(token)))
        .options(RemoteOptions {
            insecure_http: true,
            proxy: None,
            ..Default::default()
        })
        .build()
        .unwrap();
    assert!(!format!("{c:?}").contains(token));
    assert!(format!("{c:?}").contains("has_token: true"));
    let e = c.get_entity("e").await.unwrap_err();
    assert_eq!(e.code(), "auth.token_invalid");
    assert_eq!(e.message(), "token expired");
    for text in [
        e.to_string(),
        format!("{e:?}"),
        format!("{:?}", std::error::Error::source(&e)),
    ] {
        assert!(!text.contains(token), "{text}");
    }
    // A token that cannot be a header value is refused, and not echoed either.
    let bad = client(&base, Some("line\nbreak"));
    let e = bad.get_entity("e").await.unwrap_err();
    assert_eq!(e.code(), "input.invalid");
    assert!(!e.to_string().contains("break"));
}

#[tokio::test]
async fn plain_http_needs_explicit_opt_in() {
    let e = LibraryClient::builder("http://127.0.0.1:1")
        .build()
        .unwrap_err();
    assert_eq!(e.code(), "input.invalid");
    let c = LibraryClient::builder("library.example.com")
        .build()
        .unwrap();
    assert_eq!(c.base_url().as_str(), "https://library.example.com/");
    let c = LibraryClient::builder("https://h.example/prefix")
        .build()
        .unwrap();
    assert_eq!(c.base_url().as_str(), "https://h.example/prefix/");
}

#[tokio::test]
async fn base_path_prefix_is_kept() {
    let router = Router::new().route(
        "/library/v1/entities/e",
        get(|| async { json(200, ENTITY) }),
    );
    let (base, log) = serve(router).await;
    client(&format!("{base}/library"), None)
        .get_entity("e")
        .await
        .unwrap();
    assert_eq!(log.last().path, "/library/v1/entities/e");
}
