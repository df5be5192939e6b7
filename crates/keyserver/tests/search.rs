//! Searches against the keystore double: by name, email, fingerprint and key ID, and paging.

mod common;

use berth_keyserver::Error;
use berth_testkit::KeystoreOptions;
use common::*;

fn fingerprints(hits: &[berth_keyserver::KeyHit]) -> Vec<&str> {
    hits.iter().map(|h| h.fingerprint.as_str()).collect()
}

#[test]
fn search_by_name_gives_full_details() {
    let double = double_with_keys(KeystoreOptions::default());
    let hits = client(&double).search("SingularityCE Tests").unwrap();
    assert_eq!(hits.len(), 1);
    let hit = &hits[0];
    assert_eq!(hit.fingerprint, SINGULARITY_FPR);
    assert_eq!(hit.algorithm, "RSA");
    assert_eq!(hit.bits, Some(4096));
    assert_eq!(hit.created, Some(1651162830));
    assert_eq!(hit.expires, None);
    assert!(!hit.revoked && !hit.disabled && !hit.expired);
    assert_eq!(
        hit.user_ids,
        vec!["SingularityCE Tests <singularityce@example.com>"]
    );

    // The request is Apptainer's search request, with Berth's user agent.
    let requests = double.requests();
    assert_eq!(requests.len(), 1);
    let req = &requests[0];
    assert_eq!(
        (req.method.as_str(), req.path.as_str()),
        ("GET", "/pks/lookup")
    );
    let p = params(&req.query);
    assert_eq!(param(&p, "op"), Some("index"));
    assert_eq!(param(&p, "options"), Some("mr"));
    assert_eq!(param(&p, "fingerprint"), Some("on"));
    assert_eq!(param(&p, "x-pagesize"), Some("256"));
    assert_eq!(param(&p, "search"), Some("SingularityCE Tests"));
    assert_eq!(
        req.user_agent.as_deref(),
        Some(concat!("Berth/", env!("CARGO_PKG_VERSION")))
    );
    assert_eq!(req.authorization, None);
}

#[test]
fn search_by_email_and_substring() {
    let double = double_with_keys(KeystoreOptions::default());
    let ks = client(&double);
    assert_eq!(
        fingerprints(&ks.search("e2e@hpcng.org").unwrap()),
        [E2E1_FPR]
    );
    assert_eq!(
        fingerprints(&ks.search("E2E-TEST@hpcng.org").unwrap()),
        [E2E2_FPR]
    );
    assert_eq!(
        fingerprints(&ks.search("hpcng").unwrap()),
        [E2E1_FPR, E2E2_FPR]
    );
    let hits = ks.search("e2e-test").unwrap();
    assert_eq!(
        hits[0].user_ids,
        ["e2e-test (e2e tests) <e2e-test@hpcng.org>"]
    );
}

#[test]
fn search_by_fingerprint_and_key_ids_prepends_0x() {
    let double = double_with_keys(KeystoreOptions::default());
    let ks = client(&double);
    for query in [
        SINGULARITY_FPR.to_owned(),
        SINGULARITY_FPR.to_ascii_lowercase(),
        "F343 71D0 ACD5 D09E B9BD  853A 8060 0A5F A11B BD29".to_owned(),
        "80600A5FA11BBD29".to_owned(),
        "A11BBD29".to_owned(),
        // A subkey finds its certificate, as on real servers.
        SINGULARITY_SUBKEY_FPR.to_owned(),
    ] {
        assert_eq!(
            fingerprints(&ks.search(&query).unwrap()),
            [SINGULARITY_FPR],
            "{query}"
        );
    }
    let searches: Vec<String> = double
        .requests()
        .iter()
        .map(|r| param(&params(&r.query), "search").unwrap().to_owned())
        .collect();
    assert_eq!(searches[0], format!("0x{SINGULARITY_FPR}"));
    assert_eq!(searches[2], format!("0x{SINGULARITY_FPR}"));
    assert_eq!(searches[4], "0xA11BBD29");
}

#[test]
fn no_match_is_not_found() {
    let double = double_with_keys(KeystoreOptions::default());
    let err = client(&double).search("nobody@example.org").unwrap_err();
    assert!(matches!(err, Error::NotFound), "{err:?}");
    assert_eq!(err.code(), "keyserver.not_found");
    assert_eq!(err.to_string(), "no matching keys found");
}

#[test]
fn pages_are_followed() {
    let double = double_with_keys(KeystoreOptions {
        page_size: 1,
        ..Default::default()
    });
    let ks = client(&double);
    // "e" is in every user ID.
    let hits = ks.search("e").unwrap();
    assert_eq!(fingerprints(&hits), [SINGULARITY_FPR, E2E1_FPR, E2E2_FPR]);

    let tokens: Vec<Option<String>> = double
        .requests()
        .iter()
        .map(|r| param(&params(&r.query), "x-pagetoken").map(str::to_owned))
        .collect();
    assert_eq!(tokens.len(), 3, "one request per page");
    assert_eq!(tokens[0], None);
    assert!(tokens[1].is_some() && tokens[2].is_some() && tokens[1] != tokens[2]);

    // The page-by-page API exposes the token.
    let first = ks.search_page("e", None).unwrap();
    assert_eq!(fingerprints(&first.hits), [SINGULARITY_FPR]);
    let token = first.next_page_token.expect("a next page");
    let second = ks.search_page("e", Some(&token)).unwrap();
    assert_eq!(fingerprints(&second.hits), [E2E1_FPR]);
}

#[test]
fn paging_is_bounded() {
    // More keys than MAX_PAGES pages of one: the client stops after MAX_PAGES requests and
    // returns what it has.
    let double = berth_testkit::KeystoreDouble::start(KeystoreOptions {
        page_size: 1,
        ..Default::default()
    })
    .unwrap();
    let total = berth_keyserver::MAX_PAGES + 2;
    for i in 0..total {
        double.add_armored(&generated_key(
            &format!("Bulk {i} <bulk{i}@example.org>"),
            false,
        ));
    }
    let hits = client(&double).search("bulk").unwrap();
    assert_eq!(hits.len(), berth_keyserver::MAX_PAGES);
    assert_eq!(double.requests().len(), berth_keyserver::MAX_PAGES);
}

#[test]
fn generated_keys_show_expiry_and_revocation() {
    let double = berth_testkit::KeystoreDouble::start(KeystoreOptions::default()).unwrap();
    double.add_armored(&generated_key("Fresh <fresh@example.org>", false));
    double.add_armored(&generated_key("Gone <gone@example.org>", true));
    let ks = client(&double);
    let fresh = &ks.search("fresh@").unwrap()[0];
    assert_eq!(fresh.algorithm, "EdDSA");
    assert!(fresh.expires.is_some() && fresh.expires > fresh.created);
    assert!(!fresh.revoked && !fresh.expired);
    let gone = &ks.search("gone@").unwrap()[0];
    assert!(gone.revoked);
}

#[test]
fn base_path_is_ignored_as_apptainer_does() {
    let double = double_with_keys(KeystoreOptions::default());
    let ks = berth_keyserver::Keyserver::new(&format!("{}/some/prefix/", double.url())).unwrap();
    assert_eq!(ks.search("hpcng").unwrap().len(), 2);
    assert_eq!(double.requests()[0].path, "/pks/lookup");
}
