//! Builds as jobs: the definition checked, then either sent to the remote's build service
//! (build context, submit, the log followed over the WebSocket, the result pulled through
//! the normal library pull) or assembled in-process ([`Transfers::build_locally`]). The
//! log lines go to the job's build log, which the app streams and the CLI prints.

use std::path::{Path, PathBuf};

use berth_build::{Definition, SectionKind};
use berth_library::{BuildInfo, BuilderClient};

use crate::jobs::{JobHandle, JobRequest, JobSpec};
use crate::model_build::{
    BuildMode, BuildRequest, BuildResultView, DefinitionCheckView, DefinitionFileView,
    DefinitionIssueView,
};
use crate::model_transfer::{JobKind, JobPhase, JobResult, JobView, PullRequest};
use crate::transfers::Transfers;
use crate::{ApiError, Error, Result};

/// Deletes an uploaded build context; a failure must not fail the build.
async fn drop_context(client: &BuilderClient, digest: Option<&str>) {
    if let Some(digest) = digest {
        if let Err(e) = client.delete_context(digest).await {
            tracing::warn!("build context {digest} not deleted: {e}");
        }
    }
}

/// What the parser says about `text`, for the editor's markers and the builder choice.
pub fn check_definition(text: &str) -> DefinitionCheckView {
    let pos = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    match Definition::parse(text) {
        Ok(def) => {
            let stage = def.final_stage();
            let reason = local_reason(&def);
            let executing: Vec<String> = def
                .executing_sections()
                .into_iter()
                .map(|k| format!("%{}", k.name()))
                .collect();
            DefinitionCheckView {
                errors: Vec::new(),
                warnings: def
                    .warnings()
                    .iter()
                    .map(|w| DefinitionIssueView {
                        line: pos(w.line),
                        column: pos(w.column),
                        code: w.code.to_owned(),
                        message: w.message.clone(),
                        hint: None,
                    })
                    .collect(),
                bootstrap: stage.bootstrap(),
                from: stage.from().map(str::to_owned),
                stages: pos(def.stages().len()),
                local_buildable: reason.is_none(),
                local_reason: reason,
                relative_files_line: first_relative_source(&def)
                    .map(|l| u32::try_from(l).unwrap_or(u32::MAX)),
                placeholders: berth_build::placeholder_names(text),
                executing_sections: executing,
            }
        }
        Err(errors) => DefinitionCheckView {
            errors: errors
                .errors()
                .iter()
                .map(|e| DefinitionIssueView {
                    line: pos(e.line),
                    column: pos(e.column),
                    code: e.code().to_owned(),
                    message: e.message.clone(),
                    hint: Some(e.hint().to_owned()),
                })
                .collect(),
            warnings: Vec::new(),
            bootstrap: None,
            from: None,
            stages: 0,
            local_buildable: false,
            executing_sections: Vec::new(),
            local_reason: Some("Fix the errors first.".into()),
            relative_files_line: None,
            placeholders: berth_build::placeholder_names(text),
        },
    }
}

/// Why Berth cannot build `def` itself, as a sentence.
fn local_reason(def: &Definition) -> Option<String> {
    crate::local_build::local_blocker(def).map(|e| {
        let text = e.to_string();
        let mut c = text.chars();
        let first = c
            .next()
            .map(|f| f.to_uppercase().collect::<String>())
            .unwrap_or_default();
        format!("{first}{}.", c.as_str())
    })
}

/// The text to build: `{{ NAME }}` placeholders filled from the request's build arguments
/// and the `%arguments` defaults; also the arguments nothing used.
pub fn definition_text(req: &BuildRequest) -> Result<(String, Vec<String>)> {
    let mut given = Vec::new();
    for a in req.build_args.iter().filter(|a| !a.trim().is_empty()) {
        let pair = berth_build::parse_assignment(a)
            .ok_or_else(|| Error::InvalidBuildArgument { text: a.clone() })?;
        given.push(pair);
    }
    let expanded = berth_build::expand(&req.definition, &given)?;
    Ok((expanded.text, expanded.unused))
}

/// Apptainer's warning for arguments nothing used.
fn warn_unused(job: &JobHandle, unused: &[String]) {
    if !unused.is_empty() {
        job.log(&format!(
            "WARNING: Unused build variables: {}",
            unused.join(", ")
        ));
    }
}

