//! One command = one call into berth-core. File work runs on the blocking pool so that a
//! slow disk (or a network mount) never freezes the window.

use std::path::PathBuf;

use berth_core::model::{
    Catalog, ImageDetails, KeyHitView, KeyView, NewKeyRequest, Settings, Theme, VerifyView,
};
use berth_core::ApiError;
use tauri::State;

use berth_core::model_library::{
    AddRemoteRequest, CollectionView, ContainerDetailView, ContainerView, RemoteStatusView,
    RemoteView, SearchView,
};
use berth_core::remote_yaml::{self, ImportCandidate, ImportReport};

use crate::AppState;

type Reply<T> = Result<T, ApiError>;

/// Runs blocking core work off the async runtime and converts its error for the UI.
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

/// The error as is, path included: for actions on paths the window does not show yet.
fn plain(e: &berth_core::Error) -> ApiError {
    ApiError::from(e)
}

#[tauri::command]
pub async fn catalog_list(state: State<'_, AppState>) -> Reply<Catalog> {
    let images = state.images.clone();
    blocking(move || images.list(), plain).await
}

#[tauri::command]
pub async fn catalog_add_paths(state: State<'_, AppState>, paths: Vec<PathBuf>) -> Reply<Catalog> {
    let images = state.images.clone();
    blocking(move || images.add_paths(&paths), plain).await
}

#[tauri::command]
pub async fn catalog_remove_image(state: State<'_, AppState>, path: PathBuf) -> Reply<Catalog> {
    let images = state.images.clone();
    blocking(move || images.remove_image(&path), plain).await
}

#[tauri::command]
pub async fn catalog_remove_folder(state: State<'_, AppState>, path: PathBuf) -> Reply<Catalog> {
    let images = state.images.clone();
    blocking(move || images.remove_folder(&path), plain).await
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
    let settings = state.settings.clone();
    blocking(move || settings.get(), plain).await
}

#[tauri::command]
pub async fn settings_set_theme(state: State<'_, AppState>, theme: Theme) -> Reply<Settings> {
    let settings = state.settings.clone();
    blocking(move || settings.set_theme(theme), plain).await
}

#[tauri::command]
pub async fn keys_list(state: State<'_, AppState>) -> Reply<Vec<KeyView>> {
    let keys = state.keys.clone();
    blocking(move || keys.list(), plain).await
}

#[tauri::command]
pub async fn keys_generate(state: State<'_, AppState>, request: NewKeyRequest) -> Reply<KeyView> {
    let keys = state.keys.clone();
    blocking(move || keys.generate(request), plain).await
}

#[tauri::command]
pub async fn keys_import(
    state: State<'_, AppState>,
    path: PathBuf,
    new_passphrase: Option<String>,
) -> Reply<Vec<KeyView>> {
    let keys = state.keys.clone();
    blocking(
        move || keys.import_file(&path, new_passphrase.as_deref()),
        plain,
    )
    .await
}

#[tauri::command]
pub async fn keys_export(
    state: State<'_, AppState>,
    fingerprint: String,
    secret: bool,
    armor: bool,
    path: PathBuf,
) -> Reply<()> {
    let keys = state.keys.clone();
    blocking(
        move || keys.export_file(&fingerprint, secret, armor, &path),
        plain,
    )
    .await
}

#[tauri::command]
pub async fn keys_remove(state: State<'_, AppState>, fingerprint: String) -> Reply<Vec<KeyView>> {
    let keys = state.keys.clone();
    blocking(move || keys.remove(&fingerprint), plain).await
}

#[tauri::command]
pub async fn image_sign(
    state: State<'_, AppState>,
    path: PathBuf,
    fingerprint: String,
    passphrase: Option<String>,
) -> Reply<VerifyView> {
    let keys = state.keys.clone();
    blocking(
        move || keys.sign_image(&path, &fingerprint, passphrase.as_deref()),
        ApiError::about_shown_file,
    )
    .await
}

#[tauri::command]
pub async fn image_verify(
    state: State<'_, AppState>,
    path: PathBuf,
    fetch_missing: bool,
) -> Reply<VerifyView> {
    let keys = state.keys.clone();
    blocking(
        move || keys.verify_image(&path, fetch_missing),
        ApiError::about_shown_file,
    )
    .await
}

#[tauri::command]
pub async fn keyserver_search(state: State<'_, AppState>, query: String) -> Reply<Vec<KeyHitView>> {
    let keys = state.keys.clone();
    blocking(move || keys.search_keyservers(&query), plain).await
}

#[tauri::command]
pub async fn keyserver_pull(
    state: State<'_, AppState>,
    fingerprint: String,
) -> Reply<Vec<KeyView>> {
    let keys = state.keys.clone();
    blocking(move || keys.pull(&fingerprint), plain).await
}

#[tauri::command]
pub async fn keyserver_push(
    state: State<'_, AppState>,
    fingerprint: String,
) -> Reply<Option<String>> {
    let keys = state.keys.clone();
    blocking(move || keys.push(&fingerprint), plain).await
}

