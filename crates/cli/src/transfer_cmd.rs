//! `berth push`, `berth pull` and `berth cache`: the core's transfer jobs, drawn as progress
//! bars on a terminal and quiet when piped.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{bail, Result};
use berth_core::image_cache::ImageCache;
use berth_core::jobs::Jobs;
use berth_core::libraries::Libraries;
use berth_core::model_transfer::{
    JobPhase, JobResult, JobState, JobView, PullRequest, PushRequest,
};
use berth_core::transfers::{human_size, Transfers};
use berth_core::{ApiError, AppDirs, Keys, SettingsStore};
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::remote_cmd::remotes;

#[derive(Args)]
pub struct PushArgs {
    /// The SIF file.
    file: PathBuf,
    /// `library://entity/collection/container[:tag1,tag2]` (tag `latest` when none), or
    /// `oras://registry/name:tag` (the SIF as an OCI artifact).
    reference: String,
    /// Description of the image (only used when the library has no image with these bytes).
    #[arg(short = 'D', long)]
    description: Option<String>,
    /// Push even if the image is unsigned or its signatures do not verify.
    #[arg(short = 'U', long)]
    allow_unsigned: bool,
    /// Architecture (default: the image's).
    #[arg(long)]
    arch: Option<String>,
    /// Make a new collection and container private.
    #[arg(long)]
    private: bool,
    /// The remote (default: the one whose host is in the reference, else the default).
    #[arg(long)]
    remote: Option<String>,
}

#[derive(Args)]
pub struct PullArgs {
    /// Output file or folder (default: `<name>_<tag>.sif` here); then `library://REF`,
    /// `docker://IMAGE` (converted to SIF), `oras://REF` or `shub://USER/CONTAINER[:TAG]`.
    #[arg(num_args = 1..=2, value_names = ["OUT", "REF"], required = true)]
    args: Vec<String>,
    /// Architecture (default: this machine's).
    #[arg(long)]
    arch: Option<String>,
    /// Replace an existing output file.
    #[arg(short = 'F', long)]
    force: bool,
    /// Neither use nor fill the image cache.
    #[arg(long)]
    no_cache: bool,
    /// Do not check the image's signatures after the pull.
    #[arg(long)]
    no_verify: bool,
    /// The remote (default: the one whose host is in the reference, else the default).
    #[arg(long)]
    remote: Option<String>,
}

#[derive(Subcommand)]
pub enum CacheCommand {
    /// List cached images.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Remove cached images (all, or those unused for N days).
    Clean {
        /// Only images not used for this many days.
        #[arg(long)]
        days: Option<u32>,
        /// Only show what would be removed.
        #[arg(long)]
        dry_run: bool,
    },
}

pub(crate) fn transfers() -> Result<Transfers> {
    let dirs = AppDirs::from_env()?;
    let settings = Arc::new(SettingsStore::new(&dirs));
    let keys = Arc::new(Keys::from_env(settings.clone())?);
    let libraries = Arc::new(Libraries::new(Arc::new(remotes()?)));
    let registries = Arc::new(berth_core::registries::RegistryLogins::new(
        &dirs,
        Arc::new(berth_core::credentials::KeychainStore::new()),
    ));
    let mut t = Transfers::new(
        libraries,
        keys,
        settings,
        ImageCache::new(dirs.cache()),
        Jobs::in_memory(),
    )
    .with_registries(registries);
    // Apptainer's environment knobs for downloads (§6 4.4), honoured the same way.
    if let Some(n) = env_u64("APPTAINER_DOWNLOAD_CONCURRENCY").filter(|&n| n > 0) {
        t.download.concurrency = usize::try_from(n).unwrap_or(4);
    }
    if let Some(n) = env_u64("APPTAINER_DOWNLOAD_PART_SIZE").filter(|&n| n > 0) {
        t.download.part_size = n;
    }
    if let Some(n) = env_u64("BERTH_UPLOAD_CONCURRENCY").filter(|&n| n > 0) {
        t.upload.concurrency = usize::try_from(n).unwrap_or(4);
    }
    Ok(t)
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok()?.trim().parse().ok()
}