/// Definition files are small; anything this large is something else.
const MAX_DEFINITION: u64 = 1 << 20;

/// Reads a definition file for the editor.
pub fn read_definition(path: &Path) -> Result<DefinitionFileView> {
    let not = |reason: &str| Error::NotADefinitionFile {
        path: path.to_path_buf(),
        reason: reason.to_owned(),
    };
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    if !meta.is_file() {
        return Err(Error::NotARegularFile {
            path: path.to_path_buf(),
        });
    }
    if meta.len() > MAX_DEFINITION {
        return Err(not("larger than 1 MiB"));
    }
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    if bytes.contains(&0) {
        return Err(not("it is binary"));
    }
    let text = String::from_utf8(bytes).map_err(|_| not("it is not UTF-8 text"))?;
    Ok(DefinitionFileView {
        path: path.display().to_string(),
        text,
    })
}

/// Saves the editor's text, atomically (a crash leaves the old file or the new one).
pub fn save_definition(path: &Path, text: &str) -> Result<DefinitionFileView> {
    use std::os::unix::fs::PermissionsExt as _;
    // Through a symlink to its target (a definition kept in a checkout), keeping the
    // file's mode: this is the person's file, not one of Berth's own.
    let target = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let mode = std::fs::metadata(&target)
        .ok()
        .map(|m| m.permissions().mode());
    crate::atomic_file::write(&target, text.as_bytes())?;
    let mode = mode.unwrap_or(0o644);
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(mode))
        .map_err(|e| Error::io(&target, e))?;
    Ok(DefinitionFileView {
        path: path.display().to_string(),
        text: text.to_owned(),
    })
}

/// Parses the request's definition, or the typed error naming the first problem.
pub fn parse_definition(text: &str) -> Result<Definition> {
    Definition::parse(text).map_err(|errors| {
        let first = errors.errors().first();
        Error::DefinitionInvalid {
            count: errors.errors().len(),
            line: first.map_or(0, |e| u32::try_from(e.line).unwrap_or(u32::MAX)),
            first: first.map_or_else(String::new, |e| e.message.clone()),
        }
    })
}

/// The folder relative `%files` sources are read from.
fn definition_dir(req: &BuildRequest) -> PathBuf {
    req.definition_path
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map_or_else(
            || PathBuf::from("."),
            |p| crate::transfers::folder_of(Path::new(p)),
        )
}

/// `<definition file stem>.sif`, or `image.sif` for an unsaved definition.
fn default_name(req: &BuildRequest) -> String {
    let stem = req
        .definition_path
        .as_deref()
        .and_then(|p| Path::new(p).file_stem())
        .map(|s| s.to_string_lossy().into_owned())
        .filter(|s| !s.is_empty());
    format!("{}.sif", stem.as_deref().unwrap_or("image"))
}

/// The `%files` lines that copy from this computer (not `from STAGE`), with quoted words
/// joined back as the local build reads them.
fn host_file_lines(def: &Definition) -> Vec<berth_sifbuild::FilesLine> {
    def.stages()
        .iter()
        .flat_map(|stage| stage.sections())
        .filter(|s| s.kind() == SectionKind::Files && s.from_stage().is_none())
        .flat_map(|s| s.files())
        .map(|c| berth_sifbuild::FilesLine::from_words(&c.src, &c.dest, c.line))
        .collect()
}

/// Host paths the build context must carry: every match of those lines' sources, relative
/// to the definition's folder as written.
fn context_paths(def: &Definition, base: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = Vec::new();
    for line in host_file_lines(def) {
        for p in berth_sifbuild::host_sources(base, &line) {
            if !out.contains(&p) {
                out.push(p);
            }
        }
    }
    out
}

/// An unsaved definition has no folder: relative `%files` sources would be read from
/// wherever Berth was started.
fn check_sources_have_a_folder(req: &BuildRequest, def: &Definition) -> Result<()> {
    let saved = req
        .definition_path
        .as_deref()
        .is_some_and(|p| !p.trim().is_empty());
    if saved {
        return Ok(());
    }
    match first_relative_source(def) {
        Some(line) => Err(Error::UnsavedRelativeFiles { line }),
        None => Ok(()),
    }
}

