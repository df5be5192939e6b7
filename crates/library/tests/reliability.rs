//! Reliability under faults, as the issue asks: 50 pulls with connections reset at random
//! offsets and 5xx answers each end byte-identical or cleanly failed (nothing but a
//! resumable partial file, never a wrong one), and 20 multipart pushes with failing parts
//! each complete with the right bytes or abort leaving no open upload on the server.
//!
//! Faults are drawn from a fixed seed, so a failure reproduces.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use berth_library::{
    digest_file, Cancel, DownloadOptions, DownloadSpec, ErrorKind, LibraryClient, LibraryRef,
    NoProgress, PushSpec, UploadOptions,
};
use berth_testkit::{Flavour, LibraryDouble, LibraryOptions};

const TOKEN: &str = "reliability-token";

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut r = Rng(seed | 1);
    (0..len).map(|_| (r.next() >> 32) as u8).collect()
}

fn client(d: &LibraryDouble) -> LibraryClient {
    LibraryClient::builder(d.url())
        .token(Some(berth_library::Secret::new(TOKEN)))
        .options(berth_library::RemoteOptions {
            insecure_http: true,
            ..Default::default()
        })
        .build()
        .unwrap()
}

fn sha(b: &[u8]) -> String {
    use sha2::Digest;
    format!("sha256.{:x}", sha2::Sha256::digest(b))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_pulls_under_resets_and_server_errors() {
    let content = bytes(1_500_000, 11);
    let d = LibraryDouble::start(LibraryOptions {
        flavour: Flavour::Hinkskalle,
        ..Default::default()
    })
    .unwrap();
    d.add_user("ada", TOKEN);
    d.add_image("ada/r/img", content.clone(), "amd64", &["latest"], false);
    let c = client(&d);
    let dir = tempfile::tempdir().unwrap();
    let spec = DownloadSpec {
        reference: LibraryRef::parse("ada/r/img").unwrap(),
        arch: Some("amd64".into()),
        hash: sha(&content),
        size: content.len() as u64,
    };
    let mut rng = Rng(0x5eed_1234);
    let (mut ok, mut failed) = (0, 0);
    for i in 0..50 {
        let reset = rng.below(content.len() as u64);
        let fail_5xx = rng.below(3) == 0;
        let redirect = rng.below(2) == 0;
        d.update_options(|o| {
            o.reset_after_bytes = Some(reset);
            o.redirect_downloads = redirect;
            o.fail_with = fail_5xx.then_some(if rng.below(2) == 0 { 500 } else { 503 });
            o.fail_path_prefix = Some(
                if redirect {
                    "/storage"
                } else {
                    "/v1/imagefile"
                }
                .into(),
            );
            o.fail_times = usize::try_from(rng.below(4)).unwrap();
        });
        let opts = DownloadOptions {
            concurrency: 1 + usize::try_from(rng.below(4)).unwrap(),
            part_size: 64 << 10 << rng.below(3),
            part_retries: u32::try_from(rng.below(3)).unwrap(),
            retry_backoff: Duration::from_millis(1),
        };
        let partial = dir.path().join(format!("pull-{i}.partial"));
        let r = c
            .download_image(&spec, &partial, &opts, Arc::new(NoProgress), &Cancel::new())
            .await;
        match r {
            Ok(_) => {
                assert_eq!(std::fs::read(&partial).unwrap(), content, "pull {i}");
                ok += 1;
            }
            Err(e) => {
                assert!(
                    matches!(
                        e.kind(),
                        ErrorKind::Unreachable | ErrorKind::ServerError | ErrorKind::Timeout
                    ),
                    "pull {i}: {e:?}"
                );
                // What is left is a partial file with its state, for a resume; finishing it
                // without faults gives exactly the image.
                d.update_options(|o| {
                    o.reset_after_bytes = None;
                    o.fail_with = None;
                });
                let again = c
                    .download_image(&spec, &partial, &opts, Arc::new(NoProgress), &Cancel::new())
                    .await
                    .unwrap_or_else(|e| panic!("resume of pull {i}: {e:?}"));
                assert_eq!(
                    std::fs::read(&partial).unwrap(),
                    content,
                    "resumed pull {i}"
                );
                let _ = again;
                failed += 1;
            }
        }
        std::fs::remove_file(&partial).unwrap();
    }
    assert_eq!(ok + failed, 50);
    assert!(
        ok > 0 && failed > 0,
        "the faults must bite sometimes: {ok} ok, {failed} failed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_pushes_with_failing_parts() {
    let d = LibraryDouble::start(LibraryOptions {
        flavour: Flavour::Sylabs,
        multipart_part_size: Some(8 << 20),
        ..Default::default()
    })
    .unwrap();
    d.add_user("ada", TOKEN);
    let c = client(&d);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("big.bin");
    let mut content = bytes((64 << 20) + 4096, 21);
    let mut rng = Rng(0xfeed_beef);
    let (mut ok, mut aborted) = (0, 0);
    for i in 0..20u64 {
        // Different bytes each time, so every push uploads.
        content[..8].copy_from_slice(&i.to_le_bytes());
        std::fs::write(&file, &content).unwrap();
        let part = 1 + u32::try_from(rng.below(9)).unwrap();
        let hard = rng.below(3) == 0;
        d.update_options(|o| {
            // The first PUT of one part fails (retried); sometimes every part PUT fails.
            o.fail_part = Some(part);
            o.fail_with = hard.then_some(502);
            o.fail_path_prefix = hard.then(|| "/upload".into());
            o.fail_times = 0;
        });
        let dg = digest_file(&file, false, Arc::new(NoProgress), Cancel::new())
            .await
            .unwrap();
        let spec = PushSpec {
            file: file.clone(),
            reference: LibraryRef::parse(&format!("ada/p/c{i}:v1")).unwrap(),
            description: String::new(),
            arch: "amd64".into(),
            private: false,
            upload: UploadOptions {
                concurrency: 1 + usize::try_from(rng.below(4)).unwrap(),
                part_retries: 2,
                retry_backoff: Duration::from_millis(1),
            },
        };
        match c
            .push(&spec, &dg, Arc::new(NoProgress), &Cancel::new())
            .await
        {
            Ok(out) => {
                assert!(!hard, "push {i} cannot succeed when every part fails");
                let img = d
                    .images()
                    .into_iter()
                    .find(|x| x.id == out.image_id)
                    .unwrap();
                assert_eq!(
                    std::fs::read(img.file.unwrap()).unwrap(),
                    content,
                    "push {i}"
                );
                ok += 1;
            }
            Err(e) => {
                assert!(hard, "push {i} should have survived one failed part: {e:?}");
                // 502 before the body was read shows as the server's answer or, when it
                // closes while bytes are still going out, as a broken connection.
                assert!(
                    matches!(e.kind(), ErrorKind::ServerError | ErrorKind::Unreachable),
                    "push {i}: {e:?}"
                );
                aborted += 1;
            }
        }
        assert_eq!(
            d.open_multiparts(),
            0,
            "push {i} left an open multipart upload"
        );
        assert!(!file_leaks(&d), "push {i}");
    }
    assert!(ok > 0 && aborted > 0, "{ok} ok, {aborted} aborted");
}

/// Whether an image record claims a file it does not have.
fn file_leaks(d: &LibraryDouble) -> bool {
    d.images()
        .iter()
        .any(|i| i.uploaded && !i.file.as_deref().is_some_and(Path::exists))
}
