//! What the app does when a job changes: tell the window, put a pulled image into Local
//! images, and send an OS notification when a job ends while the window is not in front.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use berth_core::jobs::{merge_log_events, JobListener, LogListener};
use berth_core::model_build::BuildLogEvent;
use berth_core::model_transfer::{JobKind, JobResult, JobState, JobView};
use berth_core::LocalImages;
use tauri::{AppHandle, Emitter, Manager};
use tauri_plugin_notification::NotificationExt;

/// Event carrying a [`JobView`] to the UI.
pub const JOB_UPDATED: &str = "job-updated";

/// Event carrying new build log lines to the UI.
pub const BUILD_LOG: &str = "build-log";

/// Build output can come thousands of lines a second: lines are sent to the window in
/// batches, every 50 ms, each burst merged into a few events.
pub fn log_listener(app: AppHandle) -> LogListener {
    let pending: Arc<Mutex<Vec<BuildLogEvent>>> = Arc::default();
    let batch = Arc::clone(&pending);
    std::thread::spawn(move || loop {
        std::thread::sleep(Duration::from_millis(50));
        let events = std::mem::take(&mut *batch.lock().unwrap_or_else(|p| p.into_inner()));
        for event in merge_log_events(events) {
            let _ = app.emit(BUILD_LOG, &event);
        }
    });
    Arc::new(move |event| {
        pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(event.clone());
    })
}

pub fn listener(app: AppHandle, images: Arc<LocalImages>) -> JobListener {
    Arc::new(move |view: &JobView| {
        let _ = app.emit(JOB_UPDATED, view);
        if view.state == JobState::Running {
            return;
        }
        let produced = match &view.result {
            Some(JobResult::Pulled(p)) => Some(p.path.clone()),
            Some(JobResult::Built(b)) => b.path.clone(),
            _ => None,
        };
        if let Some(path) = produced {
            // Off the caller's thread: adding reads the image's header.
            let images = images.clone();
            let app = app.clone();
            let path = std::path::PathBuf::from(path);
            std::thread::spawn(move || {
                if images.add_paths(&[path]).is_ok() {
                    let _ = app.emit(crate::CATALOG_CHANGED, ());
                }
            });
        }
        let focused = app
            .get_webview_window("main")
            .and_then(|w| w.is_focused().ok())
            .unwrap_or(false);
        if !focused {
            notify(&app, view);
        }
    })
}

fn notify(app: &AppHandle, view: &JobView) {
    let what = match view.kind {
        JobKind::Push => "Push",
        JobKind::Pull => "Pull",
        JobKind::Build => "Build",
    };
    let (title, body) = match view.state {
        JobState::Succeeded => (format!("{what} finished"), view.title.clone()),
        JobState::Failed => (
            format!("{what} failed"),
            view.error.as_ref().map_or_else(
                || view.title.clone(),
                |e| format!("{}: {}", view.title, e.message),
            ),
        ),
        // Cancelled by the person, who knows; interrupted only appears at start.
        _ => return,
    };
    // No notification daemon (a bare X session) is not worth a message.
    let _ = app.notification().builder().title(title).body(body).show();
}
