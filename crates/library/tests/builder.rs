//! The remote build client against the builder double (§8): version, build context upload,
//! submit, the `BEARER` auth word, the WebSocket log (delays, split frames, binary frames),
//! status and result, failure, cancel, auth and server errors, and a build whose image
//! lands in the library double and is pulled from there.

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use berth_library::{
    result_ok, BuildRequest, BuilderClient, Cancel, DownloadOptions, DownloadSpec, ErrorKind,
    LibraryClient, LibraryRef, NoProgress, RemoteOptions, Secret,
};
use berth_testkit::builder::{BuildState, CLOSE_CANCELLED};
use berth_testkit::{BuilderDouble, BuilderOptions, LibraryDouble, LibraryOptions};
use sha2::Digest as _;

const TOKEN: &str = "builder-token-0123456789";

fn insecure() -> RemoteOptions {
    RemoteOptions {
        insecure_http: true,
        ..Default::default()
    }
}

fn double(tweak: impl FnOnce(&mut BuilderOptions)) -> BuilderDouble {
    let mut opts = BuilderOptions {
        tokens: vec![TOKEN.into()],
        ..Default::default()
    };
    tweak(&mut opts);
    BuilderDouble::start(opts).unwrap()
}

fn client(d: &BuilderDouble, token: &str) -> BuilderClient {
    BuilderClient::new(&d.url(), Some(Secret::new(token)), &insecure()).unwrap()
}

fn request(library_ref: &str) -> BuildRequest {
    BuildRequest {
        definition: b"Bootstrap: docker\nFrom: alpine:3.20\n\n%post\n    echo hi\n".to_vec(),
        library_ref: library_ref.into(),
        ..Default::default()
    }
}

/// Streams a build's log and returns its lines.
async fn follow(c: &BuilderClient, id: &str) -> berth_library::Result<Vec<String>> {
    let mut lines = Vec::new();
    c.stream_log(id, |l| lines.push(l.to_owned()), &Cancel::new())
        .await?;
    Ok(lines)
}

#[tokio::test]
async fn version_is_read_from_the_envelope() {
    let d = double(|_| {});
    assert_eq!(client(&d, TOKEN).version().await.unwrap(), "v0.9.9-double");
}

fn tar_entries(gz: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(gz));
    archive
        .entries()
        .unwrap()
        .map(|e| {
            let mut e = e.unwrap();
            let name = String::from_utf8(e.path_bytes().into_owned()).unwrap();
            let mut bytes = Vec::new();
            e.read_to_end(&mut bytes).unwrap();
            (name, bytes)
        })
        .collect()
}

#[tokio::test]
async fn build_context_is_uploaded_once_without_the_token() {
    let d = double(|_| {});
    let c = client(&d, TOKEN);
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path();
    std::fs::write(base.join("app.conf"), b"port = 80\n").unwrap();
    std::fs::create_dir_all(base.join("data/sub")).unwrap();
    std::fs::write(base.join("data/sub/seed.txt"), b"seed").unwrap();
    std::os::unix::fs::symlink(base.join("app.conf"), base.join("link.conf")).unwrap();
    let paths: Vec<PathBuf> = vec!["app.conf".into(), base.join("data"), "link.conf".into()];

    let digest = c.upload_context(&paths, base).await.unwrap().unwrap();
    let contexts = d.contexts();
    assert_eq!(contexts.len(), 1);
    let ctx = &contexts[0];
    assert_eq!(ctx.digest, digest);
    let bytes = ctx.bytes.as_ref().expect("archive uploaded");
    assert_eq!(ctx.size, bytes.len() as u64);
    assert_eq!(
        digest,
        format!("sha256.{:x}", sha2::Sha256::digest(bytes)),
        "digest is the SHA-256 of the .tar.gz"
    );
    assert!(
        !ctx.upload_had_authorization,
        "the upload must not carry the token"
    );
    let entries = tar_entries(bytes);
    let names: Vec<&str> = entries.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "app.conf",
            "data/",
            "data/sub/",
            "data/sub/seed.txt",
            "link.conf"
        ]
    );
    // The symlink was followed: its entry holds the target's bytes.
    assert_eq!(entries[4].1, b"port = 80\n");
    assert_eq!(entries[3].1, b"seed");

    // Same files, same archive: announced again, but not uploaded again.
    let again = c.upload_context(&paths, base).await.unwrap().unwrap();
    assert_eq!(again, digest);
    assert_eq!(d.contexts()[0].announced, 2);
    let puts = d.requests().iter().filter(|r| r.method == "PUT").count();
    assert_eq!(puts, 1);

    c.delete_context(&digest).await.unwrap();
    assert!(d.contexts()[0].deleted);
    assert!(c.upload_context(&[], base).await.unwrap().is_none());
    let outside = c
        .upload_context(&["/etc/hostname".into()], base)
        .await
        .unwrap_err();
    assert_eq!(outside.kind(), ErrorKind::InputInvalid);
}

