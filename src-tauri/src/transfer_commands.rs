//! Commands of pushes, pulls, the job list and the cache. Jobs run on the async runtime and
//! report through the `job-updated` event; these commands only start, stop and list them.

use std::path::PathBuf;

use berth_core::model::Settings;
use berth_core::model_transfer::{
    CacheCleanView, CacheView, JobView, PullRequest, PushPlanView, PushRequest,
};
use berth_core::transfers::Spawn;
use berth_core::ApiError;
use tauri::State;

use crate::AppState;

type Reply<T> = Result<T, ApiError>;

#[tauri::command]
pub async fn transfer_push_plan(
    state: State<'_, AppState>,
    remote: Option<String>,
    file: PathBuf,
    reference: String,
) -> Reply<PushPlanView> {
    state
        .transfers
        .plan_push(remote.as_deref(), &file, &reference)
        .await
        .map_err(ApiError::from)
}

#[tauri::command]
pub async fn transfer_push(state: State<'_, AppState>, request: PushRequest) -> Reply<JobView> {
    state.transfers.spawn_push(request).map_err(ApiError::from)
}

#[tauri::command]
pub async fn transfer_pull(state: State<'_, AppState>, request: PullRequest) -> Reply<JobView> {
    state.transfers.spawn_pull(request).map_err(ApiError::from)
}

#[tauri::command]
pub fn jobs_list(state: State<'_, AppState>) -> Vec<JobView> {
    state.transfers.jobs().list()
}

#[tauri::command]
pub fn job_cancel(state: State<'_, AppState>, id: String) -> Reply<JobView> {
    state.transfers.jobs().cancel(&id).map_err(ApiError::from)
}

#[tauri::command]
pub async fn job_retry(state: State<'_, AppState>, id: String) -> Reply<JobView> {
    state.transfers.spawn_retry(&id).map_err(ApiError::from)
}

#[tauri::command]
pub fn jobs_clear(state: State<'_, AppState>) -> Vec<JobView> {
    state.transfers.jobs().clear_finished()
}

#[tauri::command]
pub async fn cache_list(state: State<'_, AppState>) -> Reply<CacheView> {
    let t = state.transfers.clone();
    tauri::async_runtime::spawn_blocking(move || t.cache().list())
        .await
        .map_err(task_failed)?
        .map_err(ApiError::from)
}

#[tauri::command]
pub async fn cache_clean(
    state: State<'_, AppState>,
    older_than_days: Option<u32>,
    dry_run: bool,
) -> Reply<CacheCleanView> {
    let t = state.transfers.clone();
    tauri::async_runtime::spawn_blocking(move || t.cache().clean(older_than_days, dry_run))
        .await
        .map_err(task_failed)?
        .map_err(ApiError::from)
}

#[tauri::command]
pub fn settings_set_pull_folder(
    state: State<'_, AppState>,
    folder: Option<PathBuf>,
) -> Reply<Settings> {
    state
        .settings
        .set_pull_folder(folder)
        .map_err(ApiError::from)
}

fn task_failed(e: impl std::fmt::Display) -> ApiError {
    ApiError {
        code: "internal.task_failed".into(),
        message: e.to_string(),
        hint: None,
    }
}
