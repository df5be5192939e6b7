//! Loopback axum servers for the integration tests. Each test starts its own router on
//! 127.0.0.1 with an OS-chosen port; the server task ends with the test's runtime.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::body::{to_bytes, Body};
use axum::extract::Request;
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::Router;

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub query: String,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

/// Requests seen by a server, in order.
#[derive(Clone, Default)]
pub struct Log(Arc<Mutex<Vec<Seen>>>);

impl Log {
    pub fn all(&self) -> Vec<Seen> {
        self.0.lock().unwrap().clone()
    }

    pub fn paths(&self) -> Vec<String> {
        self.all()
            .into_iter()
            .map(|s| format!("{} {}", s.method, s.path))
            .collect()
    }

    pub fn last(&self) -> Seen {
        self.all().pop().expect("no request seen")
    }
}

/// Serves `router` on 127.0.0.1, recording every request (body included).
pub async fn serve(router: Router) -> (String, Log) {
    let log = Log::default();
    let rec = log.clone();
    let router = router.layer(middleware::from_fn(move |req: Request, next: Next| {
        let rec = rec.clone();
        async move {
            let (parts, body) = req.into_parts();
            let bytes = to_bytes(body, 1 << 20).await.unwrap_or_default();
            rec.0.lock().unwrap().push(Seen {
                method: parts.method.to_string(),
                path: parts.uri.path().to_owned(),
                query: parts.uri.query().unwrap_or_default().to_owned(),
                headers: parts.headers.clone(),
                body: bytes.to_vec(),
            });
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
    }));
    let addr = spawn(router).await;
    (format!("http://{addr}"), log)
}

pub async fn spawn(router: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    addr
}

/// A JSON response with a status.
pub fn json(status: u16, body: impl Into<String>) -> Response {
    Response::builder()
        .status(StatusCode::from_u16(status).unwrap())
        .header("content-type", "application/json")
        .body(Body::from(body.into()))
        .unwrap()
}

/// Any response with a status, headers and body.
pub fn raw(status: u16, headers: &[(&str, &str)], body: impl Into<String>) -> Response {
    let mut b = Response::builder().status(StatusCode::from_u16(status).unwrap());
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    b.body(Body::from(body.into())).unwrap()
}

/// Query string → pairs (no percent-decoding needed beyond what tests send).
pub fn query_pairs(q: &str) -> Vec<(String, String)> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (k.to_owned(), v.to_owned())
        })
        .collect()
}

/// A client for `base` without retries' long waits, with an optional token.
pub fn client(base: &str, token: Option<&str>) -> berth_library::LibraryClient {
    berth_library::LibraryClient::builder(base)
        .token(token.map(berth_library::Secret::new))
        .options(berth_library::RemoteOptions {
            insecure_http: true,
            ..Default::default()
        })
        .retry(berth_library::RetryPolicy {
            max_retries: 2,
            initial_backoff: std::time::Duration::from_millis(10),
            max_backoff: std::time::Duration::from_millis(50),
        })
        .build()
        .unwrap()
}