#[tokio::test]
async fn submit_sends_every_field_with_the_upper_case_bearer_word() {
    let d = double(|_| {});
    let c = client(&d, TOKEN);
    let req = BuildRequest {
        library_url: Some("https://library.example.com".into()),
        arch: Some("arm64".into()),
        context_digest: Some("sha256.abc".into()),
        working_dir: Some("/home/alice/project".into()),
        ..request("library://alice/builds/app:1.0")
    };
    let info = c.submit(&req).await.unwrap();
    assert!(!info.id.is_empty());
    assert!(!info.is_complete);
    assert_eq!(info.library_ref, "library://alice/builds/app:1.0");
    assert_eq!(info.library_url, "https://library.example.com");

    let b = &d.builds()[0];
    assert_eq!(b.definition.as_bytes(), req.definition.as_slice());
    assert_eq!(b.arch.as_deref(), Some("arm64"));
    assert_eq!(
        b.library_url.as_deref(),
        Some("https://library.example.com")
    );
    assert_eq!(b.context_digest.as_deref(), Some("sha256.abc"));
    assert_eq!(b.working_dir.as_deref(), Some("/home/alice/project"));
    assert_eq!(b.auth_scheme, "BEARER");
    let submit = d
        .requests()
        .into_iter()
        .find(|r| r.method == "POST" && r.path == "/v1/build")
        .unwrap();
    assert_eq!(submit.authorization, Some(format!("BEARER {TOKEN}")));
    assert!(submit.user_agent.unwrap_or_default().starts_with("Berth/"));

    // Empty fields are left out; libraryRef stays (empty: the server picks a place).
    c.submit(&request("")).await.unwrap();
    let b = &d.builds()[1];
    let mut fields = b.fields.clone();
    fields.sort();
    assert_eq!(fields, ["definitionRaw", "libraryRef"]);
    assert!(b.library_ref.starts_with("library://builder/ephemeral/"));
}

#[tokio::test]
async fn log_streams_in_order_then_status_reports_the_image() {
    let lines: Vec<String> = (1..=8)
        .map(|i| format!("step {i}: doing ü things"))
        .collect();
    let d = double(|o| {
        o.log_lines = lines.clone();
        o.line_delay_ms = 20;
        // Each line arrives in two frames, cut inside the line.
        o.split_lines_at = Some(6);
        o.result_image = Some(b"a built image".to_vec());
    });
    let c = client(&d, TOKEN);
    let info = c
        .submit(&request("library://alice/builds/app:1.0"))
        .await
        .unwrap();
    let got = follow(&c, &info.id).await.unwrap();
    assert_eq!(got, lines, "binary frame skipped, partial lines joined");

    let ws = d.requests().into_iter().find(|r| r.websocket).unwrap();
    assert_eq!(ws.path, format!("/v1/build-ws/{}", info.id));
    assert_eq!(ws.authorization, Some(format!("BEARER {TOKEN}")));
    assert!(ws.user_agent.unwrap_or_default().starts_with("Berth/"));

    let done = c.status(&info.id).await.unwrap();
    assert!(done.is_complete);
    assert_eq!(done.image_size, 13);
    assert_eq!(
        done.image_checksum,
        format!("sha256.{:x}", sha2::Sha256::digest(b"a built image"))
    );
    result_ok(&done).unwrap();
}

#[tokio::test]
async fn a_failed_build_has_no_image() {
    let d = double(|o| o.fail = true);
    let c = client(&d, TOKEN);
    let info = c
        .submit(&request("library://alice/builds/app:1.0"))
        .await
        .unwrap();
    let got = follow(&c, &info.id).await.unwrap();
    assert!(got.last().unwrap().starts_with("FATAL:"), "{got:?}");
    let done = c.status(&info.id).await.unwrap();
    assert!(done.is_complete);
    let err = result_ok(&done).unwrap_err();
    assert!(
        err.to_string().contains("did not produce an image"),
        "{err}"
    );
    assert_eq!(d.builds()[0].state, BuildState::Failed);
}

#[tokio::test]
async fn cancel_mid_stream_cancels_the_build() {
    let d = double(|o| {
        o.log_lines = (0..50).map(|i| format!("line {i}")).collect();
        o.line_delay_ms = 30;
    });
    let c = client(&d, TOKEN);
    let info = c
        .submit(&request("library://alice/builds/app:1.0"))
        .await
        .unwrap();
    let cancel = Cancel::new();
    let mut seen = Vec::new();
    let err = c
        .stream_log(
            &info.id,
            |l| {
                seen.push(l.to_owned());
                if seen.len() == 3 {
                    cancel.cancel();
                }
            },
            &cancel,
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), "transfer.cancelled");
    assert_eq!(seen.len(), 3);
    let cancels: Vec<_> = d
        .requests()
        .into_iter()
        .filter(|r| r.method == "PUT" && r.path == format!("/v1/build/{}/_cancel", info.id))
        .collect();
    assert_eq!(cancels.len(), 1);
    assert_eq!(cancels[0].authorization, Some(format!("BEARER {TOKEN}")));
    assert_eq!(d.builds()[0].state, BuildState::Cancelled);
    assert_eq!(c.status(&info.id).await.unwrap().image_size, 0);
}

