//! Long work as jobs: every push and pull is registered here with its phase, bytes, rate,
//! ETA, result or error, and a cancel switch. Views go to one listener (the app emits them
//! as events, the CLI draws progress bars), throttled so a GiB transfer does not flood a
//! window with thousands of updates.
//!
//! The list is kept in `jobs.json` so that history survives a restart, and a job that was
//! running when Berth stopped comes back as *interrupted*, with what it needs to resume.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use berth_library::{Cancel, Phase, Progress};
use serde::{Deserialize, Serialize};

use crate::model_build::{BuildLogEvent, BuildLogView, BuildRequest};
use crate::model_transfer::{
    JobKind, JobPartView, JobPhase, JobResult, JobState, JobView, PullRequest, PushRequest,
};
use crate::{atomic_file, ApiError, Error, Result};

/// Finished jobs kept in the history.
const HISTORY: usize = 100;
/// Fewest milliseconds between two progress updates of one job.
const EMIT_EVERY: Duration = Duration::from_millis(200);
/// Rate is measured over this window.
const RATE_WINDOW: Duration = Duration::from_secs(3);

/// Lines of a build log kept in memory; the log file keeps them all.
const LOG_LINES: usize = 10_000;

/// Receives every job change worth showing.
pub type JobListener = Arc<dyn Fn(&JobView) + Send + Sync>;

/// Receives build log lines as they arrive.
pub type LogListener = Arc<dyn Fn(&BuildLogEvent) + Send + Sync>;

/// What to run again on retry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum JobRequest {
    Push(PushRequest),
    Pull(PullRequest),
    Build(BuildRequest),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Record {
    view: JobView,
    request: JobRequest,
    /// The partial download of a pull, kept for resume.
    partial: Option<PathBuf>,
    /// The builder's id of a remote build, kept to attach to it again.
    #[serde(default)]
    build_id: Option<String>,
}

struct Live {
    record: Record,
    cancel: Option<Cancel>,
    samples: VecDeque<(Instant, u64)>,
    last_emit: Option<Instant>,
    /// The newest build log lines.
    log: VecDeque<String>,
    /// Lines logged in all (the index of the next one).
    log_total: u64,
}

/// The job list.
#[derive(Clone)]
pub struct Jobs {
    inner: Arc<Inner>,
}

struct Inner {
    table: Mutex<Vec<Live>>,
    listener: Mutex<Option<JobListener>>,
    log_listener: Mutex<Option<LogListener>>,
    store: Option<PathBuf>,
}

impl std::fmt::Debug for Jobs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Jobs")
    }
}

/// What a new job is about.
#[derive(Debug, Clone)]
pub struct JobSpec {
    pub kind: JobKind,
    pub title: String,
    pub remote: String,
    pub source: String,
    pub destination: Option<String>,
    pub request: JobRequest,
}

impl Jobs {
    /// A list kept only in memory (the CLI).
    pub fn in_memory() -> Self {
        Self::with_store(None)
    }

    /// A list persisted in `path` (the app: `<config>/jobs.json`). Jobs that were running
    /// when it was last saved come back interrupted.
    pub fn persisted(path: PathBuf) -> Self {
        let jobs = Self::with_store(Some(path.clone()));
        let saved: Vec<Record> = match atomic_file::read_json(&path) {
            Ok(v) => v.unwrap_or_default(),
            Err(e) => {
                tracing::warn!("ignoring unreadable job history: {e}");
                Vec::new()
            }
        };
        {
            let mut t = jobs.table();
            for mut record in saved {
                if record.view.state == JobState::Running {
                    record.view.state = JobState::Interrupted;
                    record.view.rate = None;
                    record.view.eta_seconds = None;
                }
                refresh_resume(&mut record);
                t.push(Live {
                    record,
                    cancel: None,
                    samples: VecDeque::new(),
                    last_emit: None,
                    log: VecDeque::new(),
                    log_total: 0,
                });
            }
        }
        jobs
    }

