//! Push and pull as jobs: checks before anything is sent (signatures, quota, what will be
//! created), the library client's transfer, the cache, and putting the pulled file in
//! place atomically. Shared by the app (jobs run in the background and report events) and
//! the CLI (awaits one job and draws its progress).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use berth_library::{
    digest_file, discard_partial, DownloadOptions, DownloadSpec, LibraryClient, LibraryRef, Phase,
    PushSpec, UploadOptions, MULTIPART_THRESHOLD,
};
use sha2::Digest as _;

use crate::image_cache::ImageCache;
use crate::jobs::{JobHandle, JobRequest, JobSpec, Jobs};
use crate::keys::Keys;
use crate::libraries::Libraries;
use crate::model::SignatureState;
use crate::model_transfer::{
    JobKind, JobPhase, JobResult, JobView, PullRequest, PullResultView, PushPlanView, PushRequest,
    PushResultView, PushSignature,
};
use crate::remotes::Remote;
use crate::settings::SettingsStore;
use crate::{ApiError, Error, Result};

/// Pushes, pulls, their jobs and the cache.
pub struct Transfers {
    pub(crate) libraries: Arc<Libraries>,
    pub(crate) keys: Arc<Keys>,
    pub(crate) settings: Arc<SettingsStore>,
    pub(crate) cache: ImageCache,
    pub(crate) jobs: Jobs,
    pub(crate) registries: Option<Arc<crate::registries::RegistryLogins>>,
    /// How downloads are split.
    pub download: DownloadOptions,
    /// How uploads behave.
    pub upload: UploadOptions,
}

impl std::fmt::Debug for Transfers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Transfers")
    }
}

impl Transfers {
    /// Over these parts of the app.
    pub fn new(
        libraries: Arc<Libraries>,
        keys: Arc<Keys>,
        settings: Arc<SettingsStore>,
        cache: ImageCache,
        jobs: Jobs,
    ) -> Self {
        Self {
            libraries,
            keys,
            settings,
            cache,
            jobs,
            registries: None,
            download: DownloadOptions::default(),
            upload: UploadOptions::default(),
        }
    }

    /// Registry logins used for docker:// pulls (none: anonymous only).
    pub fn with_registries(mut self, registries: Arc<crate::registries::RegistryLogins>) -> Self {
        self.registries = Some(registries);
        self
    }

    /// The job list.
    pub fn jobs(&self) -> &Jobs {
        &self.jobs
    }

    /// The image cache.
    pub fn cache(&self) -> &ImageCache {
        &self.cache
    }

    // ----- push -----

    /// What a push would do, without sending anything: the file's size, arch and
    /// signatures, the records to create, the quota before and after.
    pub async fn plan_push(
        &self,
        remote: Option<&str>,
        file: &Path,
        reference: &str,
    ) -> Result<PushPlanView> {
        let r = parse_ref(reference)?;
        let (remote, client) = self.libraries.transfer_client(remote, &r).await?;
        let size = file_size(file)?;
        let arch = image_arch(file)?;
        let (signature, signature_summary) = self.signature_of(file).await;
        let target = client.push_target(&r).await?;
        let mut creates = Vec::new();
        let (e, c, n) = push_path(&r)?;
        if target.entity.is_none() {
            creates.push(e.clone());
        }
        if target.collection.is_none() {
            creates.push(format!("{e}/{c}"));
        }
        if target.container.is_none() {
            creates.push(format!("{e}/{c}/{n}"));
        }
        let quota = quota_of(&client, target.entity.as_ref()).await;
        let (quota_used, quota_total) = match quota {
            Some((used, total)) => (Some(used), Some(total)),
            None => (None, None),
        };
        let quota_left_after = match quota {
            Some((used, total)) if total > 0 => Some(
                i64::try_from(total).unwrap_or(i64::MAX)
                    - i64::try_from(used + size).unwrap_or(i64::MAX),
            ),
            _ => None,
        };
        let over_quota = quota_left_after.is_some_and(|l| l < 0);
        let mut warnings = Vec::new();
        if over_quota {
            warnings.push(format!(
                "The image needs {} but only {} of the quota are left: the library will refuse it.",
                human_size(size),
                human_size(
                    quota_total
                        .unwrap_or(0)
                        .saturating_sub(quota_used.unwrap_or(0))
                )
            ));
        }
        if arch.is_none() {
            warnings.push(
                "The image has no primary partition, so its architecture must be given.".into(),
            );
        }
        Ok(PushPlanView {
            remote: remote.name,
            file: file.display().to_string(),
            size,
            arch,
            reference: canonical(&r),
            tags: r.tags().to_vec(),
            creates,
            signature,
            signature_summary,
            quota_total,
            quota_used,
            quota_left_after,
            over_quota,
            warnings,
        })
    }