/// The line of the first `%files` copy from a relative host path.
fn first_relative_source(def: &Definition) -> Option<usize> {
    host_file_lines(def)
        .into_iter()
        .find(|l| !l.src.is_empty() && !Path::new(&l.src).is_absolute())
        .map(|l| l.line)
}

impl Transfers {
    /// The file a build writes, or `None` for a detached remote build without one.
    pub fn build_destination(&self, req: &BuildRequest) -> Result<Option<PathBuf>> {
        let given = req
            .destination
            .as_deref()
            .map(str::trim)
            .filter(|d| !d.is_empty());
        if given.is_none() && req.detached {
            return Ok(None);
        }
        let as_pull = PullRequest {
            remote: None,
            reference: String::new(),
            arch: None,
            destination: given.map(str::to_owned),
            force: req.force,
            no_cache: false,
            verify: false,
        };
        self.destination(&as_pull, &default_name(req)).map(Some)
    }

    /// The request that follows the remote build of job `id` (a detached submission, or
    /// one cut off) to its image, written where that job would have written it.
    pub fn attach_request(&self, id: &str) -> Result<BuildRequest> {
        let (request, _) = self.jobs.request(id)?;
        let JobRequest::Build(mut req) = request else {
            return Err(Error::NothingToAttach);
        };
        let view = self.jobs.get(id)?;
        if view.state == crate::model_transfer::JobState::Running {
            // It follows the build already; a second follower would pull it twice.
            return Err(Error::JobRunning);
        }
        let from_result = match &view.result {
            Some(JobResult::Built(b)) if b.detached => b.build_id.clone(),
            _ => None,
        };
        let build_id = from_result
            .or(view.build_id)
            .filter(|_| req.mode == BuildMode::Remote)
            .ok_or(Error::NothingToAttach)?;
        req.attach = Some(build_id);
        req.detached = false;
        Ok(req)
    }

    /// Registers a build job after quick checks (definition, destination free); the caller
    /// runs it with [`Transfers::run_build`].
    pub fn begin_build(&self, req: &BuildRequest, reuse: Option<&str>) -> Result<JobHandle> {
        if req.attach.is_none() {
            let (text, _) = definition_text(req)?;
            let def = parse_definition(&text)?;
            check_sources_have_a_folder(req, &def)?;
            if req.mode == BuildMode::Remote
                && def
                    .stages()
                    .iter()
                    .any(|s| s.bootstrap().as_deref() == Some("localimage"))
            {
                return Err(Error::RemoteBuildUnsupported {
                    reason: "Bootstrap: localimage names a file on this computer, which a build service cannot read".into(),
                });
            }
        }
        let dest = self.build_destination(req)?;
        if let Some(d) = &dest {
            // Also on a retry: a build never wrote its destination, so a file there now is
            // someone else's.
            if !req.force && d.exists() {
                return Err(Error::DestinationExists { path: d.clone() });
            }
        }
        let remote = match req.mode {
            BuildMode::Local => "this computer".to_owned(),
            BuildMode::Remote => match req
                .remote
                .as_deref()
                .map(str::trim)
                .filter(|r| !r.is_empty())
            {
                Some(name) => self.libraries.remotes().get(name)?.name,
                None => {
                    self.libraries
                        .remotes()
                        .default()?
                        .ok_or(Error::NoDefaultRemote)?
                        .name
                }
            },
        };
        let what = match &dest {
            Some(d) => d.file_name().map_or_else(
                || d.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            ),
            None => "image".to_owned(),
        };
        let title = match (req.mode, &req.attach) {
            (_, Some(id)) => format!("Attach to build {id}"),
            (BuildMode::Local, None) => format!("Build {what} on this computer"),
            (BuildMode::Remote, None) => format!("Build {what} on {remote}'s builder"),
        };
        let source = req
            .definition_path
            .clone()
            .filter(|p| !p.trim().is_empty())
            .unwrap_or_else(|| "unsaved definition".into());
        self.jobs.begin(
            JobSpec {
                kind: JobKind::Build,
                title,
                remote,
                source,
                destination: dest.map(|d| d.display().to_string()),
                request: JobRequest::Build(req.clone()),
            },
            reuse,
        )
    }