    fn with_store(store: Option<PathBuf>) -> Self {
        Self {
            inner: Arc::new(Inner {
                table: Mutex::new(Vec::new()),
                listener: Mutex::new(None),
                log_listener: Mutex::new(None),
                store,
            }),
        }
    }

    /// Where updates go (one listener; a second call replaces the first).
    pub fn set_listener(&self, listener: JobListener) {
        *self
            .inner
            .listener
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some(listener);
    }

    /// Where build log lines go (one listener; a second call replaces the first).
    pub fn set_log_listener(&self, listener: LogListener) {
        *self
            .inner
            .log_listener
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some(listener);
    }

    /// A job's build log: the lines in memory, or after a restart those in its log file.
    pub fn log(&self, id: &str) -> Result<BuildLogView> {
        let (lines, total) = {
            let t = self.table();
            let live = t
                .iter()
                .find(|l| l.record.view.id == id)
                .ok_or_else(|| Error::JobNotFound { id: id.to_owned() })?;
            (live.log.iter().cloned().collect::<Vec<_>>(), live.log_total)
        };
        if total > 0 {
            return Ok(BuildLogView {
                job_id: id.to_owned(),
                truncated: total > lines.len() as u64,
                lines,
            });
        }
        let mut lines: Vec<String> = match self.log_file(id) {
            Some(path) => match std::fs::read(&path) {
                Ok(bytes) => String::from_utf8_lossy(&bytes)
                    .lines()
                    .map(str::to_owned)
                    .collect(),
                Err(_) => Vec::new(),
            },
            None => Vec::new(),
        };
        let truncated = lines.len() > LOG_LINES;
        if truncated {
            lines.drain(..lines.len() - LOG_LINES);
        }
        Ok(BuildLogView {
            job_id: id.to_owned(),
            lines,
            truncated,
        })
    }

    /// `<config>/build-logs/<id>.log` for a persisted list.
    fn log_file(&self, id: &str) -> Option<PathBuf> {
        let dir = self.inner.store.as_ref()?.parent()?.join("build-logs");
        // Ids are UUIDs; anything else must not become a path.
        id.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-')
            .then(|| dir.join(format!("{id}.log")))
    }

    fn remove_log(&self, id: &str) {
        if let Some(path) = self.log_file(id) {
            let _ = std::fs::remove_file(path);
        }
    }

    fn table(&self) -> MutexGuard<'_, Vec<Live>> {
        self.inner.table.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Every job, newest first.
    pub fn list(&self) -> Vec<JobView> {
        self.table().iter().map(|l| l.record.view.clone()).collect()
    }

    /// One job.
    pub fn get(&self, id: &str) -> Result<JobView> {
        self.table()
            .iter()
            .find(|l| l.record.view.id == id)
            .map(|l| l.record.view.clone())
            .ok_or_else(|| Error::JobNotFound { id: id.to_owned() })
    }

    /// What a job was asked to do, and its partial file.
    pub fn request(&self, id: &str) -> Result<(JobRequest, Option<PathBuf>)> {
        self.table()
            .iter()
            .find(|l| l.record.view.id == id)
            .map(|l| (l.record.request.clone(), l.record.partial.clone()))
            .ok_or_else(|| Error::JobNotFound { id: id.to_owned() })
    }

    /// The builder's id of a remote build job, while there is one to attach to.
    pub fn build_id(&self, id: &str) -> Result<Option<String>> {
        self.table()
            .iter()
            .find(|l| l.record.view.id == id)
            .map(|l| l.record.build_id.clone())
            .ok_or_else(|| Error::JobNotFound { id: id.to_owned() })
    }