    async fn signature_of(&self, file: &Path) -> (PushSignature, String) {
        let keys = self.keys.clone();
        let path = file.to_path_buf();
        let verdict = tokio::task::spawn_blocking(move || keys.verify_image(&path, false)).await;
        match verdict {
            Ok(Ok(v)) if v.verified => (PushSignature::Verified, v.summary),
            Ok(Ok(v)) if v.signatures.is_empty() => (PushSignature::Unsigned, v.summary),
            Ok(Ok(v)) => {
                let unknown_only = v.signatures.iter().all(|s| {
                    matches!(
                        s.state,
                        SignatureState::Valid | SignatureState::UnknownSigner
                    )
                });
                let kind = if unknown_only {
                    PushSignature::Unknown
                } else {
                    PushSignature::Invalid
                };
                (kind, v.summary)
            }
            Ok(Err(e)) if e.code() == "integrity.no_signatures" => (
                PushSignature::Unsigned,
                "Not signed: this image carries no signature.".to_owned(),
            ),
            Ok(Err(e)) => (
                PushSignature::Invalid,
                format!("Signatures cannot be checked: {e}."),
            ),
            Err(e) => (
                PushSignature::Invalid,
                format!("Signatures cannot be checked: {e}."),
            ),
        }
    }

    /// Registers a push job after quick checks (reference, remote, file); the caller runs
    /// it with [`Transfers::run_push`].
    pub fn begin_push(&self, req: &PushRequest, reuse: Option<&str>) -> Result<JobHandle> {
        let file = PathBuf::from(&req.file);
        file_size(&file)?;
        let name = file
            .file_name()
            .map_or_else(|| req.file.clone(), |n| n.to_string_lossy().into_owned());
        let (remote, destination) = match oras_ref(&req.reference)? {
            Some(r) => (r.registry().to_owned(), format!("oras://{r}")),
            None => {
                let r = parse_ref(&req.reference)?;
                push_path(&r)?;
                let remote = self.libraries.pick_remote(req.remote.as_deref(), &r)?;
                (remote.name, canonical(&r))
            }
        };
        self.jobs.begin(
            JobSpec {
                kind: JobKind::Push,
                title: format!("Push {name} to {destination}"),
                remote,
                source: req.file.clone(),
                destination: Some(destination),
                request: JobRequest::Push(req.clone()),
            },
            reuse,
        )
    }

    /// Runs a registered push to its end.
    pub async fn run_push(&self, req: PushRequest, job: JobHandle) -> JobView {
        let outcome = match oras_ref(&req.reference) {
            Ok(Some(r)) => self.push_oras(&r, &req, &job).await,
            Ok(None) => self.push(&req, &job).await,
            Err(e) => Err(e),
        };
        job.finish(outcome.map_err(|e| ApiError::from(&e)))
    }

    /// `oras://` push: the SIF as an OCI artifact (library-api.md §11.2). No signature gate:
    /// like `apptainer push … oras://`, the registry keeps the signatures inside the SIF.
    async fn push_oras(
        &self,
        r: &berth_oci::ImageRef,
        req: &PushRequest,
        job: &JobHandle,
    ) -> Result<JobResult> {
        let file = PathBuf::from(&req.file);
        let size = file_size(&file)?;
        let arch = match req.arch.as_deref().map(str::trim).filter(|a| !a.is_empty()) {
            Some(a) => a.to_owned(),
            None => image_arch(&file)?.unwrap_or_default(),
        };
        let client = crate::oci_pull::client_for(r, self.registries.clone())?;
        let digest = client
            .oras_push_sif(r, &file, job.progress(), job.cancel())
            .await?;
        Ok(JobResult::Pushed(PushResultView {
            reference: format!("oras://{r}"),
            hash: digest,
            size,
            arch,
            tags: r.tag().map(|t| vec![t.to_owned()]).unwrap_or_default(),
            uploaded: true,
            created: Vec::new(),
            quota_used: None,
            quota_total: None,
            quota_line: None,
            container_url: None,
        }))
    }

