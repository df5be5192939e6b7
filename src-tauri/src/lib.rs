//! The desktop app: a thin adapter from Tauri commands to berth-core. No logic lives here.

mod build_commands;
mod commands;
mod job_events;
mod registry_commands;
mod transfer_commands;

use std::sync::Arc;

use berth_core::credentials::KeychainStore;
use berth_core::image_cache::ImageCache;
use berth_core::jobs::Jobs;
use berth_core::libraries::Libraries;
use berth_core::registries::RegistryLogins;
use berth_core::remotes::Remotes;
use berth_core::transfers::Transfers;
use berth_core::{AppDirs, Keys, LocalImages, SettingsStore};
use tauri::{Emitter, Manager};

/// Event sent to the UI when something changed in a watched folder.
const CATALOG_CHANGED: &str = "catalog-changed";

/// The core services the commands call into.
pub struct AppState {
    images: Arc<LocalImages>,
    settings: Arc<SettingsStore>,
    keys: Arc<Keys>,
    libraries: Arc<Libraries>,
    transfers: Arc<Transfers>,
    registries: Arc<RegistryLogins>,
}

/// Starts the app.
pub fn run() {
    let dirs = match AppDirs::from_env() {
        Ok(d) => d,
        Err(e) => {
            eprintln!("berth: {e}");
            std::process::exit(1);
        }
    };
    let result = tauri::Builder::default()
        .plugin(tauri_plugin_dialog::init())
        .plugin(tauri_plugin_notification::init())
        .setup(move |app| {
            let handle = app.handle().clone();
            // The callback only signals the window; it must never call back into the
            // catalog (it runs on the OS watcher's thread).
            let notify = move || {
                let _ = handle.emit(CATALOG_CHANGED, ());
            };
            let images = match LocalImages::new(&dirs).watching(notify) {
                Ok(watching) => watching,
                Err(e) => {
                    eprintln!("berth: watched folders will not update by themselves: {e}");
                    LocalImages::new(&dirs)
                }
            };
            let settings = Arc::new(SettingsStore::new(&dirs));
            let keychain = Arc::new(KeychainStore::new());
            let remotes = Arc::new(Remotes::new(&dirs, keychain.clone()));
            let registries = Arc::new(RegistryLogins::new(&dirs, keychain));
            let libraries = Arc::new(Libraries::new(remotes));
            let keys = Arc::new(Keys::from_env(settings.clone())?);
            let images = Arc::new(images);
            let jobs = Jobs::persisted(dirs.config().join("jobs.json"));
            jobs.set_listener(job_events::listener(app.handle().clone(), images.clone()));
            jobs.set_log_listener(job_events::log_listener(app.handle().clone()));
            let transfers = Arc::new(
                Transfers::new(
                    libraries.clone(),
                    keys.clone(),
                    settings.clone(),
                    ImageCache::new(dirs.cache()),
                    jobs,
                )
                .with_registries(registries.clone()),
            );
            app.manage(AppState {
                libraries,
                images,
                keys,
                settings,
                transfers,
                registries,
            });
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            commands::catalog_list,
            commands::catalog_add_paths,
            commands::catalog_remove_image,
            commands::catalog_remove_folder,
            commands::image_inspect,
            commands::settings_get,
            commands::settings_set_theme,
            commands::keys_list,
            commands::keys_location,
            commands::keys_generate,
            commands::keys_import,
            commands::keys_export,
            commands::keys_remove,
            commands::image_sign,
            commands::image_verify,
            commands::keyserver_search,
            commands::keyserver_pull,
            commands::keyserver_push,
            commands::settings_set_keyservers,
            commands::remotes_list,
            commands::remotes_add,
            commands::remotes_remove,
            commands::remotes_use,
            commands::remote_status,
            commands::remote_login,
            commands::remote_logout,
            commands::remotes_import_preview,
            commands::remotes_import,
            commands::library_collections,
            commands::library_containers,
            commands::library_container,
            commands::library_search,
            commands::library_delete,
            commands::open_web_page,
            registry_commands::registries_list,
            registry_commands::registry_login,
            registry_commands::registry_logout,
            transfer_commands::transfer_push_plan,
            transfer_commands::transfer_push,
            transfer_commands::transfer_pull,
            transfer_commands::jobs_list,
            transfer_commands::job_cancel,
            transfer_commands::job_retry,
            transfer_commands::jobs_clear,
            transfer_commands::cache_list,
            transfer_commands::cache_clean,
            transfer_commands::settings_set_pull_folder,
            build_commands::build_check,
            build_commands::definition_open,
            build_commands::definition_save,
            build_commands::builders_list,
            build_commands::build_start,
            build_commands::build_log,
            build_commands::build_attach,
        ])
        .run(tauri::generate_context!());
    if let Err(e) = result {
        eprintln!("berth: cannot start the window: {e}");
        std::process::exit(1);
    }
}
