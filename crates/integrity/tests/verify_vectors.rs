//! Every shared image in every verification mode of `expected-verify-derived.json`, and the
//! expectations quoted from the reference tests.

mod common;

use berth_integrity::{verify, Selection, SignatureStatus, VerifyOptions, VerifyReport};
use common::*;
use serde_json::Value;

fn mode_options(mode: &str) -> VerifyOptions {
    let name = mode.split(' ').next().unwrap();
    match name {
        "pgp_default" => pgp_opts(Selection::AllGroups),
        "dsse_ed25519_default" => dsse_opts("keys/sylabs-sif/ed25519-public.pem"),
        "legacy_primary_partition" => VerifyOptions {
            legacy: true,
            ..pgp_opts(Selection::AllGroups)
        },
        "legacy_all" => VerifyOptions {
            legacy: true,
            legacy_all: true,
            ..pgp_opts(Selection::AllGroups)
        },
        "legacy_group_1" => VerifyOptions {
            legacy: true,
            ..pgp_opts(Selection::Group(1))
        },
        "pgp_object_1" => pgp_opts(Selection::Objects(vec![1])),
        other => panic!("unknown mode {other}"),
    }
}

fn check(image: &str, mode: &str, expected: &Value, report: &VerifyReport) -> Vec<String> {
    let mut problems = Vec::new();
    let ok = expected["ok"].as_bool().unwrap();
    if report.ok != ok {
        problems.push(format!(
            "{image} [{mode}]: ok {} != {ok}: {:?}",
            report.ok, report.error
        ));
        return problems;
    }
    if !ok {
        // The derived file annotates errors Apptainer raises itself; the text is before that.
        let want = expected["error"].as_str().unwrap();
        let want = want.split(" (raised by apptainer").next().unwrap();
        if report.error.as_deref() != Some(want) {
            problems.push(format!(
                "{image} [{mode}]: error {:?} != {want:?}",
                report.error
            ));
        }
        return problems;
    }
    let results = expected["results"].as_array().unwrap();
    if results.len() != report.signatures.len() {
        problems.push(format!(
            "{image} [{mode}]: {} signatures, want {}",
            report.signatures.len(),
            results.len()
        ));
        return problems;
    }
    for (want, got) in results.iter().zip(&report.signatures) {
        let id = want["signature_id"].as_u64().unwrap() as u32;
        let objects: Vec<u32> = want["verified_object_ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap() as u32)
            .collect();
        let signer = want["signer"].as_str().map(str::to_owned);
        if got.signature_id != id || got.objects != objects || got.status != SignatureStatus::Valid
        {
            problems.push(format!(
                "{image} [{mode}]: got {got:?}, want sig {id} objects {objects:?}"
            ));
        }
        if signer.is_some() && got.fingerprint != signer {
            problems.push(format!(
                "{image} [{mode}]: signer {:?} != {signer:?}",
                got.fingerprint
            ));
        }
        if signer.is_none() && got.signer.is_some() {
            problems.push(format!(
                "{image} [{mode}]: unexpected entity {:?}",
                got.signer
            ));
        }
    }
    problems
}

#[test]
fn every_image_every_mode() {
    let expected: Value = serde_json::from_slice(&read("expected-verify-derived.json")).unwrap();
    let mut problems = Vec::new();
    let mut cases = 0;
    for (image, modes) in expected.as_object().unwrap() {
        for (mode, want) in modes.as_object().unwrap() {
            let report = verify(&data(image), &mode_options(mode))
                .unwrap_or_else(|e| panic!("{image} [{mode}]: {e}"));
            problems.extend(check(image, mode, want, &report));
            cases += 1;
        }
    }
    assert!(cases >= 21 * 6, "only {cases} cases");
    assert!(
        problems.is_empty(),
        "{} mismatches:\n{}",
        problems.len(),
        problems.join("\n")
    );
}