    async fn push(&self, req: &PushRequest, job: &JobHandle) -> Result<JobResult> {
        let r = parse_ref(&req.reference)?;
        let (remote, client) = self
            .libraries
            .transfer_client(req.remote.as_deref(), &r)
            .await?;
        let file = PathBuf::from(&req.file);
        let size = file_size(&file)?;
        let arch = match req.arch.as_deref().map(str::trim).filter(|a| !a.is_empty()) {
            Some(a) => {
                berth_library::check_arch(a).map_err(berth_library::Error::from)?;
                a.to_owned()
            }
            None => image_arch(&file)?.ok_or_else(|| Error::UnknownArch { path: file.clone() })?,
        };
        if !req.allow_unsigned {
            job.phase(JobPhase::Verifying, None);
            let (sig, summary) = self.signature_of(&file).await;
            if sig != PushSignature::Verified {
                return Err(Error::PushUnverified {
                    path: file,
                    summary,
                });
            }
        }
        job.cancel().check()?;
        let progress = job.progress();
        progress.phase(Phase::Hashing, Some(size));
        let digest = digest_file(
            &file,
            size <= MULTIPART_THRESHOLD,
            progress.clone(),
            job.cancel().clone(),
        )
        .await?;
        let target = client.push_target(&r).await?;
        if let Some((used, total)) = quota_of(&client, target.entity.as_ref()).await {
            if total > 0 && used.saturating_add(digest.size) > total {
                return Err(Error::OverQuota {
                    needed: digest.size,
                    left: total.saturating_sub(used),
                });
            }
        }
        let spec = PushSpec {
            file: file.clone(),
            reference: r.clone(),
            description: req.description.clone(),
            arch: arch.clone(),
            private: req.private,
            upload: self.upload,
        };
        let out = client.push(&spec, &digest, progress, job.cancel()).await?;
        let (quota_used, quota_total, quota_line, container_url) = match &out.completion {
            Some(c) => (
                Some(c.quota_usage),
                Some(c.quota_total),
                Some(quota_line(c.quota_usage, c.quota_total)),
                c.container_url
                    .as_deref()
                    .map(|u| container_url(&remote, u)),
            ),
            None => (None, None, None, None),
        };
        Ok(JobResult::Pushed(PushResultView {
            reference: canonical(&r),
            hash: out.hash,
            size: out.size,
            arch,
            tags: out.tags,
            uploaded: out.uploaded,
            created: out.created,
            quota_used,
            quota_total,
            quota_line,
            container_url,
        }))
    }

    // ----- pull -----

    /// Registers a pull job after quick checks (reference, remote, destination free); the
    /// caller runs it with [`Transfers::run_pull`].
    pub fn begin_pull(&self, req: &PullRequest, reuse: Option<&str>) -> Result<JobHandle> {
        let (remote, source, name) = match parse_source(&req.reference)? {
            PullSource::Library(r) => {
                let remote = self.libraries.pick_remote(req.remote.as_deref(), &r)?;
                (remote.name, canonical(&r), library_file_name(&r))
            }
            PullSource::Docker(r) => (
                r.registry().to_owned(),
                format!("docker://{r}"),
                r.default_sif_name(),
            ),
            PullSource::Oras(r) => (
                r.registry().to_owned(),
                format!("oras://{r}"),
                r.default_sif_name(),
            ),
            PullSource::Shub(r) => (r.registry().to_owned(), r.to_string(), r.default_sif_name()),
        };
        let dest = self.destination(req, &name)?;
        if !req.force && dest.exists() && reuse.is_none() {
            return Err(Error::DestinationExists { path: dest });
        }
        self.jobs.begin(
            JobSpec {
                kind: JobKind::Pull,
                title: format!("Pull {source}"),
                remote,
                source,
                destination: Some(dest.display().to_string()),
                request: JobRequest::Pull(req.clone()),
            },
            reuse,
        )
    }

