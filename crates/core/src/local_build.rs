//! Building a definition without root, in-process: for definitions that run nothing at
//! build time, the image is assembled the way Apptainer's build would leave it — the base
//! (an empty tree, a docker:// image through the pull pipeline, or a SIF from a library,
//! an oras:// registry or this machine), then `%files`, the `/.singularity.d` metadata of
//! the sections, SquashFS and the SIF with the definition as its Def.FILE object.
//!
//! A definition with several stages builds them in order, each from its own base; a later
//! stage's `%files from NAME` copies out of an earlier stage's tree, and the last stage is
//! the image.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use berth_build::{Definition, SectionKind, Stage, LOCAL_AGENTS};
use berth_progress::{Cancel, Phase, Progress};
use berth_sifbuild::{
    BaseSif, FilesLine, Note, RootFs, ScriptSection, SectionsInput, SkeletonInput,
};

use crate::jobs::JobHandle;
use crate::transfers::Transfers;
use crate::{Error, Result};

/// What a local build produced.
pub struct LocalBuilt {
    /// Architecture of the image's partition, Go name.
    pub arch: String,
    /// Size of the SIF in bytes.
    pub size: u64,
}

/// Where a stage's tree starts from, once fetched.
enum Base {
    Scratch,
    Oci {
        image: Box<berth_oci::ResolvedImage>,
        blobs: Vec<PathBuf>,
        reference: String,
    },
    Sif {
        path: PathBuf,
    },
}

/// The stages to build and what the blocking part needs of them.
struct Plan {
    /// The stages before the last, in file order: built only to be copied from.
    earlier: Vec<Stage>,
    /// The last stage: the image.
    last: Stage,
    text: String,
}

/// A tree started from its base, with what the base says about the image.
struct Started {
    root: RootFs,
    oci_config: Option<Vec<u8>>,
    base_arch: Option<String>,
    base_name: Option<String>,
    base_digest: Option<String>,
}

impl Transfers {
    /// Builds `def` in-process; writes the finished SIF at `out` (a temp path on the
    /// destination's file system; the caller renames it into place). `def_dir` resolves
    /// relative `%files` sources and `localimage` paths. `%test` is stored, not run.
    #[allow(clippy::too_many_arguments)]
    pub async fn build_locally(
        &self,
        def: &Definition,
        def_dir: &Path,
        arch: Option<&str>,
        remote: Option<&str>,
        out: &Path,
        job: &JobHandle,
        log: &(dyn Fn(&str) + Send + Sync),
    ) -> Result<LocalBuilt> {
        let plan = plan(def)?;
        log("INFO:    Starting build...");
        if plan.last.test().is_some() {
            log("WARNING: %test is stored in the image but not run: a build without root runs nothing inside the image (run it with `apptainer test IMAGE`)");
        }
        let platform = match arch.map(str::trim).filter(|a| !a.is_empty()) {
            Some(a) => berth_oci::Platform::linux(a, None)?,
            None => berth_oci::Platform::host(),
        };
        // Every base is fetched (and its signers checked) before any tree is built, so a
        // refused or missing base stops the build before the long part starts.
        let mut earlier_bases = Vec::with_capacity(plan.earlier.len());
        for stage in &plan.earlier {
            let base = self
                .checked_base(stage, def_dir, &platform, remote, job, log)
                .await?;
            earlier_bases.push(base);
        }
        let base = self
            .checked_base(&plan.last, def_dir, &platform, remote, job, log)
            .await?;

        let work = self.cache.build_dir()?;
        let input = Blocking {
            plan,
            earlier_bases,
            base,
            def_dir: def_dir.to_path_buf(),
            work: work.path().to_path_buf(),
            out: out.to_path_buf(),
            arch: platform.architecture.clone(),
            variant: platform.variant.clone(),
            progress: job.progress(),
            cancel: job.cancel().clone(),
        };
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
        let task = tokio::task::spawn_blocking(move || input.run(&tx));
        // The blocking side sends its log lines here; the channel closes when it ends.
        while let Some(line) = rx.recv().await {
            log(&line);
        }
        let arch = task
            .await
            .map_err(|e| Error::io(out, std::io::Error::other(e)))??;
        drop(work);
        let size = std::fs::metadata(out).map_err(|e| Error::io(out, e))?.len();
        Ok(LocalBuilt { arch, size })
    }

