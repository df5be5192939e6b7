//! Runs the Library API double until killed, printing its URL on the first line of stdout,
//! e.g.
//!
//! ```text
//! berth-library-double --port 8080 --flavour hinkskalle --seed demo/seed
//! ```
//!
//! `--seed DIR` loads `DIR/seed.json` (see `LibraryDouble::load_seed_dir`). The keystore
//! double that discovery names is printed on stderr. `--builder` also starts a build
//! service double, named in discovery, whose finished builds land in this library.

use std::io::Write as _;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use berth_testkit::builder::BuildRecord;
use berth_testkit::{BuilderDouble, BuilderOptions, Flavour, LibraryDouble, LibraryOptions};
use clap::Parser;

/// A Library API (Sylabs or Hinkskalle flavour) test double on 127.0.0.1.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Port to listen on; 0 picks a free one.
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Server flavour: sylabs or hinkskalle.
    #[arg(long, default_value = "sylabs")]
    flavour: Flavour,
    /// Directory with a seed.json to load before serving.
    #[arg(long, value_name = "DIR")]
    seed: Option<PathBuf>,
    /// apiVersion reported by /version ("" omits it).
    #[arg(long)]
    api_version: Option<String>,
    /// Delay before every answer, in milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Answer requests with this HTTP status.
    #[arg(long, value_name = "STATUS")]
    fail_with: Option<u16>,
    /// Only fail requests whose path starts with this.
    #[arg(long, value_name = "PREFIX", requires = "fail_with")]
    fail_path_prefix: Option<String>,
    /// Fail only the first N matching requests (0: all).
    #[arg(long, default_value_t = 0)]
    fail_times: usize,
    /// Break downloads at this file offset.
    #[arg(long, value_name = "BYTES")]
    reset_after_bytes: Option<u64>,
    /// Answer Range requests with the full body.
    #[arg(long)]
    ignore_range: bool,
    /// Send each download response at most this many bytes per second.
    #[arg(long, value_name = "BYTES")]
    throttle_bytes_per_sec: Option<u64>,
    /// Answer image downloads with 303 to a presigned-style URL.
    #[arg(long)]
    redirect_downloads: bool,
    /// Treat every token as expired.
    #[arg(long)]
    expired_token: bool,
    /// Default storage quota per user, in bytes.
    #[arg(long, value_name = "BYTES")]
    quota_bytes: Option<u64>,
    /// Answer 404 for private containers the caller may not read.
    #[arg(long)]
    hide_private: bool,
    /// Multipart part size in bytes (default: the flavour's).
    #[arg(long, value_name = "BYTES")]
    multipart_part_size: Option<u64>,
    /// Answer multipart start with 404 (clients fall back to single-part).
    #[arg(long)]
    disable_multipart: bool,
    /// The first PUT of this multipart part number answers 500.
    #[arg(long, value_name = "N")]
    fail_part: Option<u32>,
    /// Also run a build service double (discovery's builderAPI).
    #[arg(long)]
    builder: bool,
    /// A token the build service accepts (repeat for more).
    #[arg(long, value_name = "TOKEN", requires = "builder")]
    builder_token: Vec<String>,
    /// The build log to stream, one line per line of this file.
    #[arg(long, value_name = "FILE", requires = "builder")]
    builder_log: Option<PathBuf>,
    /// Pause before each build log line, in milliseconds.
    #[arg(long, default_value_t = 0)]
    builder_line_delay_ms: u64,
    /// The SIF a successful build puts into the library at its destination.
    #[arg(long, value_name = "SIF", requires = "builder")]
    builder_result: Option<PathBuf>,
    /// Builds fail (complete without an image).
    #[arg(long, requires = "builder")]
    builder_fail: bool,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let double = LibraryDouble::start_on(
        args.port,
        LibraryOptions {
            flavour: args.flavour,
            api_version: args.api_version.clone(),
            latency_ms: args.latency_ms,
            fail_with: args.fail_with,
            fail_path_prefix: args.fail_path_prefix.clone(),
            fail_times: args.fail_times,
            reset_after_bytes: args.reset_after_bytes,
            ignore_range: args.ignore_range,
            throttle_bytes_per_sec: args.throttle_bytes_per_sec,
            redirect_downloads: args.redirect_downloads,
            expired_token: args.expired_token,
            quota_bytes: args.quota_bytes,
            hide_private: args.hide_private,
            multipart_part_size: args.multipart_part_size,
            disable_multipart: args.disable_multipart,
            fail_part: args.fail_part,
            builder_url: None,
        },
    )
    .with_context(|| format!("cannot listen on 127.0.0.1:{}", args.port))?;
    let double = Arc::new(double);
    // Kept alive until the process is killed.
    let _builder = if args.builder {
        let builder = start_builder(&args, &double)?;
        eprintln!("build service double at {}", builder.url());
        let url = builder.url();
        double.update_options(|o| o.builder_url = Some(url));
        Some(builder)
    } else {
        None
    };
    if let Some(dir) = &args.seed {
        double
            .load_seed_dir(dir)
            .with_context(|| format!("loading seed {}", dir.display()))?;
        eprintln!(
            "loaded {} image(s) from {}",
            double.images().len(),
            dir.display()
        );
    }
    eprintln!("keystore double at {}", double.keystore().url());
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", double.url())?;
    out.flush()?;
    drop(out);
    // Serve until the process is killed; the servers run on their own threads.
    loop {
        std::thread::park();
    }
}

fn start_builder(args: &Args, library: &Arc<LibraryDouble>) -> anyhow::Result<BuilderDouble> {
    let mut opts = BuilderOptions {
        tokens: args.builder_token.clone(),
        line_delay_ms: args.builder_line_delay_ms,
        fail: args.builder_fail,
        ..BuilderOptions::default()
    };
    if let Some(path) = &args.builder_log {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        opts.log_lines = text.lines().map(str::to_owned).collect();
    }
    if let Some(path) = &args.builder_result {
        let sif = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        let library = Arc::clone(library);
        opts.result_image = Some(sif.clone());
        opts.on_complete = Some(Arc::new(move |b: &BuildRecord| {
            let arch = b.arch.as_deref().unwrap_or("amd64");
            if let Err(e) = library.try_add_image(&b.library_ref, sif.clone(), arch, &[], false) {
                eprintln!("built image not stored at {}: {e}", b.library_ref);
            }
        }));
    }
    BuilderDouble::start(opts).context("cannot start the build service double")
}