    /// Runs a registered build to its end. A cancelled remote build is cancelled on the
    /// builder too; a remote build whose log stream broke keeps its id, so a retry attaches
    /// to it instead of building again.
    pub async fn run_build(&self, req: BuildRequest, job: JobHandle) -> JobView {
        let outcome = match req.mode {
            BuildMode::Local => self.build_here(&req, &job).await,
            BuildMode::Remote => self.build_remote(&req, &job).await,
        };
        if let Err(e) = &outcome {
            job.log(&format!("FATAL:   {}", ApiError::from(e).message));
        }
        job.finish(outcome.map_err(|e| ApiError::from(&e)))
    }

    async fn build_here(&self, req: &BuildRequest, job: &JobHandle) -> Result<JobResult> {
        let (text, unused) = definition_text(req)?;
        warn_unused(job, &unused);
        let def = parse_definition(&text)?;
        let dest = self.build_destination(req)?.ok_or(Error::NoPullFolder)?;
        let dir = crate::transfers::folder_of(&dest);
        // Beside the destination, so the final rename stays on one file system and a
        // failed build leaves no file at the destination.
        let tmp = tempfile::Builder::new()
            .prefix(".berth-build-")
            .suffix(".sif")
            .tempfile_in(&dir)
            .map_err(|e| Error::io(&dir, e))?
            .into_temp_path();
        let log = |line: &str| job.log(line);
        let built = self
            .build_locally(
                &def,
                &definition_dir(req),
                req.arch.as_deref().map(str::trim).filter(|a| !a.is_empty()),
                req.remote.as_deref(),
                &tmp,
                job,
                &log,
            )
            .await?;
        job.phase(JobPhase::Finishing, None);
        job.cancel().check()?;
        let hash = berth_library::digest_file(
            &tmp,
            false,
            std::sync::Arc::new(berth_progress::NoProgress),
            job.cancel().clone(),
        )
        .await?
        .image_hash();
        crate::transfers::place_file(&tmp, &dest, req.force, true).await?;
        job.log(&format!("INFO:    Build complete: {}", dest.display()));
        Ok(JobResult::Built(BuildResultView {
            mode: BuildMode::Local,
            path: Some(dest.display().to_string()),
            hash: Some(hash),
            size: built.size,
            arch: Some(built.arch),
            build_id: None,
            library_ref: None,
            detached: false,
        }))
    }

    async fn build_remote(&self, req: &BuildRequest, job: &JobHandle) -> Result<JobResult> {
        job.phase(JobPhase::Submitting, None);
        let (remote, client, library_url) = self
            .libraries
            .builder_client(req.remote.as_deref(), req.builder_url.as_deref())
            .await?;
        let arch = req
            .arch
            .as_deref()
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map_or_else(|| berth_library::host_arch().to_owned(), str::to_owned);
        let (info, context) = match &req.attach {
            Some(id) => (client.status(id).await?, None),
            None => self.submit(req, &client, library_url, &arch, job).await?,
        };
        job.set_build_id(Some(info.id.clone()));
        if req.detached {
            job.log(&format!("INFO:    Build submitted: {}", info.id));
            return Ok(JobResult::Built(BuildResultView {
                mode: BuildMode::Remote,
                path: None,
                hash: None,
                size: 0,
                arch: Some(arch),
                build_id: Some(info.id.clone()),
                library_ref: Some(info.library_ref.clone()),
                detached: true,
            }));
        }
        job.phase(JobPhase::Building, None);
        if !info.is_complete {
            let streamed = client
                .stream_log(&info.id, |line| job.log(line), job.cancel())
                .await;
            if let Err(e) = streamed {
                // A cancelled build needs its context no more; one whose stream broke
                // may still be reading it.
                if e.kind() == berth_library::ErrorKind::Cancelled {
                    drop_context(&client, context.as_deref()).await;
                }
                return Err(e.into());
            }
        }
        let done = client.status(&info.id).await?;
        drop_context(&client, context.as_deref()).await;
        if let Err(e) = berth_library::result_ok(&done) {
            // Nothing left to attach to: a retry builds again.
            job.set_build_id(None);
            return Err(e.into());
        }
        job.cancel().check()?;
        self.fetch_result(req, &remote.name, &done, &arch, job)
            .await
    }

