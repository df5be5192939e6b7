//! Generation of the TypeScript twins of [`crate::model`] for the UI.
//!
//! `cargo run -p berth-cli -- dev bindings ui/src/lib/bindings` writes them; the test
//! `bindings_are_fresh` fails when the committed files differ from what Rust generates.

use std::path::Path;

use ts_rs::{Config, TS};

use crate::model::*;
use crate::model_build::*;
use crate::model_library::*;
use crate::model_transfer::*;
use crate::ApiError;

/// Every exported type as `(file name, TypeScript source)`.
pub fn render() -> Vec<(String, String)> {
    // 64-bit integers are sizes and offsets far below 2^53: plain numbers on the JS side.
    let cfg = Config::new().with_large_int("number");
    let mut out = Vec::new();
    macro_rules! each {
        ($($t:ty),* $(,)?) => {$(
            out.push((
                format!("{}.ts", <$t as TS>::ident(&cfg)),
                <$t as TS>::export_to_string(&cfg).expect("every model type is exportable"),
            ));
        )*};
    }
    each!(
        ApiError,
        ImageSource,
        LocalImage,
        WatchedFolder,
        Catalog,
        HeaderView,
        LinkView,
        ExtraField,
        ObjectView,
        Label,
        EnvFile,
        ContainerMetadata,
        ImageDetails,
        Theme,
        Settings,
        KeyAlgorithm,
        NewKeyRequest,
        KeyView,
        SignatureScheme,
        SignatureState,
        SignatureView,
        VerifyView,
        KeyHitView,
        RemoteView,
        AddRemoteRequest,
        ServiceStatus,
        TokenState,
        RemoteStatusView,
        CollectionView,
        ContainerView,
        LibraryImageView,
        ContainerDetailView,
        SearchView,
        crate::remote_yaml::ImportCandidate,
        crate::remote_yaml::ImportReport,
        crate::remote_yaml::ImportedRemote,
        crate::remote_yaml::ImportFailure,
        crate::remotes::Remote,
        crate::registries::RegistryLoginView,
        JobKind,
        JobState,
        JobPhase,
        JobView,
        JobPartView,
        JobResult,
        PushResultView,
        PullResultView,
        PushRequest,
        PushPlanView,
        PushSignature,
        PullRequest,
        CacheEntryView,
        CacheView,
        CacheCleanView,
        BuildMode,
        BuildRequest,
        BuildResultView,
        DefinitionIssueView,
        DefinitionCheckView,
        BuildLogView,
        BuildLogEvent,
        BuilderView,
        DefinitionFileView,
    );
    out.sort();
    out
}

/// Writes all bindings into `dir` (normally `ui/src/lib/bindings`).
pub fn write_all(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    for (name, text) in render() {
        std::fs::write(dir.join(name), text)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bindings_are_fresh() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../ui/src/lib/bindings");
        let mut stale = Vec::new();
        for (name, text) in render() {
            let on_disk = std::fs::read_to_string(dir.join(&name)).unwrap_or_default();
            if on_disk != text {
                stale.push(name);
            }
        }
        let mut extra: Vec<String> = std::fs::read_dir(&dir)
            .map(|rd| {
                rd.filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        let known: Vec<String> = render().into_iter().map(|(n, _)| n).collect();
        extra.retain(|n| !known.contains(n));
        assert!(
            stale.is_empty() && extra.is_empty(),
            "TypeScript bindings are stale ({stale:?}) or orphaned ({extra:?}); run `make bindings`"
        );
    }
}
