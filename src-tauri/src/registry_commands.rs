//! Commands of OCI registry logins (for docker:// and oras://): passwords go straight to
//! the system keychain and never come back to the window.

use berth_core::credentials::Token;
use berth_core::registries::RegistryLoginView;
use berth_core::ApiError;
use tauri::State;

use crate::AppState;

type Reply<T> = Result<T, ApiError>;

#[tauri::command]
pub async fn registries_list(state: State<'_, AppState>) -> Reply<Vec<RegistryLoginView>> {
    let r = state.registries.clone();
    run(move || r.list()).await
}

#[tauri::command]
pub async fn registry_login(
    state: State<'_, AppState>,
    host: String,
    username: String,
    password: String,
) -> Reply<Vec<RegistryLoginView>> {
    let r = state.registries.clone();
    run(move || {
        let token = Token::new(password);
        r.login(&host, &username, &token)?;
        r.list()
    })
    .await
}

#[tauri::command]
pub async fn registry_logout(
    state: State<'_, AppState>,
    host: String,
) -> Reply<Vec<RegistryLoginView>> {
    let r = state.registries.clone();
    run(move || {
        r.logout(&host)?;
        r.list()
    })
    .await
}

/// Keychain calls block (D-Bus): off the async runtime.
async fn run<T: Send + 'static>(
    work: impl FnOnce() -> berth_core::Result<T> + Send + 'static,
) -> Reply<T> {
    tauri::async_runtime::spawn_blocking(work)
        .await
        .map_err(|e| ApiError {
            code: "internal.task_failed".into(),
            message: e.to_string(),
            hint: None,
        })?
        .map_err(ApiError::from)
}