    /// Uploads the build context (when `%files` copies from this computer) and submits.
    async fn submit(
        &self,
        req: &BuildRequest,
        client: &BuilderClient,
        library_url: Option<String>,
        arch: &str,
        job: &JobHandle,
    ) -> Result<(BuildInfo, Option<String>)> {
        let (text, unused) = definition_text(req)?;
        warn_unused(job, &unused);
        let def = parse_definition(&text)?;
        let base = definition_dir(req);
        let paths = context_paths(&def, &base);
        let context = if paths.is_empty() {
            None
        } else {
            job.log(&format!(
                "INFO:    Uploading {} path(s) named in %files as the build context",
                paths.len()
            ));
            client.upload_context(&paths, &base).await?
        };
        job.cancel().check()?;
        let working_dir = context.as_ref().map(|_| {
            std::fs::canonicalize(&base)
                .unwrap_or(base.clone())
                .display()
                .to_string()
        });
        let info = client
            .submit(&berth_library::BuildRequest {
                // Filled here: build services differ on templating, so they get a plain file.
                definition: text.into_bytes(),
                library_ref: req
                    .library_ref
                    .clone()
                    .unwrap_or_default()
                    .trim()
                    .to_owned(),
                library_url,
                arch: Some(arch.to_owned()),
                context_digest: context.clone(),
                working_dir,
            })
            .await?;
        job.log(&format!("INFO:    Build submitted: {}", info.id));
        Ok((info, context))
    }

