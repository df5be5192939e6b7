//! One command = one call into berth-core. Blocking file work runs off the UI thread.

use std::path::PathBuf;

use berth_core::model::{Catalog, ImageDetails, Settings, Theme};
use berth_core::ApiError;
use tauri::State;

use crate::AppState;

type Reply<T> = Result<T, ApiError>;

/// Runs blocking core work on the blocking pool so the window stays responsive.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> berth_core::Result<T> + Send + 'static,
    to_api: fn(&berth_core::Error) -> ApiError,
) -> Reply<T> {
    tauri::async_runtime::spawn_blocking(work)
        .await
        .map_err(|e| ApiError {
            code: "internal.task_failed".into(),
            message: e.to_string(),
            hint: None,
        })?
        .map_err(|e| to_api(&e))
}

#[tauri::command]
pub async fn catalog_list(state: State<'_, AppState>) -> Reply<Catalog> {
    state.images.list().map_err(ApiError::from)
}

#[tauri::command]
pub async fn catalog_add_paths(state: State<'_, AppState>, paths: Vec<PathBuf>) -> Reply<Catalog> {
    state.images.add_paths(&paths).map_err(ApiError::from)
}

#[tauri::command]
pub async fn catalog_remove_image(state: State<'_, AppState>, path: PathBuf) -> Reply<Catalog> {
    state.images.remove_image(&path).map_err(ApiError::from)
}

#[tauri::command]
pub async fn catalog_remove_folder(state: State<'_, AppState>, path: PathBuf) -> Reply<Catalog> {
    state.images.remove_folder(&path).map_err(ApiError::from)
}

#[tauri::command]
pub async fn image_inspect(path: PathBuf) -> Reply<ImageDetails> {
    // The pane already shows the path, so the message leaves it out.
    blocking(
        move || berth_core::inspect::inspect(&path),
        ApiError::about_shown_file,
    )
    .await
}

#[tauri::command]
pub async fn settings_get(state: State<'_, AppState>) -> Reply<Settings> {
    state.settings.get().map_err(ApiError::from)
}

#[tauri::command]
pub async fn settings_set_theme(state: State<'_, AppState>, theme: Theme) -> Reply<Settings> {
    state.settings.set_theme(theme).map_err(ApiError::from)
}