pub fn push(a: &PushArgs) -> Result<()> {
    let t = transfers()?;
    let req = PushRequest {
        remote: a.remote.clone(),
        file: a.file.display().to_string(),
        reference: a.reference.clone(),
        description: a.description.clone().unwrap_or_default(),
        arch: a.arch.clone(),
        allow_unsigned: a.allow_unsigned,
        private: a.private,
    };
    let view = run_job(&t, |t| {
        let job = t.begin_push(&req, None)?;
        Ok((job, berth_core::jobs::JobRequest::Push(req.clone())))
    })?;
    let Some(JobResult::Pushed(p)) = view.result else {
        bail!("the push ended without a result");
    };
    let mut err = std::io::stderr().lock();
    if p.uploaded {
        writeln!(
            err,
            "Pushed {} ({}) to {}",
            a.file.display(),
            human_size(p.size),
            p.reference
        )?;
    } else {
        writeln!(
            err,
            "The library already has these bytes; tags set: {}",
            p.tags.join(", ")
        )?;
    }
    let mut out = std::io::stdout().lock();
    if let Some(line) = &p.quota_line {
        writeln!(out, "{line}")?;
    }
    if let Some(url) = &p.container_url {
        writeln!(out, "Container URL: {url}")?;
    }
    Ok(())
}

pub fn pull(a: &PullArgs) -> Result<()> {
    let t = transfers()?;
    let (out, reference) = match a.args.as_slice() {
        [r] => (None, r.clone()),
        [o, r] => (Some(o.clone()), r.clone()),
        _ => bail!("give the reference, optionally preceded by the output file"),
    };
    let req = PullRequest {
        remote: a.remote.clone(),
        reference,
        arch: a.arch.clone(),
        // Like Apptainer: without OUT, `<container>_<tag>.sif` in the current folder.
        destination: Some(out.unwrap_or_else(|| ".".to_owned())),
        force: a.force,
        no_cache: a.no_cache,
        verify: !a.no_verify,
    };
    let view = run_job(&t, |t| {
        let job = t.begin_pull(&req, None)?;
        Ok((job, berth_core::jobs::JobRequest::Pull(req.clone())))
    })?;
    let Some(JobResult::Pulled(p)) = view.result else {
        bail!("the pull ended without a result");
    };
    let mut err = std::io::stderr().lock();
    let how = if p.from_cache {
        " (from the cache)".to_owned()
    } else if p.resumed_from > 0 {
        format!(" (resumed after {})", human_size(p.resumed_from))
    } else {
        String::new()
    };
    writeln!(err, "Pulled {} to {}{how}", p.reference, p.path)?;
    match (&p.verify, &p.verify_error) {
        (Some(v), _) => writeln!(err, "{}", v.summary)?,
        (None, Some(e)) => writeln!(err, "Signatures not checked: {}", e.message)?,
        (None, None) => {}
    }
    Ok(())
}

pub fn cache(cmd: CacheCommand) -> Result<()> {
    let dirs = AppDirs::from_env()?;
    let cache = ImageCache::new(dirs.cache());
    let mut out = std::io::stdout().lock();
    match cmd {
        CacheCommand::List { json } => {
            let view = cache.list()?;
            if json {
                serde_json::to_writer_pretty(&mut out, &view)?;
                writeln!(out)?;
                return Ok(());
            }
            if view.entries.is_empty() {
                writeln!(out, "The cache ({}) is empty.", view.dir)?;
                return Ok(());
            }
            for e in &view.entries {
                writeln!(
                    out,
                    "{}  {:>11}  {}",
                    e.hash,
                    human_size(e.size),
                    e.reference.as_deref().unwrap_or("-")
                )?;
            }
            writeln!(
                out,
                "{} images, {} in {}",
                view.entries.len(),
                human_size(view.total_bytes),
                view.dir
            )?;
        }
        CacheCommand::Clean { days, dry_run } => {
            let v = cache.clean(days, dry_run)?;
            for e in &v.removed {
                writeln!(
                    out,
                    "{} {}  {}",
                    if dry_run { "would remove" } else { "removed" },
                    e.hash,
                    human_size(e.size)
                )?;
            }
            writeln!(
                out,
                "{} {} in {} images",
                if dry_run { "Would free" } else { "Freed" },
                human_size(v.freed_bytes),
                v.removed.len()
            )?;
        }
    }
    Ok(())
}

