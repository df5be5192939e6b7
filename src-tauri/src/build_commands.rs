//! Commands of the Build page: definition files (check, open, save), the builders of the
//! remotes, starting a build and reading its log. Builds are jobs: they report through
//! `job-updated`, and their log lines through `build-log`.

use std::path::PathBuf;

use berth_core::builds;
use berth_core::model_build::{
    BuildLogView, BuildRequest, BuilderView, DefinitionCheckView, DefinitionFileView,
};
use berth_core::model_transfer::JobView;
use berth_core::transfers::Spawn;
use berth_core::ApiError;
use tauri::State;

use crate::AppState;

type Reply<T> = Result<T, ApiError>;

/// Parses on every keystroke, so it stays synchronous and cheap (no file access).
#[tauri::command]
pub fn build_check(text: String) -> DefinitionCheckView {
    builds::check_definition(&text)
}

#[tauri::command]
pub fn definition_open(path: PathBuf) -> Reply<DefinitionFileView> {
    builds::read_definition(&path).map_err(ApiError::from)
}

#[tauri::command]
pub fn definition_save(path: PathBuf, text: String) -> Reply<DefinitionFileView> {
    builds::save_definition(&path, &text).map_err(ApiError::from)
}

#[tauri::command]
pub async fn builders_list(state: State<'_, AppState>) -> Reply<Vec<BuilderView>> {
    state.libraries.builders().await.map_err(ApiError::from)
}

#[tauri::command]
pub async fn build_start(state: State<'_, AppState>, request: BuildRequest) -> Reply<JobView> {
    state.transfers.spawn_build(request).map_err(ApiError::from)
}

#[tauri::command]
pub fn build_log(state: State<'_, AppState>, job_id: String) -> Reply<BuildLogView> {
    state.transfers.jobs().log(&job_id).map_err(ApiError::from)
}

/// Follows a detached (or cut off) remote build to its image, in a new job.
#[tauri::command]
pub async fn build_attach(state: State<'_, AppState>, job_id: String) -> Reply<JobView> {
    state
        .transfers
        .spawn_attach(&job_id)
        .map_err(ApiError::from)
}
