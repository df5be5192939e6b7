//! The desktop app: a thin adapter from Tauri commands to berth-core. No logic lives here.

mod commands;

use berth_core::{AppDirs, LocalImages, SettingsStore};

/// The core services the commands call into.
pub struct AppState {
    images: LocalImages,
    settings: SettingsStore,
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
    let state = AppState {
        images: LocalImages::new(&dirs),
        settings: SettingsStore::new(&dirs),
    };
    let result = tauri::Builder::default()
        .plugin(tauri_plugin_dialog::init())
        .manage(state)
        .invoke_handler(tauri::generate_handler![
            commands::catalog_list,
            commands::catalog_add_paths,
            commands::catalog_remove_image,
            commands::catalog_remove_folder,
            commands::image_inspect,
            commands::settings_get,
            commands::settings_set_theme,
        ])
        .run(tauri::generate_context!());
    if let Err(e) = result {
        eprintln!("berth: cannot start the window: {e}");
        std::process::exit(1);
    }
}