#[tokio::test]
async fn a_cancel_from_elsewhere_ends_the_stream_with_an_error() {
    let d = double(|o| {
        o.log_lines = (0..50).map(|i| format!("line {i}")).collect();
        o.line_delay_ms = 20;
    });
    let c = client(&d, TOKEN);
    let info = c
        .submit(&request("library://alice/builds/app:1.0"))
        .await
        .unwrap();
    let other = c.clone();
    let id = info.id.clone();
    let canceller = tokio::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        other.cancel(&id).await.unwrap();
    });
    let err = follow(&c, &info.id).await.unwrap_err();
    canceller.await.unwrap();
    assert_eq!(err.kind(), ErrorKind::Unreachable);
    assert!(
        err.to_string().contains(&CLOSE_CANCELLED.to_string()),
        "{err}"
    );
}

#[tokio::test]
async fn unknown_token_is_token_invalid_everywhere() {
    let d = double(|_| {});
    let bad = client(&d, "not-a-known-token");
    let err = bad.submit(&request("library://a/b/c:1")).await.unwrap_err();
    assert_eq!(err.code(), "auth.token_invalid");
    assert_eq!(err.status(), Some(401));

    let info = client(&d, TOKEN)
        .submit(&request("library://a/b/c:1"))
        .await
        .unwrap();
    let err = follow(&bad, &info.id).await.unwrap_err();
    assert_eq!(err.code(), "auth.token_invalid");
    assert_eq!(bad.status(&info.id).await.unwrap_err().status(), Some(401));
}

#[tokio::test]
async fn server_error_on_submit_keeps_the_message() {
    let d = double(|o| o.fail_submit_with = Some(500));
    let err = client(&d, TOKEN)
        .submit(&request("library://a/b/c:1"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ServerError);
    assert_eq!(err.message(), "the build farm is on fire");
    assert!(
        err.to_string().contains("500 Internal Server Error"),
        "{err}"
    );
    assert!(d.builds().is_empty());
}

fn busybox() -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/testdata/sif/images/apptainer-e2e/busybox_amd64.sif");
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn built_image_lands_in_the_library_and_pulls_back() {
    let sif = busybox();
    let library = Arc::new(LibraryDouble::start(LibraryOptions::default()).unwrap());
    library.add_user("alice", TOKEN);
    let produced: Arc<Mutex<Vec<String>>> = Arc::default();
    let hook = {
        let (library, sif, produced) = (Arc::clone(&library), sif.clone(), Arc::clone(&produced));
        Arc::new(move |b: &berth_testkit::builder::BuildRecord| {
            let arch = b.arch.as_deref().unwrap_or("amd64");
            library.add_image(&b.library_ref, sif.clone(), arch, &[], false);
            produced.lock().unwrap().push(b.library_ref.clone());
        })
    };
    let d = double(|o| {
        o.result_image = Some(sif.clone());
        o.on_complete = Some(hook);
        o.line_delay_ms = 5;
    });
    let c = client(&d, TOKEN);
    let reference = "library://alice/builds/busybox:1.36";
    let info = c
        .submit(&BuildRequest {
            library_url: Some(library.url()),
            arch: Some("amd64".into()),
            ..request(reference)
        })
        .await
        .unwrap();
    follow(&c, &info.id).await.unwrap();
    let done = c.status(&info.id).await.unwrap();
    result_ok(&done).unwrap();
    assert_eq!(*produced.lock().unwrap(), [reference]);

    // Result delivery is the normal pull from the library the build names (§8.4).
    let lib = LibraryClient::builder(done.library_url.clone())
        .token(Some(Secret::new(TOKEN)))
        .options(insecure())
        .build()
        .unwrap();
    let r = LibraryRef::parse(&done.library_ref).unwrap();
    let image = lib.get_image(&r, Some("amd64")).await.unwrap();
    assert_eq!(image.hash, done.image_checksum);
    let spec = DownloadSpec {
        reference: r,
        arch: Some("amd64".into()),
        hash: image.hash.clone(),
        size: image.size.unwrap_or_default(),
    };
    let dir = tempfile::tempdir().unwrap();
    let partial = dir.path().join("busybox.sif.part");
    lib.download_image(
        &spec,
        &partial,
        &DownloadOptions::default(),
        Arc::new(NoProgress),
        &Cancel::new(),
    )
    .await
    .unwrap();
    let pulled = std::fs::read(&partial).unwrap();
    assert_eq!(pulled, sif);
    assert_eq!(
        format!("sha256.{:x}", sha2::Sha256::digest(&pulled)),
        done.image_checksum
    );
}