    /// Registers a running job (a new one, or `reuse` = the id of a finished one being
    /// retried) and returns its handle.
    pub fn begin(&self, spec: JobSpec, reuse: Option<&str>) -> Result<JobHandle> {
        let cancel = Cancel::new();
        let view = {
            let mut t = self.table();
            let id = match reuse {
                Some(id) => {
                    let pos = t
                        .iter()
                        .position(|l| l.record.view.id == id)
                        .ok_or_else(|| Error::JobNotFound { id: id.to_owned() })?;
                    if t[pos].record.view.state == JobState::Running {
                        return Err(Error::JobRunning);
                    }
                    t.remove(pos);
                    id.to_owned()
                }
                None => uuid::Uuid::new_v4().to_string(),
            };
            let view = JobView {
                id,
                kind: spec.kind,
                title: spec.title,
                remote: spec.remote,
                source: spec.source,
                destination: spec.destination,
                state: JobState::Running,
                phase: JobPhase::Queued,
                bytes_done: 0,
                bytes_total: None,
                rate: None,
                eta_seconds: None,
                started_at: now_ms(),
                finished_at: None,
                result: None,
                error: None,
                resumable: false,
                resume_from: None,
                build_id: None,
                parts: Vec::new(),
            };
            t.insert(
                0,
                Live {
                    record: Record {
                        view: view.clone(),
                        request: spec.request,
                        partial: None,
                        build_id: None,
                    },
                    cancel: Some(cancel.clone()),
                    samples: VecDeque::new(),
                    last_emit: None,
                    log: VecDeque::new(),
                    log_total: 0,
                },
            );
            for gone in trim_history(&mut t) {
                self.remove_log(&gone);
            }
            view
        };
        // A retried job starts a new log.
        self.remove_log(&view.id);
        self.save();
        self.emit(&view);
        Ok(JobHandle {
            jobs: self.clone(),
            id: view.id,
            cancel,
        })
    }

    /// Asks a running job to stop; it reports `cancelled` when it has.
    pub fn cancel(&self, id: &str) -> Result<JobView> {
        let t = self.table();
        let live = t
            .iter()
            .find(|l| l.record.view.id == id)
            .ok_or_else(|| Error::JobNotFound { id: id.to_owned() })?;
        if let Some(c) = &live.cancel {
            c.cancel();
        }
        Ok(live.record.view.clone())
    }

    /// Cancels everything running (the app is closing).
    pub fn cancel_all(&self) {
        for l in self.table().iter() {
            if let Some(c) = &l.cancel {
                c.cancel();
            }
        }
    }

    /// Drops finished jobs from the history; returns what is left.
    pub fn clear_finished(&self) -> Vec<JobView> {
        let gone: Vec<String> = {
            let mut t = self.table();
            let gone = t
                .iter()
                .filter(|l| l.record.view.state != JobState::Running)
                .map(|l| l.record.view.id.clone())
                .collect();
            t.retain(|l| l.record.view.state == JobState::Running);
            gone
        };
        for id in gone {
            self.remove_log(&id);
        }
        self.save();
        self.list()
    }

    fn update(&self, id: &str, force: bool, f: impl FnOnce(&mut Live)) {
        let view = {
            let mut t = self.table();
            let Some(live) = t.iter_mut().find(|l| l.record.view.id == id) else {
                return;
            };
            f(live);
            let now = Instant::now();
            let due = live
                .last_emit
                .is_none_or(|last| now.duration_since(last) >= EMIT_EVERY);
            if !(force || due) {
                return;
            }
            live.last_emit = Some(now);
            measure(live, now);
            live.record.view.clone()
        };
        self.emit(&view);
    }

    fn emit(&self, view: &JobView) {
        let listener = self
            .inner
            .listener
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        if let Some(l) = listener {
            l(view);
        }
    }

    fn save(&self) {
        let Some(path) = &self.inner.store else {
            return;
        };
        let records: Vec<Record> = self.table().iter().map(|l| l.record.clone()).collect();
        if let Err(e) = atomic_file::write_json(path, &records) {
            tracing::warn!("could not save the job history: {e}");
        }
    }
}