#[tauri::command]
pub async fn settings_set_keyservers(
    state: State<'_, AppState>,
    keyservers: Vec<String>,
) -> Reply<Settings> {
    let settings = state.settings.clone();
    blocking(move || settings.set_keyservers(keyservers), plain).await
}

#[tauri::command]
pub fn keys_location(state: State<'_, AppState>) -> String {
    state.keys.location()
}

// ---- remotes and libraries: network calls are async; keychain access is short ----

#[tauri::command]
pub async fn remotes_list(state: State<'_, AppState>) -> Reply<Vec<RemoteView>> {
    let libs = state.libraries.clone();
    blocking(move || libs.list(), plain).await
}

#[tauri::command]
pub async fn remotes_add(
    state: State<'_, AppState>,
    request: AddRemoteRequest,
) -> Reply<RemoteView> {
    let libs = state.libraries.clone();
    blocking(move || libs.add(request), plain).await
}

#[tauri::command]
pub async fn remotes_remove(state: State<'_, AppState>, name: String) -> Reply<Vec<RemoteView>> {
    let libs = state.libraries.clone();
    blocking(move || libs.remove(&name), plain).await
}

#[tauri::command]
pub async fn remotes_use(state: State<'_, AppState>, name: String) -> Reply<Vec<RemoteView>> {
    let libs = state.libraries.clone();
    blocking(move || libs.use_default(&name), plain).await
}

#[tauri::command]
pub async fn remote_logout(state: State<'_, AppState>, name: String) -> Reply<Vec<RemoteView>> {
    let libs = state.libraries.clone();
    blocking(move || libs.logout(&name), plain).await
}

#[tauri::command]
pub async fn remote_status(state: State<'_, AppState>, name: String) -> Reply<RemoteStatusView> {
    state.libraries.status(&name).await.map_err(ApiError::from)
}

#[tauri::command]
pub async fn remote_login(
    state: State<'_, AppState>,
    name: String,
    token: String,
) -> Reply<RemoteStatusView> {
    state
        .libraries
        .login(&name, &token)
        .await
        .map_err(ApiError::from)
}

#[tauri::command]
pub async fn remotes_import_preview(state: State<'_, AppState>) -> Reply<Vec<ImportCandidate>> {
    let libs = state.libraries.clone();
    blocking(
        move || remote_yaml::import_preview(libs.remotes(), &remote_yaml::default_sources()),
        plain,
    )
    .await
}

#[tauri::command]
pub async fn remotes_import(
    state: State<'_, AppState>,
    names: Vec<String>,
    move_tokens: bool,
) -> Reply<ImportReport> {
    let libs = state.libraries.clone();
    blocking(
        move || {
            let all = remote_yaml::import_preview(libs.remotes(), &remote_yaml::default_sources())?;
            let chosen: Vec<_> = all
                .into_iter()
                .filter(|c| names.contains(&c.name))
                .collect();
            remote_yaml::import(libs.remotes(), &chosen, move_tokens)
        },
        plain,
    )
    .await
}

#[tauri::command]
pub async fn library_collections(
    state: State<'_, AppState>,
    remote: String,
    entity: String,
) -> Reply<Vec<CollectionView>> {
    state
        .libraries
        .collections(&remote, &entity)
        .await
        .map_err(ApiError::from)
}

#[tauri::command]
pub async fn library_containers(
    state: State<'_, AppState>,
    remote: String,
    entity: String,
    collection: String,
) -> Reply<Vec<ContainerView>> {
    state
        .libraries
        .containers(&remote, &entity, &collection)
        .await
        .map_err(ApiError::from)
}

#[tauri::command]
pub async fn library_container(
    state: State<'_, AppState>,
    remote: String,
    entity: String,
    collection: String,
    container: String,
) -> Reply<ContainerDetailView> {
    state
        .libraries
        .container(&remote, &entity, &collection, &container)
        .await
        .map_err(ApiError::from)
}

#[tauri::command]
pub async fn library_search(
    state: State<'_, AppState>,
    remote: String,
    query: String,
    arch: Option<String>,
    signed: bool,
) -> Reply<SearchView> {
    state
        .libraries
        .search(&remote, &query, arch, signed)
        .await
        .map_err(ApiError::from)
}

#[tauri::command]
pub async fn library_delete(
    state: State<'_, AppState>,
    remote: String,
    reference: String,
    arch: Option<String>,
) -> Reply<()> {
    state
        .libraries
        .delete(&remote, &reference, arch.as_deref())
        .await
        .map_err(ApiError::from)
}

/// Opens an http(s) page in the person's browser; the window itself never leaves the app.
#[tauri::command]
pub fn open_web_page(url: String) -> Reply<()> {
    let refuse = |why: &str| ApiError {
        code: "input.invalid_url".into(),
        message: format!("{url:?} {why}"),
        hint: Some("Only http and https pages can be opened.".into()),
    };
    let parsed = url::Url::parse(&url).map_err(|_| refuse("is not a web address"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(refuse("is not an http or https address"));
    }
    open::that_detached(parsed.as_str()).map_err(|e| ApiError {
        code: "os.cannot_open".into(),
        message: format!("no browser could open {url}: {e}"),
        hint: Some("Copy the address and open it in a browser yourself.".into()),
    })
}