    /// Runs a registered pull to its end. A cancelled pull leaves nothing behind; a failed
    /// one keeps its partial file so that a retry continues.
    pub async fn run_pull(&self, req: PullRequest, job: JobHandle) -> JobView {
        let mut partial = None;
        let outcome = match parse_source(&req.reference) {
            Ok(PullSource::Docker(r)) => match self.destination(&req, &r.default_sif_name()) {
                Ok(dest) => {
                    crate::oci_pull::pull_docker(
                        &r,
                        &req,
                        &dest,
                        &self.cache,
                        self.registries.clone(),
                        &job,
                    )
                    .await
                }
                Err(e) => Err(e),
            },
            Ok(PullSource::Oras(r)) => match self.destination(&req, &r.default_sif_name()) {
                Ok(dest) => self.pull_oras(&r, &req, &dest, &job).await,
                Err(e) => Err(e),
            },
            Ok(PullSource::Shub(r)) => match self.destination(&req, &r.default_sif_name()) {
                Ok(dest) => self.pull_shub(&r, &req, &dest, &job).await,
                Err(e) => Err(e),
            },
            _ => self.pull(&req, &job, &mut partial).await,
        };
        if let (Err(_), Some(p)) = (&outcome, &partial) {
            if job.cancel().is_cancelled() {
                discard_partial(p);
            }
        }
        job.finish(outcome.map_err(|e| ApiError::from(&e)))
    }

    pub(crate) async fn pull(
        &self,
        req: &PullRequest,
        job: &JobHandle,
        partial_out: &mut Option<PathBuf>,
    ) -> Result<JobResult> {
        let r = parse_ref(&req.reference)?;
        let reference = canonical(&r);
        let dest = self.destination(req, &library_file_name(&r))?;
        let arch = req
            .arch
            .as_deref()
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map_or_else(|| berth_library::host_arch().to_owned(), str::to_owned);
        let fetched = self
            .fetch_library(
                &r,
                req.remote.as_deref(),
                &arch,
                req.no_cache.then(|| hidden_partial(&dest)),
                job,
                partial_out,
            )
            .await?;
        let LibraryFetched {
            path: source,
            hash,
            size,
            from_cache,
            resumed_from,
        } = fetched;
        job.phase(JobPhase::Finishing, None);
        job.cancel().check()?;
        place_file(&source, &dest, req.force, req.no_cache).await?;
        let (verify, verify_error) = if req.verify {
            self.check_signatures(&dest).await
        } else {
            (None, None)
        };
        Ok(JobResult::Pulled(PullResultView {
            path: dest.display().to_string(),
            reference,
            hash,
            size,
            from_cache,
            resumed_from,
            verify,
            verify_error,
        }))
    }

    /// A library image on this machine: from the cache, or downloaded (hash-checked) into
    /// it — or into `uncached` when given, bypassing the cache. `partial_out` learns the
    /// partial file so a cancelled caller can discard it.
    pub(crate) async fn fetch_library(
        &self,
        r: &LibraryRef,
        remote: Option<&str>,
        arch: &str,
        uncached: Option<PathBuf>,
        job: &JobHandle,
        partial_out: &mut Option<PathBuf>,
    ) -> Result<LibraryFetched> {
        let reference = canonical(r);
        let (_, client) = self.libraries.transfer_client(remote, r).await?;
        let progress = job.progress();
        progress.phase(Phase::Resolving, None);
        let image = match client.get_image(r, Some(arch)).await {
            Err(e) if e.is_not_found() => {
                return Err(Error::Library(e.with_message(format!(
                    "image does not exist in the library: {} ({arch})",
                    r.path_with_tag()
                ))))
            }
            other => other?,
        };
        let size = image.size.filter(|&s| s > 0).ok_or_else(|| {
            Error::Library(berth_library::Error::not_uploaded(&r.path_with_tag()))
        })?;
        job.cancel().check()?;
        let cached = uncached
            .is_none()
            .then(|| self.cache.get(&image.hash, size, &reference))
            .flatten();
        let (path, from_cache, resumed_from) = match cached {
            Some(path) => (path, true, 0),
            None => {
                let partial = match &uncached {
                    Some(p) => p.clone(),
                    None => self.cache.partial_path(&image.hash)?,
                };
                job.set_partial(partial.clone());
                *partial_out = Some(partial.clone());
                let spec = DownloadSpec {
                    reference: r.clone(),
                    arch: Some(arch.to_owned()),
                    hash: image.hash.clone(),
                    size,
                };
                let out = client
                    .download_image(&spec, &partial, &self.download, progress, job.cancel())
                    .await?;
                let done = if uncached.is_some() {
                    partial
                } else {
                    self.cache.commit(&partial, &image.hash, &reference, size)?
                };
                (done, false, out.resumed_from)
            }
        };
        Ok(LibraryFetched {
            path,
            hash: image.hash,
            size,
            from_cache,
            resumed_from,
        })
    }