/// A running job's side: progress in, result out. Dropping it without [`JobHandle::finish`]
/// marks the job failed (a panic or a forgotten path must not leave it "running").
pub struct JobHandle {
    jobs: Jobs,
    id: String,
    cancel: Cancel,
}

impl JobHandle {
    /// The job's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The cancel switch the transfer watches.
    pub fn cancel(&self) -> &Cancel {
        &self.cancel
    }

    /// A [`Progress`] feeding this job.
    pub fn progress(&self) -> Arc<dyn Progress> {
        Arc::new(JobProgress {
            jobs: self.jobs.clone(),
            id: self.id.clone(),
        })
    }

    /// Enters a phase that moves no bytes (or sets up one that does).
    pub fn phase(&self, phase: JobPhase, total: Option<u64>) {
        self.jobs.update(&self.id, true, |l| {
            l.record.view.phase = phase;
            l.record.view.bytes_total = total;
            l.record.view.bytes_done = 0;
            l.record.view.parts.clear();
            l.samples.clear();
        });
    }

    /// The destination became known (a pull's file name).
    pub fn set_destination(&self, destination: String) {
        self.jobs.update(&self.id, true, |l| {
            l.record.view.destination = Some(destination);
        });
    }

    /// The partial file a pull writes; kept for resume.
    pub fn set_partial(&self, partial: PathBuf) {
        self.jobs
            .update(&self.id, false, |l| l.record.partial = Some(partial));
        self.jobs.save();
    }

    /// Records the builder's id of a remote build (`None`: nothing left to attach to).
    pub fn set_build_id(&self, build_id: Option<String>) {
        self.jobs.update(&self.id, true, |l| {
            l.record.build_id.clone_from(&build_id);
            l.record.view.build_id = build_id;
        });
        self.jobs.save();
    }

    /// Appends a line to the job's build log (kept in memory, in its log file, and sent
    /// to the log listener).
    pub fn log(&self, line: &str) {
        let index = {
            let mut t = self.jobs.table();
            let Some(live) = t.iter_mut().find(|l| l.record.view.id == self.id) else {
                return;
            };
            live.log.push_back(line.to_owned());
            if live.log.len() > LOG_LINES {
                live.log.pop_front();
            }
            live.log_total += 1;
            live.log_total - 1
        };
        if let Some(path) = self.jobs.log_file(&self.id) {
            append_line(&path, line);
        }
        let listener = self
            .jobs
            .inner
            .log_listener
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        if let Some(l) = listener {
            l(&BuildLogEvent {
                job_id: self.id.clone(),
                index,
                lines: vec![line.to_owned()],
            });
        }
    }

    /// Ends the job with its outcome.
    pub fn finish(self, outcome: std::result::Result<JobResult, ApiError>) -> JobView {
        let cancelled = self.cancel.is_cancelled();
        self.jobs.update(&self.id, true, |l| {
            let v = &mut l.record.view;
            v.finished_at = Some(now_ms());
            v.rate = None;
            v.eta_seconds = None;
            match outcome {
                Ok(result) => {
                    v.state = JobState::Succeeded;
                    v.phase = JobPhase::Done;
                    v.result = Some(result);
                    v.error = None;
                    l.record.partial = None;
                }
                Err(e) if cancelled || e.code == "transfer.cancelled" => {
                    v.state = JobState::Cancelled;
                    v.error = None;
                }
                Err(e) => {
                    v.state = JobState::Failed;
                    v.error = Some(e);
                }
            }
            l.cancel = None;
            refresh_resume(&mut l.record);
        });
        self.jobs.save();
        let view = self.jobs.get(&self.id).expect("the job is in the table");
        std::mem::forget(self);
        view
    }
}