    /// Pulls the built image from the library the build names (§8.4) into place.
    async fn fetch_result(
        &self,
        req: &BuildRequest,
        remote: &str,
        done: &BuildInfo,
        arch: &str,
        job: &JobHandle,
    ) -> Result<JobResult> {
        let dest = self.build_destination(req)?.ok_or(Error::NoPullFolder)?;
        let pull = PullRequest {
            remote: Some(remote.to_owned()),
            reference: done.library_ref.clone(),
            arch: Some(arch.to_owned()),
            destination: Some(dest.display().to_string()),
            force: req.force,
            no_cache: false,
            verify: false,
        };
        job.log(&format!("INFO:    Downloading {}", done.library_ref));
        let mut partial = None;
        let pulled = match self.pull(&pull, job, &mut partial).await {
            Ok(JobResult::Pulled(p)) => p,
            Ok(_) => unreachable!("a library pull ends in a pulled result"),
            Err(e) => {
                if let (true, Some(p)) = (job.cancel().is_cancelled(), &partial) {
                    berth_library::discard_partial(p);
                }
                return Err(e);
            }
        };
        if !done.image_checksum.is_empty() && done.image_checksum != pulled.hash {
            // As scs-build: said, not fatal — the pull itself checked the library's hash.
            job.log(&format!(
                "WARNING: the builder reported {} but the library served {}",
                done.image_checksum, pulled.hash
            ));
        }
        job.log(&format!("INFO:    Build complete: {}", pulled.path));
        Ok(JobResult::Built(BuildResultView {
            mode: BuildMode::Remote,
            path: Some(pulled.path),
            hash: Some(pulled.hash),
            size: pulled.size,
            arch: Some(arch.to_owned()),
            build_id: Some(done.id.clone()),
            library_ref: Some(done.library_ref.clone()),
            detached: false,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_names_errors_with_positions_and_why_not_local() {
        let bad = check_definition("Bootstrap: docker\nFrom: alpine\n%pots\necho\n");
        assert_eq!(bad.errors.len(), 1, "{bad:?}");
        assert_eq!((bad.errors[0].line, bad.errors[0].column), (3, 1));
        assert_eq!(bad.errors[0].code, "def.unknown_section");
        assert!(!bad.local_buildable);

        let post = check_definition("Bootstrap: docker\nFrom: alpine\n%post\n  apk add x\n");
        assert!(post.errors.is_empty());
        assert_eq!(post.bootstrap.as_deref(), Some("docker"));
        assert_eq!(post.from.as_deref(), Some("alpine"));
        assert_eq!(post.executing_sections, ["%post"]);
        assert_eq!(
            post.local_reason.as_deref(),
            Some("The definition runs %post while it is built; a build without root cannot run them.")
        );

        // %test is stored, not run (as Apptainer's --notest): Berth can build this.
        assert_eq!(post.relative_files_line, None);
        let files = check_definition("Bootstrap: scratch\n%files\n  /abs /x\n  rel.txt /y\n");
        assert_eq!(files.relative_files_line, Some(4));
        let args =
            check_definition("Bootstrap: docker\nFrom: alpine:{{ TAG }}\n%arguments\n  TAG=3\n");
        assert_eq!(args.placeholders, ["TAG"]);
        let local = check_definition("Bootstrap: scratch\n%runscript\n  echo hi\n%test\n  true\n");
        assert!(
            local.local_buildable && local.local_reason.is_none(),
            "{local:?}"
        );

        // Stages that each run nothing build here, one after the other.
        let two = check_definition(
            "Bootstrap: docker\nFrom: alpine\nStage: a\nBootstrap: scratch\nStage: b\n%files from a\n  /x\n",
        );
        assert!(two.errors.is_empty(), "{two:?}");
        assert!(two.local_buildable && two.local_reason.is_none(), "{two:?}");
        let runs = check_definition(
            "Bootstrap: docker\nFrom: alpine\nStage: a\n%post\n  make\nBootstrap: scratch\n%files from a\n  /x\n",
        );
        assert!(!runs.local_buildable);
        assert_eq!(runs.executing_sections, ["%post"]);

        let deb = check_definition("Bootstrap: debootstrap\nFrom: bookworm\n");
        assert!(deb.local_reason.unwrap().contains("Bootstrap: debootstrap"));
    }

    #[test]
    fn context_carries_host_files_only() {
        let def = Definition::parse(
            "Bootstrap: docker\nFrom: alpine\nStage: one\n%files\n  data/a.txt /opt/a.txt\n  b.sh\n\
             Bootstrap: docker\nFrom: alpine\nStage: two\n%files from one\n  /opt/a.txt\n%files\n  b.sh /b\n",
        )
        .unwrap();
        // No matches on disk: the sources as written (the upload then names what is missing).
        assert_eq!(
            context_paths(&def, Path::new("/nonexistent")),
            [PathBuf::from("data/a.txt"), PathBuf::from("b.sh")]
        );
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("data")).unwrap();
        for n in ["x.txt", "y.txt"] {
            std::fs::write(dir.path().join("data").join(n), n).unwrap();
        }
        let globbed = Definition::parse(
            "Bootstrap: docker\nFrom: alpine\n%files\n  data/*.txt /opt/\n  \"my file\" /opt/\n",
        )
        .unwrap();
        assert_eq!(
            context_paths(&globbed, dir.path()),
            [
                PathBuf::from("data/x.txt"),
                PathBuf::from("data/y.txt"),
                PathBuf::from("my file")
            ]
        );
    }

    #[test]
    fn saving_keeps_the_files_mode_and_writes_through_a_link() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.def");
        std::fs::write(&real, "old").unwrap();
        std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o640)).unwrap();
        let link = dir.path().join("link.def");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        save_definition(&link, "Bootstrap: scratch\n").unwrap();
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(
            std::fs::read_to_string(&real).unwrap(),
            "Bootstrap: scratch\n"
        );
        let mode = std::fs::metadata(&real).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o640);
        let new = dir.path().join("new.def");
        save_definition(&new, "x").unwrap();
        assert_eq!(
            std::fs::metadata(&new).unwrap().permissions().mode() & 0o777,
            0o644
        );
    }

    #[test]
    fn names_come_from_the_definition_file() {
        let mut req = BuildRequest {
            definition: String::new(),
            definition_path: Some("/home/ana/defs/ubuntu.def".into()),
            mode: BuildMode::Remote,
            remote: None,
            builder_url: None,
            arch: None,
            destination: None,
            library_ref: None,
            detached: false,
            force: false,
            attach: None,
            build_args: Vec::new(),
        };
        assert_eq!(default_name(&req), "ubuntu.sif");
        assert_eq!(definition_dir(&req), PathBuf::from("/home/ana/defs"));
        req.definition_path = None;
        assert_eq!(default_name(&req), "image.sif");
        assert_eq!(definition_dir(&req), PathBuf::from("."));
    }
}