    /// `oras://` pull: the SIF blob fetched (verified) into the shared blob store, then
    /// copied into place; its signatures checked when asked.
    async fn pull_oras(
        &self,
        r: &berth_oci::ImageRef,
        req: &PullRequest,
        dest: &Path,
        job: &JobHandle,
    ) -> Result<JobResult> {
        let platform = match req.arch.as_deref().map(str::trim).filter(|a| !a.is_empty()) {
            Some(a) => berth_oci::Platform::linux(a, None)?,
            None => berth_oci::Platform::host(),
        };
        let client = crate::oci_pull::client_for(r, self.registries.clone())?;
        let store = berth_oci::BlobStore::new(self.cache.blobs_dir());
        let (blob, path) = client
            .oras_pull_sif(r, &platform, &store, job.progress(), job.cancel())
            .await?;
        job.phase(JobPhase::Finishing, None);
        job.cancel().check()?;
        place_file(&path, dest, req.force, false).await?;
        let (verify, verify_error) = if req.verify {
            self.check_signatures(dest).await
        } else {
            (None, None)
        };
        Ok(JobResult::Pulled(PullResultView {
            path: dest.display().to_string(),
            reference: format!("oras://{r}"),
            hash: blob.digest,
            size: blob.size,
            from_cache: false,
            resumed_from: 0,
            verify,
            verify_error,
        }))
    }

    /// `shub://` pull: the manifest, then the file into the cache under its commit (the
    /// reference's cache key), then copied into place; signatures checked when asked.
    async fn pull_shub(
        &self,
        r: &berth_library::ShubRef,
        req: &PullRequest,
        dest: &Path,
        job: &JobHandle,
    ) -> Result<JobResult> {
        let progress = job.progress();
        progress.phase(Phase::Resolving, None);
        let client = berth_library::ShubClient::new(is_loopback_url(r.registry()))?;
        let manifest = client.manifest(r).await?;
        job.cancel().check()?;
        let dir = self.cache.root().join("shub");
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        let key = format!("{:x}", sha2::Sha256::digest(manifest.commit.as_bytes()));
        let cached = dir.join(format!("{key}.sif"));
        let from_cache = !req.no_cache && !manifest.commit.is_empty() && cached.is_file();
        let size = if from_cache {
            std::fs::metadata(&cached).map_or(0, |m| m.len())
        } else {
            let partial = dir.join(format!(".{key}.{}.partial", uuid::Uuid::new_v4()));
            let n = client
                .download(&manifest, &partial, progress, job.cancel())
                .await?;
            std::fs::rename(&partial, &cached).map_err(|e| Error::io(&cached, e))?;
            n
        };
        job.phase(JobPhase::Finishing, None);
        place_file(&cached, dest, req.force, false).await?;
        if req.no_cache {
            let _ = std::fs::remove_file(&cached);
        }
        let (verify, verify_error) = if req.verify {
            self.check_signatures(dest).await
        } else {
            (None, None)
        };
        Ok(JobResult::Pulled(PullResultView {
            path: dest.display().to_string(),
            reference: r.to_string(),
            hash: manifest.commit.clone(),
            size,
            from_cache,
            resumed_from: 0,
            verify,
            verify_error,
        }))
    }

    /// The signature check after a pull, as a view or the reason it could not run.
    async fn check_signatures(
        &self,
        path: &Path,
    ) -> (Option<crate::model::VerifyView>, Option<ApiError>) {
        let keys = self.keys.clone();
        let path = path.to_path_buf();
        match tokio::task::spawn_blocking(move || keys.verify_image(&path, false)).await {
            Ok(Ok(v)) => (Some(v), None),
            Ok(Err(e)) => (None, Some(ApiError::from(&e))),
            Err(e) => (
                None,
                Some(ApiError {
                    code: "internal.task_failed".into(),
                    message: e.to_string(),
                    hint: None,
                }),
            ),
        }
    }