impl Drop for JobHandle {
    fn drop(&mut self) {
        let id = self.id.clone();
        self.jobs.update(&id, true, |l| {
            if l.record.view.state == JobState::Running {
                l.record.view.state = JobState::Failed;
                l.record.view.finished_at = Some(now_ms());
                l.record.view.error = Some(ApiError {
                    code: "internal.job_lost".into(),
                    message: "the transfer stopped unexpectedly".into(),
                    hint: Some("Try again; if it repeats, report it with the log.".into()),
                });
                l.cancel = None;
                refresh_resume(&mut l.record);
            }
        });
        self.jobs.save();
    }
}

struct JobProgress {
    jobs: Jobs,
    id: String,
}

impl Progress for JobProgress {
    fn phase(&self, phase: Phase, total: Option<u64>) {
        let phase = match phase {
            Phase::Hashing => JobPhase::Hashing,
            Phase::Preparing => JobPhase::Preparing,
            Phase::Uploading => JobPhase::Uploading,
            Phase::Tagging => JobPhase::Tagging,
            Phase::Resolving => JobPhase::Resolving,
            Phase::Downloading => JobPhase::Downloading,
            Phase::Checking => JobPhase::Checking,
            Phase::Unpacking => JobPhase::Unpacking,
            Phase::Squashing => JobPhase::Squashing,
            Phase::Assembling => JobPhase::Finishing,
        };
        self.jobs.update(&self.id, true, |l| {
            l.record.view.phase = phase;
            l.record.view.bytes_total = total;
            l.record.view.bytes_done = 0;
            l.record.view.parts.clear();
            l.samples.clear();
        });
    }

    fn advance(&self, bytes: u64) {
        self.jobs.update(&self.id, false, |l| {
            l.record.view.bytes_done = l.record.view.bytes_done.saturating_add(bytes);
        });
    }

    fn retract(&self, bytes: u64) {
        self.jobs.update(&self.id, false, |l| {
            l.record.view.bytes_done = l.record.view.bytes_done.saturating_sub(bytes);
            // A step back would read as a negative rate.
            l.samples.clear();
        });
    }

    fn parts(&self, parts: &[berth_progress::PartInfo]) {
        self.jobs.update(&self.id, true, |l| {
            l.record.view.parts = parts
                .iter()
                .map(|p| JobPartView {
                    label: p.label.clone(),
                    done: p.done,
                    total: p.total,
                })
                .collect();
        });
    }

    fn part(&self, index: usize, done: u64) {
        self.jobs.update(&self.id, false, |l| {
            if let Some(p) = l.record.view.parts.get_mut(index) {
                p.done = done.min(p.total);
            }
        });
    }
}

/// Rate over the last seconds and the ETA from it.
fn measure(live: &mut Live, now: Instant) {
    let done = live.record.view.bytes_done;
    live.samples.push_back((now, done));
    while live
        .samples
        .front()
        .is_some_and(|(t, _)| now.duration_since(*t) > RATE_WINDOW)
    {
        live.samples.pop_front();
    }
    let v = &mut live.record.view;
    let (t0, b0) = *live.samples.front().expect("just pushed");
    let secs = now.duration_since(t0).as_secs_f64();
    if secs < 0.2 || done < b0 {
        return;
    }
    let rate = (done - b0) as f64 / secs;
    v.rate = Some(rate);
    v.eta_seconds = match v.bytes_total {
        Some(total) if rate > 0.0 && total >= done => Some((total - done) as f64 / rate),
        _ => None,
    };
}

/// Joins consecutive log events of one job (each continuing where the previous ended) into
/// one, so a burst of build output crosses to a window as a few events, not thousands.
pub fn merge_log_events(events: Vec<BuildLogEvent>) -> Vec<BuildLogEvent> {
    let mut out: Vec<BuildLogEvent> = Vec::new();
    for e in events {
        match out.last_mut() {
            Some(last)
                if last.job_id == e.job_id && last.index + last.lines.len() as u64 == e.index =>
            {
                last.lines.extend(e.lines);
            }
            _ => out.push(e),
        }
    }
    out
}