    /// A stage's base, fetched, with its `Fingerprints:` enforced.
    async fn checked_base(
        &self,
        stage: &Stage,
        def_dir: &Path,
        platform: &berth_oci::Platform,
        remote: Option<&str>,
        job: &JobHandle,
        log: &(dyn Fn(&str) + Send + Sync),
    ) -> Result<Base> {
        job.cancel().check()?;
        let base = self
            .fetch_base(stage, def_dir, platform, remote, job, log)
            .await?;
        job.cancel().check()?;
        self.check_fingerprints(stage, &base, log).await?;
        Ok(base)
    }

    /// `Fingerprints:` as Apptainer enforces it: a SIF base must verify, and every listed
    /// key must have signed every signed object group (the reference's AllSignedBy). Keys
    /// come from the local keyrings. Other bases carry no signatures: the line is ignored,
    /// with a warning.
    async fn check_fingerprints(
        &self,
        stage: &Stage,
        base: &Base,
        log: &(dyn Fn(&str) + Send + Sync),
    ) -> Result<()> {
        let wanted: Vec<String> = header_value(stage, "Fingerprints")
            .unwrap_or_default()
            .split(',')
            .map(|f| f.trim().replace(' ', "").to_ascii_uppercase())
            .filter(|f| !f.is_empty())
            .collect();
        if wanted.is_empty() {
            return Ok(());
        }
        let Base::Sif { path } = base else {
            log("WARNING: Fingerprints: applies to SIF bases (library, oras, localimage); ignored for this base");
            return Ok(());
        };
        log("INFO:    Checking the base image's signatures against Fingerprints:");
        let keys = self.keys.clone();
        let image = path.clone();
        let view = tokio::task::spawn_blocking(move || keys.verify_image(&image, false))
            .await
            .map_err(|e| Error::io(path, std::io::Error::other(e)))??;
        let refuse = |reason: String| Err(Error::BaseNotSignedAsRequired { reason });
        if view.signatures.is_empty() {
            return refuse("the base image is not signed".into());
        }
        if !view.verified {
            return refuse(format!(
                "the base image's signatures do not verify: {}",
                view.error.unwrap_or(view.summary)
            ));
        }
        // Fingerprints present in the signatures of every signed group.
        let mut groups: Vec<(Option<u32>, Vec<String>)> = Vec::new();
        for sig in &view.signatures {
            let fpr = sig
                .fingerprint
                .clone()
                .unwrap_or_default()
                .to_ascii_uppercase();
            match groups.iter_mut().find(|(g, _)| *g == sig.group) {
                Some((_, fprs)) => fprs.push(fpr),
                None => groups.push((sig.group, vec![fpr])),
            }
        }
        let missing: Vec<&String> = wanted
            .iter()
            .filter(|w| !groups.iter().all(|(_, fprs)| fprs.contains(w)))
            .collect();
        if !missing.is_empty() {
            return refuse(format!(
                "the base image is not signed by {}",
                missing
                    .iter()
                    .map(|m| m.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        Ok(())
    }

    /// Downloads (or finds) the base: OCI layers into the blob store, a SIF into the cache.
    async fn fetch_base(
        &self,
        stage: &Stage,
        def_dir: &Path,
        platform: &berth_oci::Platform,
        remote: Option<&str>,
        job: &JobHandle,
        log: &(dyn Fn(&str) + Send + Sync),
    ) -> Result<Base> {
        let agent = stage.bootstrap().unwrap_or_default();
        let from = header_value(stage, "from").unwrap_or_default();
        let needs_from = || -> Result<()> {
            if from.is_empty() {
                return Err(Error::BuildLocalUnsupported {
                    what: format!("Bootstrap: {agent} without a From: line"),
                });
            }
            Ok(())
        };
        match agent.as_str() {
            "scratch" => Ok(Base::Scratch),
            "docker" => {
                needs_from()?;
                log("INFO:    Fetching OCI image...");
                let r = berth_oci::ImageRef::parse(&from)?;
                let client = crate::oci_pull::client_for(&r, self.registries.clone())?;
                job.progress().phase(Phase::Resolving, None);
                let image = client.resolve(&r, platform, job.cancel()).await?;
                let blobs =
                    crate::oci_pull::fetch_layers(&client, &r, &image, &self.cache, job).await?;
                Ok(Base::Oci {
                    image: Box::new(image),
                    blobs,
                    reference: r.to_string(),
                })
            }
            "library" => {
                needs_from()?;
                log("INFO:    Downloading library image");
                let r = crate::transfers::parse_ref(&from)?;
                let mut partial = None;
                let fetched = self
                    .fetch_library(&r, remote, &platform.architecture, None, job, &mut partial)
                    .await;
                if let (Err(_), Some(p)) = (&fetched, &partial) {
                    if job.cancel().is_cancelled() {
                        berth_library::discard_partial(p);
                    }
                }
                let fetched = fetched?;
                Ok(Base::Sif { path: fetched.path })
            }
            "oras" => {
                needs_from()?;
                let rest = from.strip_prefix("oras://").unwrap_or(&from);
                let r = berth_oci::ImageRef::parse(rest)?;
                let client = crate::oci_pull::client_for(&r, self.registries.clone())?;
                let store = berth_oci::BlobStore::new(self.cache.blobs_dir());
                let (_, path) = client
                    .oras_pull_sif(&r, platform, &store, job.progress(), job.cancel())
                    .await?;
                Ok(Base::Sif { path })
            }
            "localimage" => {
                needs_from()?;
                let path = def_dir.join(&from);
                let meta = std::fs::metadata(&path).map_err(|e| Error::io(&path, e))?;
                if meta.is_dir() {
                    return Err(Error::BuildLocalUnsupported {
                        what: format!("a sandbox folder as the base ({})", path.display()),
                    });
                }
                Ok(Base::Sif { path })
            }
            other => Err(Error::BuildAgentNotLocal {
                agent: other.to_owned(),
            }),
        }
    }
}

/// Why `def` cannot be built here (`None`: it can) — the same check a local build makes,
/// so the editor and the command line never promise what the build then refuses.
pub(crate) fn local_blocker(def: &Definition) -> Option<Error> {
    plan(def).err()
}

/// Checks that `def` can be built here and orders its stages.
fn plan(def: &Definition) -> Result<Plan> {
    let mut running: Vec<&str> = Vec::new();
    for stage in def.stages() {
        for s in stage.sections() {
            // %test is kept, not run (Apptainer's --notest); the rest would need to run.
            if s.kind().executes_at_build() && s.kind() != SectionKind::Test {
                let name = match s.kind() {
                    SectionKind::Setup => "%setup",
                    SectionKind::Post => "%post",
                    SectionKind::AppInstall => "%appinstall",
                    _ => "%apptest",
                };
                if !running.contains(&name) {
                    running.push(name);
                }
            }
        }
    }
    if !running.is_empty() {
        return Err(Error::BuildNeedsRemote {
            sections: running.join(", "),
        });
    }
    for stage in def.stages() {
        let agent = stage.bootstrap().unwrap_or_default();
        if !LOCAL_AGENTS.contains(&agent.as_str()) {
            return Err(Error::BuildAgentNotLocal { agent });
        }
    }
    let apps = def
        .stages()
        .iter()
        .flat_map(Stage::sections)
        .find(|s| s.kind().is_app());
    if let Some(s) = apps {
        return Err(Error::BuildLocalUnsupported {
            what: format!("SCIF apps (%{} {})", s.kind().name(), s.app().unwrap_or("")),
        });
    }
    let Some((last, earlier)) = def.stages().split_last() else {
        return Err(Error::BuildLocalUnsupported {
            what: "a definition without a Bootstrap: line".into(),
        });
    };
    // Placeholders were filled before parsing (builds::definition_text); any left are
    // not build arguments (a Go template in a script, say) and stay as written.
    let text = def.to_text();
    Ok(Plan {
        earlier: earlier.to_vec(),
        last: last.clone(),
        text,
    })
}

/// How the log names a stage: its `Stage:` name, else its place in the file.
fn stage_label(stage: &Stage, index: usize) -> String {
    header_value(stage, "stage")
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| format!("{}", index + 1))
}

/// A header value as the reference reads it: what follows a `#` is a comment.
fn header_value(stage: &Stage, key: &str) -> Option<String> {
    stage
        .get(key)
        .map(|v| v.split('#').next().unwrap_or("").trim().to_owned())
}

/// Everything the blocking part of the build owns.
struct Blocking {
    plan: Plan,
    /// The bases of `plan.earlier`, in the same order.
    earlier_bases: Vec<Base>,
    base: Base,
    def_dir: PathBuf,
    work: PathBuf,
    out: PathBuf,
    /// Requested (or host) architecture, for the labels.
    arch: String,
    variant: Option<String>,
    progress: Arc<dyn Progress>,
    cancel: Cancel,
}

fn sb(e: berth_sifbuild::Error) -> Error {
    match e {
        berth_sifbuild::Error::Cancelled => Error::Cancelled,
        e => Error::SifBuild(e),
    }
}

impl Blocking {
    /// Assembles the image at `out`; returns the partition's architecture.
    fn run(self, tx: &tokio::sync::mpsc::UnboundedSender<String>) -> Result<String> {
        let say = |line: String| {
            let _ = tx.send(line);
        };
        let mut note = |n: Note| match n {
            Note::Info(t) => say(format!("INFO:    {t}")),
            Note::Warning(t) => say(format!("WARNING: {t}")),
        };
        let stage = &self.plan.last;
        let build_time = crate::oci_pull::build_time();
        let header: Vec<(String, String)> = stage
            .keywords()
            .map(|(k, _)| k.to_ascii_lowercase())
            .fold(Vec::new(), |mut acc, k| {
                if !acc.iter().any(|(seen, _)| *seen == k) {
                    let v = header_value(stage, &k).unwrap_or_default();
                    acc.push((k, v));
                }
                acc
            });
        let header_refs: Vec<(&str, &str)> = header
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();

        // Earlier stages exist only to be copied from: each gets its base and its %files
        // (from the host and from the stages before it) and nothing else. Their metadata,
        // labels and scripts would never reach the image, which is the last stage alone.
        // The reference names stages only at debug level; here a line per stage says which
        // tree the `Copying` lines that follow go into.
        let many = !self.plan.earlier.is_empty();
        let mut built: Vec<(Option<String>, RootFs)> = Vec::new();
        for (i, (earlier, base)) in self
            .plan
            .earlier
            .iter()
            .zip(&self.earlier_bases)
            .enumerate()
        {
            note(Note::Info(format!(
                "Building stage {}",
                stage_label(earlier, i)
            )));
            let mut root = self.start(base, build_time, &mut note)?.root;
            self.cancel.check()?;
            self.copy_files(earlier, &mut root, &built, &mut note)?;
            built.push((header_value(earlier, "stage"), root));
        }
        if many {
            let index = self.plan.earlier.len();
            note(Note::Info(format!(
                "Building stage {}",
                stage_label(stage, index)
            )));
        }
        let Started {
            mut root,
            oci_config,
            base_arch,
            base_name,
            base_digest,
        } = self.start(&self.base, build_time, &mut note)?;
        self.cancel.check()?;
        self.copy_files(stage, &mut root, &built, &mut note)?;
        // Their spools go now, before the image's SquashFS needs the disk.
        drop(built);

        let none: [String; 0] = [];
        let script = |kind: SectionKind| {
            stage.section(kind).map(|s| ScriptSection {
                body: s.body(),
                args: if s.args().is_empty() { &none } else { s.args() },
            })
        };
        let labels = stage.labels();
        berth_sifbuild::apply_sections(
            &mut root,
            &SectionsInput {
                definition: self.plan.text.as_bytes(),
                header: &header_refs,
                environment: stage.environment(),
                runscript: script(SectionKind::Runscript),
                startscript: script(SectionKind::Startscript),
                test: script(SectionKind::Test),
                help: stage.help(),
                labels: &labels,
                arch: &self.arch,
                variant: self.variant.as_deref(),
                build_time,
                base_name: base_name.as_deref(),
                base_digest: base_digest.as_deref(),
                berth_version: env!("CARGO_PKG_VERSION"),
                force: false,
            },
            &mut note,
        )
        .map_err(sb)?;
        self.cancel.check()?;

        // The partition's arch comes from the image's binaries, as the reference's does.
        let arch = berth_sifbuild::detect_arch(&root)
            .or(base_arch)
            .unwrap_or_else(|| self.arch.clone());
        let inspect = berth_sifbuild::inspect_metadata_json(&root).map_err(sb)?;
        let squashfs = self.work.join("rootfs.squashfs");
        berth_sifbuild::write_squashfs(&root, &squashfs, self.progress.clone(), &self.cancel)
            .map_err(sb)?;
        drop(root);
        note(Note::Info("Creating SIF file...".into()));
        self.progress.phase(Phase::Assembling, None);
        let mut json = vec![("inspect-metadata.json", inspect)];
        if let Some(config) = oci_config {
            json.push(("oci-config.json", config));
        }
        berth_sifbuild::assemble_sif(
            &self.out,
            self.plan.text.as_bytes(),
            &json,
            &squashfs,
            &arch,
        )
        .map_err(sb)?;
        let _ = std::fs::remove_file(&squashfs);
        Ok(arch)
    }

    /// A stage's tree from its base: empty, OCI layers or a SIF's file system, with the
    /// `/.singularity.d` skeleton.
    fn start(
        &self,
        base: &Base,
        build_time: std::time::SystemTime,
        note: &mut dyn FnMut(Note),
    ) -> Result<Started> {
        let started = match base {
            Base::Scratch => {
                let mut root = RootFs::new(&self.work).map_err(sb)?;
                berth_sifbuild::add_base_skeleton(&mut root, true).map_err(sb)?;
                root.add_file(".singularity.d/runscript", 0o755, b"#!/bin/sh\n")
                    .map_err(sb)?;
                Started {
                    root,
                    oci_config: None,
                    base_arch: None,
                    base_name: None,
                    base_digest: None,
                }
            }
            Base::Oci {
                image,
                blobs,
                reference,
            } => {
                note(Note::Info("Extracting OCI image...".into()));
                let mut root = RootFs::new(&self.work).map_err(sb)?;
                crate::oci_pull::apply_layers(
                    &mut root,
                    image,
                    blobs,
                    self.progress.as_ref(),
                    &self.cancel,
                )
                .map_err(|e| match e {
                    Error::SifBuild(e) => sb(e),
                    e => e,
                })?;
                note(Note::Info("Inserting Apptainer configuration...".into()));
                berth_sifbuild::add_base_skeleton(&mut root, true).map_err(sb)?;
                let config = &image.config.config_value;
                berth_sifbuild::add_oci_config(
                    &mut root,
                    &SkeletonInput {
                        definition: "",
                        bootstrap: "docker",
                        from: reference,
                        config,
                        arch: &self.arch,
                        variant: self.variant.as_deref(),
                        build_time,
                        base_name: Some(reference),
                        base_digest: Some(&image.top_digest),
                        berth_version: env!("CARGO_PKG_VERSION"),
                    },
                )
                .map_err(sb)?;
                Started {
                    root,
                    oci_config: Some(berth_sifbuild::oci_config_json(config)),
                    base_arch: None,
                    base_name: Some(reference.clone()),
                    base_digest: Some(image.top_digest.clone()),
                }
            }
            Base::Sif { path } => {
                note(Note::Info("Extracting local image...".into()));
                self.progress.phase(Phase::Unpacking, None);
                let (mut root, BaseSif { arch, oci_config }) =
                    RootFs::from_sif(&self.work, path, &self.cancel).map_err(|e| match e {
                        berth_sifbuild::Error::Sif(s) => Error::sif(path, s),
                        e => sb(e),
                    })?;
                berth_sifbuild::add_base_skeleton(&mut root, false).map_err(sb)?;
                Started {
                    root,
                    oci_config,
                    base_arch: arch,
                    base_name: None,
                    base_digest: None,
                }
            }
        };
        Ok(started)
    }

    /// A stage's `%files`: the copies from earlier stages first, then the host's, in the
    /// reference's order.
    fn copy_files(
        &self,
        stage: &Stage,
        root: &mut RootFs,
        built: &[(Option<String>, RootFs)],
        note: &mut dyn FnMut(Note),
    ) -> Result<()> {
        let files = stage
            .sections()
            .iter()
            .filter(|s| s.kind() == SectionKind::Files && s.app().is_none());
        for (section, name) in files.clone().filter_map(|s| s.from_stage().map(|n| (s, n))) {
            // The parser rejects unknown stages; this also catches a stage named later
            // in the file, whose tree does not exist yet.
            let Some((_, from)) = built.iter().find(|(n, _)| n.as_deref() == Some(name)) else {
                return Err(sb(berth_sifbuild::Error::FileCopy {
                    line: section.line(),
                    reason: format!("no stage named {name} is built before this one"),
                }));
            };
            for copy in section.files() {
                let line = FilesLine::from_words(&copy.src, &copy.dest, copy.line);
                berth_sifbuild::copy_from_stage(root, from, &line, &self.cancel, note)
                    .map_err(sb)?;
            }
        }
        for section in files.filter(|s| s.from_stage().is_none()) {
            for copy in section.files() {
                let line = FilesLine::from_words(&copy.src, &copy.dest, copy.line);
                berth_sifbuild::copy_from_host(root, &self.def_dir, &line, &self.cancel, note)
                    .map_err(sb)?;
            }
        }
        Ok(())
    }
}