    /// The file a pull writes: the request's file, or `name` in the request's folder or
    /// the pull folder setting.
    pub fn destination(&self, req: &PullRequest, name: &str) -> Result<PathBuf> {
        let given = req
            .destination
            .as_deref()
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .map(PathBuf::from);
        let path = match given {
            Some(d) if d.is_dir() => d.join(name),
            Some(file) => {
                let parent = folder_of(&file);
                if !parent.is_dir() {
                    return Err(Error::NotADirectory { path: parent });
                }
                file
            }
            None => {
                let folder = self
                    .settings
                    .get()?
                    .pull_folder
                    .ok_or(Error::NoPullFolder)?;
                let folder = PathBuf::from(folder);
                if !folder.is_dir() {
                    return Err(Error::NotADirectory { path: folder });
                }
                folder.join(name)
            }
        };
        Ok(path)
    }

    /// Restarts a finished job under its id (a pull continues from its partial file).
    pub fn begin_retry(&self, id: &str) -> Result<(JobRequest, JobHandle)> {
        let (mut request, _) = self.jobs.request(id)?;
        // A remote build the builder still runs is followed again, not built again.
        if let (JobRequest::Build(req), Some(build_id)) = (&mut request, self.jobs.build_id(id)?) {
            req.attach = Some(build_id);
        }
        let handle = match &request {
            JobRequest::Push(req) => self.begin_push(req, Some(id))?,
            JobRequest::Pull(req) => self.begin_pull(req, Some(id))?,
            JobRequest::Build(req) => self.begin_build(req, Some(id))?,
        };
        Ok((request, handle))
    }

    /// Runs a job begun by [`Transfers::begin_retry`] (or either `begin_*`).
    pub async fn run(&self, request: JobRequest, job: JobHandle) -> JobView {
        match request {
            JobRequest::Push(req) => self.run_push(req, job).await,
            JobRequest::Pull(req) => self.run_pull(req, job).await,
            JobRequest::Build(req) => self.run_build(req, job).await,
        }
    }
}

/// Starts jobs on the current tokio runtime and returns at once (the app).
pub trait Spawn {
    /// Starts a push in the background.
    fn spawn_push(&self, req: PushRequest) -> Result<JobView>;
    /// Starts a pull in the background.
    fn spawn_pull(&self, req: PullRequest) -> Result<JobView>;
    /// Starts a build in the background.
    fn spawn_build(&self, req: crate::model_build::BuildRequest) -> Result<JobView>;
    /// Follows job `id`'s remote build in a new job in the background.
    fn spawn_attach(&self, id: &str) -> Result<JobView>;
    /// Restarts a finished job in the background.
    fn spawn_retry(&self, id: &str) -> Result<JobView>;
}

impl Spawn for Arc<Transfers> {
    fn spawn_push(&self, req: PushRequest) -> Result<JobView> {
        let job = self.begin_push(&req, None)?;
        let view = self.jobs.get(job.id())?;
        let this = self.clone();
        tokio::spawn(async move { this.run_push(req, job).await });
        Ok(view)
    }

    fn spawn_pull(&self, req: PullRequest) -> Result<JobView> {
        let job = self.begin_pull(&req, None)?;
        let view = self.jobs.get(job.id())?;
        let this = self.clone();
        tokio::spawn(async move { this.run_pull(req, job).await });
        Ok(view)
    }

    fn spawn_build(&self, req: crate::model_build::BuildRequest) -> Result<JobView> {
        let job = self.begin_build(&req, None)?;
        let view = self.jobs.get(job.id())?;
        let this = self.clone();
        tokio::spawn(async move { this.run_build(req, job).await });
        Ok(view)
    }

    fn spawn_attach(&self, id: &str) -> Result<JobView> {
        self.spawn_build(self.attach_request(id)?)
    }

    fn spawn_retry(&self, id: &str) -> Result<JobView> {
        let (request, job) = self.begin_retry(id)?;
        let view = self.jobs.get(job.id())?;
        let this = self.clone();
        tokio::spawn(async move { this.run(request, job).await });
        Ok(view)
    }
}

/// A library image fetched onto this machine.
pub(crate) struct LibraryFetched {
    /// The file (in the cache unless fetched uncached).
    pub path: PathBuf,
    /// Its SHA-256 as the library names it.
    pub hash: String,
    /// Its size in bytes.
    pub size: u64,
    /// Whether the cache already had it.
    pub from_cache: bool,
    /// Where a resumed download started.
    pub resumed_from: u64,
}

