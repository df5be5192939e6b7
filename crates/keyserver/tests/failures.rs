//! Authentication, failing servers, unreachable servers, timeouts, several keyservers, and
//! the rule that the token never shows in an error.

mod common;

use std::time::{Duration, Instant};

use berth_keyserver::{fetch_first, Error, Keyserver};
use berth_testkit::{KeystoreDouble, KeystoreOptions};
use common::*;

fn with_token(double: &KeystoreDouble, token: &str) -> Keyserver {
    Keyserver::builder(&double.url())
        .token(token)
        .build()
        .unwrap()
}

fn token_opts(token_for_lookup: bool) -> KeystoreOptions {
    KeystoreOptions {
        require_token: Some(TOKEN.to_owned()),
        token_for_lookup,
        ..Default::default()
    }
}

#[test]
fn submit_needs_the_token_when_the_server_does() {
    let double = KeystoreDouble::start(token_opts(false)).unwrap();

    let err = client(&double).submit(&read(E2E1)).unwrap_err();
    assert!(
        matches!(err, Error::Unauthorized { token_sent: false }),
        "{err:?}"
    );
    assert_eq!(err.code(), "keyserver.unauthorized");
    assert!(
        err.to_string().contains("requires an access token"),
        "{err}"
    );

    let err = with_token(&double, "wrong")
        .submit(&read(E2E1))
        .unwrap_err();
    assert!(
        matches!(err, Error::Unauthorized { token_sent: true }),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("rejected the access token"),
        "{err}"
    );
    assert!(double.fingerprints().is_empty());

    with_token(&double, TOKEN).submit(&read(E2E1)).unwrap();
    assert_eq!(double.fingerprints(), [E2E1_FPR]);
    let last = double.requests().pop().unwrap();
    assert_eq!(last.authorization, Some(format!("Bearer {TOKEN}")));

    // Lookups stay open unless the server says otherwise.
    assert_eq!(
        fingerprint_of(&client(&double).fetch(E2E1_FPR).unwrap()),
        E2E1_FPR
    );
}

#[test]
fn lookups_need_the_token_when_the_server_does() {
    let double = KeystoreDouble::start(token_opts(true)).unwrap();
    double.add_armored(&read(E2E1));

    assert!(matches!(
        client(&double).search("hpcng"),
        Err(Error::Unauthorized { token_sent: false })
    ));
    assert!(matches!(
        client(&double).fetch(E2E1_FPR),
        Err(Error::Unauthorized { token_sent: false })
    ));
    let ks = client(&double).with_token(TOKEN.to_owned());
    assert_eq!(ks.search("hpcng").unwrap()[0].fingerprint, E2E1_FPR);
    assert_eq!(fingerprint_of(&ks.fetch(E2E1_FPR).unwrap()), E2E1_FPR);
}

#[test]
fn empty_token_sends_no_header() {
    let double = double_with_keys(KeystoreOptions::default());
    client(&double)
        .with_token(String::new())
        .search("hpcng")
        .unwrap();
    assert_eq!(double.requests()[0].authorization, None);
}

#[test]
fn status_codes_map_to_errors() {
    for (status, code) in [
        (500, "keyserver.server_error"),
        (502, "keyserver.server_error"),
        (403, "keyserver.forbidden"),
        (400, "keyserver.rejected"),
        (404, "keyserver.not_found"),
        (401, "keyserver.unauthorized"),
    ] {
        let double = double_with_keys(KeystoreOptions {
            fail_with: Some(status),
            ..Default::default()
        });
        let ks = client(&double);
        for err in [
            ks.search("hpcng").unwrap_err(),
            ks.fetch(E2E1_FPR).unwrap_err(),
            ks.submit(&read(E2E1)).unwrap_err(),
        ] {
            assert_eq!(err.code(), code, "{status}: {err:?}");
        }
    }
}