/// Keeps the newest finished jobs; returns the ids dropped.
fn trim_history(t: &mut Vec<Live>) -> Vec<String> {
    let mut finished = 0;
    let mut gone = Vec::new();
    t.retain(|l| {
        if l.record.view.state == JobState::Running {
            return true;
        }
        finished += 1;
        if finished > HISTORY {
            gone.push(l.record.view.id.clone());
        }
        finished <= HISTORY
    });
    gone
}

/// A pull whose partial file is still there can continue; a remote build the builder
/// still runs can be attached to again.
fn refresh_resume(record: &mut Record) {
    let v = &mut record.view;
    let stopped = matches!(v.state, JobState::Failed | JobState::Interrupted);
    let open = v.result.is_none() && stopped;
    let (resumable, from) = match (&record.request, &record.partial, &record.build_id) {
        (JobRequest::Pull(_), Some(p), _) if open => {
            let from = partial_bytes(p);
            (from.is_some(), from)
        }
        (JobRequest::Build(_), _, Some(_)) if open => (true, None),
        _ => (false, None),
    };
    v.resumable = resumable;
    v.resume_from = from;
    v.build_id.clone_from(&record.build_id);
}

/// Best effort: a log that cannot be written must not stop the build.
fn append_line(path: &std::path::Path, line: &str) {
    use std::io::Write as _;
    let write = || -> std::io::Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        use std::os::unix::fs::OpenOptionsExt as _;
        // Build output may show what the build saw (paths, environment): this user only.
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(path)?;
        writeln!(f, "{line}")
    };
    if let Err(e) = write() {
        tracing::debug!("build log not written: {e}");
    }
}