/// What a pull fetches.
#[derive(Debug, Clone)]
pub enum PullSource {
    /// `library://…` or a bare library path.
    Library(LibraryRef),
    /// `docker://…`, converted to SIF.
    Docker(berth_oci::ImageRef),
    /// `oras://…`: a SIF stored as an OCI artifact.
    Oras(berth_oci::ImageRef),
    /// `shub://…`: a SIF from a Singularity Hub registry.
    Shub(berth_library::ShubRef),
}

/// The source a pull reference names, by its scheme.
pub fn parse_source(text: &str) -> Result<PullSource> {
    let t = text.trim();
    match t.split_once("://") {
        Some((scheme, _)) if scheme.eq_ignore_ascii_case("docker") => {
            Ok(PullSource::Docker(berth_oci::ImageRef::parse(t)?))
        }
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("oras") => {
            Ok(PullSource::Oras(berth_oci::ImageRef::parse(rest)?))
        }
        Some((scheme, _)) if scheme.eq_ignore_ascii_case("shub") => {
            Ok(PullSource::Shub(berth_library::ShubRef::parse(t)?))
        }
        _ => Ok(PullSource::Library(parse_ref(t)?)),
    }
}

/// Whether a registry URL (or `host[:port]`) names this machine: plain http is allowed
/// only there.
pub(crate) fn is_loopback_url(url: &str) -> bool {
    let full = if url.contains("://") {
        url.to_owned()
    } else {
        format!("http://{url}")
    };
    url::Url::parse(&full).is_ok_and(|u| berth_keyserver::is_loopback(&u))
}

/// The registry reference of an `oras://` push or pull; `None` for other schemes.
fn oras_ref(text: &str) -> Result<Option<berth_oci::ImageRef>> {
    match text.trim().split_once("://") {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("oras") => {
            Ok(Some(berth_oci::ImageRef::parse(rest)?))
        }
        _ => Ok(None),
    }
}

/// Apptainer's default file name for a library pull: `<container>_<tag>.sif`.
fn library_file_name(r: &LibraryRef) -> String {
    format!("{}_{}.sif", r.container(), r.tag())
}

/// Puts a finished image at `dest`: renamed when it may be moved (`movable`, same folder),
/// else copied through a synced temp file; an existing `dest` only with `force`.
pub(crate) async fn place_file(from: &Path, dest: &Path, force: bool, movable: bool) -> Result<()> {
    if !force && dest.exists() {
        return Err(Error::DestinationExists {
            path: dest.to_path_buf(),
        });
    }
    if movable && std::fs::rename(from, dest).is_ok() {
        sync_parent(dest);
        return Ok(());
    }
    copy_into_place(from, dest).await
}

/// A `library://` reference; other schemes are refused by name.
pub fn parse_ref(text: &str) -> Result<LibraryRef> {
    let t = text.trim();
    if let Some((scheme, _)) = t.split_once("://") {
        if !scheme.eq_ignore_ascii_case("library") {
            return Err(Error::UnsupportedScheme {
                reference: t.to_owned(),
            });
        }
    }
    Ok(LibraryRef::parse(t).map_err(berth_library::Error::from)?)
}

/// `library://[host/]path:tags`.
pub fn canonical(r: &LibraryRef) -> String {
    r.to_string()
}

fn push_path(r: &LibraryRef) -> Result<(String, String, String)> {
    match (r.entity(), r.collection()) {
        (Some(e), Some(c)) => Ok((e.to_owned(), c.to_owned(), r.container().to_owned())),
        _ => Err(Error::Library(berth_library::Error::from(
            berth_library::RefError {
                input: r.to_string(),
                part: berth_library::RefPart::Path,
                value: r.path(),
                reason: berth_library::RefReason::PushNeedsFullPath,
            },
        ))),
    }
}

fn file_size(file: &Path) -> Result<u64> {
    let md = std::fs::metadata(file).map_err(|e| Error::io(file, e))?;
    if !md.is_file() {
        return Err(Error::NotARegularFile {
            path: file.to_path_buf(),
        });
    }
    Ok(md.len())
}