#[test]
fn server_error_carries_the_servers_message() {
    let double = double_with_keys(KeystoreOptions {
        fail_with: Some(500),
        ..Default::default()
    });
    let err = client(&double).search("hpcng").unwrap_err();
    match &err {
        Error::Server { status, message } => {
            assert_eq!(*status, 500);
            assert_eq!(message, "Internal Server Error");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        err.to_string(),
        "keyserver error: Internal Server Error (500)"
    );

    // A plain-text error body is used as the message.
    let server = CannedServer::start(503, b"\n  down for maintenance \nmore".to_vec());
    let err = Keyserver::new(&server.url())
        .unwrap()
        .fetch(E2E1_FPR)
        .unwrap_err();
    assert!(
        matches!(&err, Error::Server { status: 503, message } if message == "down for maintenance"),
        "{err:?}"
    );
}

#[test]
fn stopped_server_is_a_transport_error() {
    let mut double = double_with_keys(KeystoreOptions::default());
    let ks = client(&double);
    assert!(ks.search("hpcng").is_ok());
    double.stop();
    for err in [
        ks.search("hpcng").unwrap_err(),
        ks.fetch(E2E1_FPR).unwrap_err(),
        ks.submit(&read(E2E1)).unwrap_err(),
    ] {
        assert!(matches!(err, Error::Transport(_)), "{err:?}");
        assert_eq!(err.code(), "keyserver.unreachable");
        let text = err.to_string();
        assert!(
            text.starts_with(&format!("cannot reach keyserver: {}", double.url())),
            "{text}"
        );
        assert!(text.to_lowercase().contains("refused"), "{text}");
    }
}

#[test]
fn slow_server_times_out() {
    let double = double_with_keys(KeystoreOptions {
        latency_ms: 3000,
        ..Default::default()
    });
    let ks = short_timeout_client(&double, Duration::from_millis(300));
    let started = Instant::now();
    let err = ks.fetch(E2E1_FPR).unwrap_err();
    assert!(
        started.elapsed() < Duration::from_millis(2500),
        "{:?}",
        started.elapsed()
    );
    assert!(matches!(err, Error::Transport(_)), "{err:?}");
    assert!(err.to_string().contains("no answer within 300ms"), "{err}");
    assert_eq!(berth_keyserver::DEFAULT_TIMEOUT, Duration::from_secs(5));
}

#[test]
fn fetch_first_skips_failing_servers() {
    let mut stopped = double_with_keys(KeystoreOptions::default());
    let stopped_client = client(&stopped);
    stopped.stop();
    let failing = double_with_keys(KeystoreOptions {
        fail_with: Some(500),
        ..Default::default()
    });
    let empty = KeystoreDouble::start(KeystoreOptions::default()).unwrap();
    let good = double_with_keys(KeystoreOptions::default());
    let servers = [
        stopped_client,
        client(&failing),
        client(&empty),
        client(&good),
    ];

    let (index, key) = fetch_first(&servers, E2E2_FPR).unwrap();
    assert_eq!(index, 3);
    assert_eq!(fingerprint_of(&key), E2E2_FPR);
    assert_eq!(failing.requests().len(), 1);
    assert_eq!(empty.requests().len(), 1);

    // The first server that has the key wins; later ones are not asked.
    let (index, _) = fetch_first(&servers[2..], E2E2_FPR).unwrap();
    assert_eq!(index, 1);
    let (index, _) = fetch_first(&[client(&good), client(&empty)], E2E2_FPR).unwrap();
    assert_eq!(index, 0);
    assert_eq!(empty.requests().len(), 2);

    // All failing: the last error. A malformed fingerprint stops at once.
    let err = fetch_first(&servers[..3], E2E2_FPR).unwrap_err();
    assert!(matches!(err, Error::NotFound), "{err:?}");
    let err = fetch_first(&servers, "nope").unwrap_err();
    assert_eq!(err.code(), "keyserver.invalid_fingerprint");
    assert_eq!(
        good.requests().len(),
        3,
        "no request for a malformed fingerprint"
    );
    assert!(fetch_first(&[], E2E2_FPR).is_err());
}

#[test]
fn fetch_first_skips_a_server_answering_the_wrong_key() {
    let liar = CannedServer::start(200, read(E2E1));
    let good = double_with_keys(KeystoreOptions::default());
    let servers = [Keyserver::new(&liar.url()).unwrap(), client(&good)];
    let (index, key) = fetch_first(&servers, E2E2_FPR).unwrap();
    assert_eq!((index, fingerprint_of(&key)), (1, E2E2_FPR.to_owned()));
}

#[test]
fn the_token_never_appears_in_errors() {
    let mut errors: Vec<Error> = Vec::new();

    // Rejected token (the server wants another one).
    let double = KeystoreDouble::start(KeystoreOptions {
        require_token: Some("another-token".into()),
        token_for_lookup: true,
        ..Default::default()
    })
    .unwrap();
    let ks = with_token(&double, TOKEN);
    errors.push(ks.search("hpcng").unwrap_err());
    errors.push(ks.fetch(E2E1_FPR).unwrap_err());
    errors.push(ks.submit(&read(E2E1)).unwrap_err());

    // Failing and unreachable servers, timeouts.
    let failing = double_with_keys(KeystoreOptions {
        fail_with: Some(500),
        ..Default::default()
    });
    errors.push(with_token(&failing, TOKEN).search("x").unwrap_err());
    let mut stopped = double_with_keys(KeystoreOptions::default());
    let ks = with_token(&stopped, TOKEN);
    stopped.stop();
    errors.push(ks.fetch(E2E1_FPR).unwrap_err());
    let slow = double_with_keys(KeystoreOptions {
        latency_ms: 2000,
        ..Default::default()
    });
    let ks = Keyserver::builder(&slow.url())
        .token(TOKEN)
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    errors.push(ks.search("hpcng").unwrap_err());

    // A server that echoes the token in its error body and in its answer to an add.
    for status in [400, 403, 500] {
        let echo = CannedServer::start(status, format!("bad token {TOKEN}!").into_bytes());
        errors.push(
            Keyserver::builder(&echo.url())
                .token(TOKEN)
                .build()
                .unwrap()
                .fetch(E2E1_FPR)
                .unwrap_err(),
        );
    }
    let echo = CannedServer::start(200, format!("added with {TOKEN}").into_bytes());
    let answer = Keyserver::builder(&echo.url())
        .token(TOKEN)
        .build()
        .unwrap()
        .submit(&read(E2E1))
        .unwrap()
        .unwrap();
    assert_eq!(answer, "added with <redacted>");

    assert_eq!(errors.len(), 9);
    for err in &errors {
        let shown = format!("{err} / {err:?}");
        assert!(!shown.contains(TOKEN), "token leaked: {shown}");
    }
    // The redaction really was exercised.
    assert!(errors.iter().any(|e| e.to_string().contains("<redacted>")));

    let ks = with_token(&double, TOKEN);
    assert!(!format!("{ks:?}").contains(TOKEN));
}

#[test]
fn plain_http_needs_loopback_or_consent() {
    let err = Keyserver::new("http://keys.example.org").unwrap_err();
    assert!(matches!(err, Error::InsecureUrl(_)), "{err:?}");
    assert!(Keyserver::builder("http://keys.example.org")
        .allow_http(true)
        .build()
        .is_ok());
    assert!(Keyserver::new("https://keys.openpgp.org").is_ok());
    assert_eq!(
        Keyserver::new("hkps://keys.openpgp.org")
            .unwrap_err()
            .code(),
        "keyserver.invalid_url"
    );
}

#[test]
fn urls_can_be_checked_without_a_client() {
    assert_eq!(
        berth_keyserver::check_url(" https://keys.openpgp.org ", false).unwrap(),
        "https://keys.openpgp.org/"
    );
    let err = berth_keyserver::check_url("http://keys.example.org", false).unwrap_err();
    assert_eq!(err.code(), "keyserver.insecure_url");
    assert!(berth_keyserver::check_url("http://keys.example.org", true).is_ok());
}

#[test]
fn usable_from_a_runtimes_blocking_pool() {
    // How the app calls it: Tauri commands run the blocking client via spawn_blocking.
    let double = double_with_keys(KeystoreOptions::default());
    let url = double.url();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let hits = runtime
        .block_on(async move {
            tokio::task::spawn_blocking(move || Keyserver::new(&url).unwrap().search("hpcng")).await
        })
        .unwrap()
        .unwrap();
    assert_eq!(hits.len(), 2);
}

#[test]
fn redirects_to_plain_http_elsewhere_are_refused() {
    // 0.0.0.0 is not loopback for the URL rule (and would only reach this machine anyway).
    let server = CannedServer::start_with_header(302, "Location: http://0.0.0.0:9/pks/x", vec![]);
    let err = Keyserver::new(&server.url())
        .unwrap()
        .fetch(E2E1_FPR)
        .unwrap_err();
    assert!(
        err.to_string().contains("redirect to plain http refused"),
        "{err}"
    );

    // A redirect that stays on this machine is followed.
    let good = double_with_keys(KeystoreOptions::default());
    let location = format!(
        "Location: {}/pks/lookup?op=get&search=0x{E2E1_FPR}",
        good.url()
    );
    let server = CannedServer::start_with_header(302, &location, vec![]);
    let key = Keyserver::new(&server.url())
        .unwrap()
        .fetch(E2E1_FPR)
        .unwrap();
    assert_eq!(fingerprint_of(&key), E2E1_FPR);
}