fn partial_bytes(partial: &std::path::Path) -> Option<u64> {
    berth_library::resumable_bytes(partial).filter(|&n| n > 0)
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> JobSpec {
        JobSpec {
            kind: JobKind::Pull,
            title: "Pull x".into(),
            remote: "r".into(),
            source: "library://a/b/c".into(),
            destination: None,
            request: JobRequest::Pull(PullRequest {
                remote: None,
                reference: "library://a/b/c".into(),
                arch: None,
                destination: None,
                force: false,
                no_cache: false,
                verify: false,
            }),
        }
    }

    #[test]
    fn progress_rate_eta_and_throttling() {
        let jobs = Jobs::in_memory();
        let seen = Arc::new(Mutex::new(Vec::<JobView>::new()));
        let s = seen.clone();
        jobs.set_listener(Arc::new(move |v| s.lock().unwrap().push(v.clone())));
        let h = jobs.begin(spec(), None).unwrap();
        let p = h.progress();
        p.phase(Phase::Downloading, Some(1000));
        for _ in 0..100 {
            p.advance(5);
        }
        // Phase change and start always emit; 100 quick advances at most once more.
        let n = seen.lock().unwrap().len();
        assert!(n <= 3, "{n} updates");
        std::thread::sleep(Duration::from_millis(300));
        p.advance(100);
        let last = seen.lock().unwrap().last().cloned().unwrap();
        assert_eq!(last.bytes_done, 600);
        assert_eq!(last.phase, JobPhase::Downloading);
        let rate = last.rate.expect("a rate after 0.3 s");
        assert!(rate > 0.0);
        assert!(last.eta_seconds.unwrap() > 0.0);
        let done = h.finish(Err(ApiError {
            code: "net.unreachable".into(),
            message: "x".into(),
            hint: None,
        }));
        assert_eq!(done.state, JobState::Failed);
        assert!(done.finished_at.is_some());
        assert!(!done.resumable, "no partial file");
    }

    #[test]
    fn cancel_and_retry_reuse_the_id_and_history_persists() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("jobs.json");
        let jobs = Jobs::persisted(path.clone());
        let h = jobs.begin(spec(), None).unwrap();
        let id = h.id().to_owned();
        jobs.cancel(&id).unwrap();
        assert!(h.cancel().is_cancelled());
        let v = h.finish(Err(ApiError {
            code: "transfer.cancelled".into(),
            message: "cancelled".into(),
            hint: None,
        }));
        assert_eq!(v.state, JobState::Cancelled);
        let again = jobs.begin(spec(), Some(&id)).unwrap();
        assert_eq!(again.id(), id);
        assert_eq!(jobs.list().len(), 1);
        assert!(matches!(
            jobs.begin(spec(), Some(&id)),
            Err(Error::JobRunning)
        ));
        // Berth "quits" with the job running: it comes back interrupted.
        std::mem::forget(again);
        let reloaded = Jobs::persisted(path);
        let v = reloaded.get(&id).unwrap();
        assert_eq!(v.state, JobState::Interrupted);
        assert_eq!(reloaded.clear_finished().len(), 0);
    }

    #[test]
    fn layers_are_parts_of_the_phase_and_a_new_phase_clears_them() {
        let jobs = Jobs::in_memory();
        let h = jobs.begin(spec(), None).unwrap();
        let p = h.progress();
        p.phase(Phase::Downloading, Some(300));
        p.parts(&[
            berth_progress::PartInfo {
                label: "aaa".into(),
                total: 100,
                done: 100,
            },
            berth_progress::PartInfo {
                label: "bbb".into(),
                total: 200,
                done: 0,
            },
        ]);
        p.part(1, 50);
        p.part(7, 1);
        let v = jobs.get(h.id()).unwrap();
        let parts: Vec<(&str, u64, u64)> = v
            .parts
            .iter()
            .map(|p| (p.label.as_str(), p.done, p.total))
            .collect();
        assert_eq!(parts, [("aaa", 100, 100), ("bbb", 50, 200)]);
        p.phase(Phase::Unpacking, Some(300));
        assert!(jobs.get(h.id()).unwrap().parts.is_empty());
        h.finish(Err(ApiError {
            code: "x".into(),
            message: "x".into(),
            hint: None,
        }));
    }

    #[test]
    fn history_from_before_builds_still_loads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("jobs.json");
        let jobs = Jobs::persisted(path.clone());
        let id = jobs.begin(spec(), None).unwrap().id().to_owned();
        // An older Berth wrote records without the build and parts fields.
        let mut saved: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        for r in saved.as_array_mut().unwrap() {
            r.as_object_mut().unwrap().remove("buildId");
            let view = r["view"].as_object_mut().unwrap();
            view.remove("buildId");
            view.remove("parts");
        }
        std::fs::write(&path, serde_json::to_vec(&saved).unwrap()).unwrap();
        assert_eq!(
            Jobs::persisted(path).get(&id).unwrap().state,
            JobState::Failed
        );
    }

    #[test]
    fn consecutive_log_lines_of_a_job_merge_into_one_event() {
        let ev = |job: &str, index: u64, line: &str| BuildLogEvent {
            job_id: job.into(),
            index,
            lines: vec![line.into()],
        };
        let merged = merge_log_events(vec![
            ev("a", 0, "one"),
            ev("a", 1, "two"),
            ev("b", 0, "other"),
            ev("a", 2, "three"),
            ev("a", 3, "four"),
            ev("a", 7, "after a gap"),
        ]);
        let shape: Vec<(&str, u64, usize)> = merged
            .iter()
            .map(|e| (e.job_id.as_str(), e.index, e.lines.len()))
            .collect();
        assert_eq!(shape, [("a", 0, 2), ("b", 0, 1), ("a", 2, 2), ("a", 7, 1)]);
        assert_eq!(merged[0].lines, ["one", "two"]);
    }

    #[test]
    fn a_dropped_handle_fails_its_job() {
        let jobs = Jobs::in_memory();
        let id = jobs.begin(spec(), None).unwrap().id().to_owned();
        let v = jobs.get(&id).unwrap();
        assert_eq!(v.state, JobState::Failed);
        assert_eq!(v.error.unwrap().code, "internal.job_lost");
    }
}