/// The Go name of the primary partition's architecture, as the reference pushes it.
fn image_arch(file: &Path) -> Result<Option<String>> {
    let image = berth_sif::Image::open(file).map_err(|e| Error::sif(file, e))?;
    let Ok(primary) = image.primary_partition() else {
        return Ok(None);
    };
    let part = primary.partition().map_err(|e| Error::sif(file, e))?;
    Ok(part.arch.is_known().then(|| part.arch.go_name().to_owned()))
}

/// `(used, total)` quota of the logged-in user (Hinkskalle reports it on the user), else of
/// the destination entity; `None` when the library does not say.
async fn quota_of(
    client: &LibraryClient,
    entity: Option<&berth_library::Entity>,
) -> Option<(u64, u64)> {
    if let Ok(user) = client.current_user().await {
        if user.quota > 0 {
            return Some((user.used_quota, user.quota));
        }
    }
    entity
        .filter(|e| e.quota > 0)
        .map(|e| (e.used_quota.max(e.size), e.quota))
}

/// Apptainer's quota line (§5.2).
pub fn quota_line(used: u64, total: u64) -> String {
    if total == 0 {
        format!(
            "Library storage: using {} out of unlimited quota",
            human_size(used)
        )
    } else {
        format!(
            "Library storage: using {} out of {} quota ({:.1}% used)",
            human_size(used),
            human_size(total),
            used as f64 / total as f64 * 100.0
        )
    }
}

/// Binary units with two decimals, as Apptainer prints sizes ("13.24 MiB").
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 7] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.2} {}", UNITS[unit])
}

/// The container URL the library gave, made absolute on the remote's front end (§5.2).
fn container_url(remote: &Remote, url: &str) -> String {
    if url.starts_with("http://") || url.starts_with("https://") {
        url.to_owned()
    } else {
        format!("{}/{}", remote.base_url(), url.trim_start_matches('/'))
    }
}

/// The partial file of an uncached pull: hidden, beside the destination, so the final
/// rename stays on one file system.
fn hidden_partial(dest: &Path) -> PathBuf {
    let name = dest
        .file_name()
        .map_or_else(|| "image".into(), |n| n.to_string_lossy().into_owned());
    dest.with_file_name(format!(".{name}.berth-partial"))
}

/// The folder a file is in; `.` for a bare file name.
pub(crate) fn folder_of(file: &Path) -> PathBuf {
    file.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// Copies a cached image to `dest` through a temporary file beside it, synced and renamed,
/// so `dest` is never seen half-written.
async fn copy_into_place(from: &Path, dest: &Path) -> Result<()> {
    let (from, dest) = (from.to_path_buf(), dest.to_path_buf());
    tokio::task::spawn_blocking(move || -> Result<()> {
        let dir = folder_of(&dest);
        let tmp = tempfile::Builder::new()
            .prefix(".berth-pull-")
            .tempfile_in(&dir)
            .map_err(|e| Error::io(&dir, e))?;
        let mut src = std::fs::File::open(&from).map_err(|e| Error::io(&from, e))?;
        let mut out = tmp.as_file();
        std::io::copy(&mut src, &mut out).map_err(|e| Error::io(&dest, e))?;
        tmp.as_file().sync_all().map_err(|e| Error::io(&dest, e))?;
        tmp.persist(&dest).map_err(|e| Error::io(&dest, e.error))?;
        sync_parent(&dest);
        Ok(())
    })
    .await
    .map_err(|e| Error::io(PathBuf::new(), std::io::Error::other(e)))?
}

fn sync_parent(path: &Path) {
    if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quota_lines_read_as_apptainer_prints_them() {
        assert_eq!(
            quota_line(13_883_146, 11 * 1024 * 1024 * 1024),
            "Library storage: using 13.24 MiB out of 11.00 GiB quota (0.1% used)"
        );
        assert_eq!(
            quota_line(800_517, 0),
            "Library storage: using 781.75 KiB out of unlimited quota"
        );
    }

    #[test]
    fn refs_of_other_schemes_are_named() {
        assert_eq!(
            parse_ref("docker://alpine").unwrap_err().code(),
            "ref.unsupported_scheme"
        );
        assert_eq!(
            canonical(&parse_ref("lab/tools/bwa:1.0").unwrap()),
            "library://lab/tools/bwa:1.0"
        );
    }
}
