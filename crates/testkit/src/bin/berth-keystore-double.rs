//! Runs the keystore double until killed, printing its URL on the first line of stdout, e.g.
//!
//! ```text
//! berth-keystore-double --port 11371 --preload keys/a.asc keys/b.asc
//! ```

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::Context as _;
use berth_testkit::{KeystoreDouble, KeystoreOptions};
use clap::Parser;

/// An HKP keyserver test double on 127.0.0.1.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Port to listen on; 0 picks a free one.
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Key files (armoured or binary) to load before serving.
    #[arg(long, num_args = 1.., value_name = "FILE")]
    preload: Vec<PathBuf>,
    /// Answer 401 to /pks/add without "Authorization: Bearer TOKEN".
    #[arg(long, value_name = "TOKEN")]
    require_token: Option<String>,
    /// Also require the token on /pks/lookup.
    #[arg(long, requires = "require_token")]
    token_for_lookup: bool,
    /// Keys per search page (0: no paging).
    #[arg(long, default_value_t = 0)]
    page_size: usize,
    /// Answer every request with this HTTP status.
    #[arg(long, value_name = "STATUS")]
    fail_with: Option<u16>,
    /// Delay before every answer, in milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let double = KeystoreDouble::start_on(
        args.port,
        KeystoreOptions {
            require_token: args.require_token,
            token_for_lookup: args.token_for_lookup,
            page_size: args.page_size,
            fail_with: args.fail_with,
            latency_ms: args.latency_ms,
        },
    )
    .with_context(|| format!("cannot listen on 127.0.0.1:{}", args.port))?;
    for file in &args.preload {
        let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
        let fprs = double
            .try_add_armored(&bytes)
            .map_err(anyhow::Error::msg)
            .with_context(|| format!("loading {}", file.display()))?;
        eprintln!("loaded {} from {}", fprs.join(", "), file.display());
    }
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", double.url())?;
    out.flush()?;
    drop(out);
    // Serve until the process is killed; the server runs on its own thread.
    loop {
        std::thread::park();
    }
}