/// Starts a job, draws its progress, cancels it on Ctrl-C, and turns a failure into an
/// error with the hint.
pub(crate) fn run_job(
    t: &Transfers,
    begin: impl FnOnce(
        &Transfers,
    ) -> berth_core::Result<(
        berth_core::jobs::JobHandle,
        berth_core::jobs::JobRequest,
    )>,
) -> Result<JobView> {
    let bars = Arc::new(Bars::new());
    let b = bars.clone();
    t.jobs().set_listener(Arc::new(move |v| b.show(v)));
    // A build's log goes to stdout, between redraws of the bar on stderr.
    let b = bars.clone();
    t.jobs().set_log_listener(Arc::new(move |e| {
        for line in &e.lines {
            b.println(line);
        }
    }));
    let (job, request) = begin(t).map_err(|e| api_error(&ApiError::from(&e)))?;
    let id = job.id().to_owned();
    let jobs = t.jobs().clone();
    // Two workers: parts are received and written while the hash thread reads behind them.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let view = rt.block_on(async {
        let run = t.run(request, job);
        tokio::pin!(run);
        tokio::select! {
            v = &mut run => v,
            _ = tokio::signal::ctrl_c() => {
                eprintln!("\nCancelling…");
                let _ = jobs.cancel(&id);
                run.await
            }
        }
    });
    bars.finish();
    match view.state {
        JobState::Succeeded => Ok(view),
        JobState::Cancelled => bail!("cancelled"),
        _ => {
            let e = view.error.clone().unwrap_or(ApiError {
                code: "internal.job_lost".into(),
                message: "the transfer stopped".into(),
                hint: None,
            });
            let mut msg = e.message.clone();
            if view.resumable {
                msg.push_str("\nRun the same command again to continue where it stopped.");
            }
            Err(api_error(&ApiError { message: msg, ..e }))
        }
    }
}

fn api_error(e: &ApiError) -> anyhow::Error {
    match &e.hint {
        Some(h) => anyhow::anyhow!("{}\nHint: {h}", e.message),
        None => anyhow::anyhow!("{}", e.message),
    }
}

/// One bar per phase on stderr; nothing when stderr is not a terminal.
struct Bars {
    current: Mutex<Option<(JobPhase, ProgressBar)>>,
    visible: bool,
}

impl Bars {
    fn new() -> Self {
        Self {
            current: Mutex::new(None),
            visible: std::io::stderr().is_terminal(),
        }
    }

    fn show(&self, v: &JobView) {
        if !self.visible || v.state != JobState::Running {
            return;
        }
        let mut cur = self.current.lock().unwrap_or_else(|p| p.into_inner());
        let same = cur.as_ref().is_some_and(|(p, _)| *p == v.phase);
        if !same {
            if let Some((_, bar)) = cur.take() {
                bar.finish_and_clear();
            }
            let bar = match v.bytes_total {
                Some(total) => {
                    let bar =
                        ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
                    bar.set_style(
                        ProgressStyle::with_template(
                            "{msg:<12} {bytes:>10} / {total_bytes:<10} [{wide_bar}] {percent:>3}% {binary_bytes_per_sec:>12} {eta:>4}",
                        )
                        .expect("valid template")
                        .progress_chars("=> "),
                    );
                    bar
                }
                None => {
                    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
                    bar.enable_steady_tick(Duration::from_millis(120));
                    bar
                }
            };
            bar.set_message(phase_word(v.phase));
            *cur = Some((v.phase, bar));
        }
        if let Some((_, bar)) = cur.as_ref() {
            bar.set_position(v.bytes_done);
        }
    }

    /// A line on stdout without tearing the bar.
    fn println(&self, line: &str) {
        let cur = self.current.lock().unwrap_or_else(|p| p.into_inner());
        let print = || {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{line}");
        };
        match cur.as_ref() {
            Some((_, bar)) => bar.suspend(print),
            None => print(),
        }
    }

    fn finish(&self) {
        if let Some((_, bar)) = self
            .current
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        {
            bar.finish_and_clear();
        }
    }
}

fn phase_word(p: JobPhase) -> &'static str {
    match p {
        JobPhase::Queued => "Starting",
        JobPhase::Verifying => "Verifying",
        JobPhase::Hashing => "Hashing",
        JobPhase::Preparing => "Preparing",
        JobPhase::Uploading => "Uploading",
        JobPhase::Tagging => "Tagging",
        JobPhase::Resolving => "Resolving",
        JobPhase::Downloading => "Downloading",
        JobPhase::Checking => "Checking",
        JobPhase::Unpacking => "Unpacking",
        JobPhase::Squashing => "Squashing",
        JobPhase::Submitting => "Submitting",
        JobPhase::Building => "Building",
        JobPhase::Finishing => "Finishing",
        JobPhase::Done => "Done",
    }
}
