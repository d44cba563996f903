//! Start-up: read `config.json`, then mount the console (or the config error screen).

use leptos::prelude::*;
use wadesk::components::config_error::ConfigErrorView;
use wadesk::App;

fn main() {
    report_panics();
    // Leptos's executor starts with the first mount; until then use the browser's directly.
    wasm_bindgen_futures::spawn_local(async {
        let loaded = wadesk::config::load_runtime_config().await;
        wadesk::browser::remove_element_by_id("boot-loading");
        match loaded {
            Ok(config) => mount_to_body(move || view! { <App config /> }),
            Err(error) => {
                leptos::logging::error!("{error}");
                mount_to_body(move || view! { <ConfigErrorView error /> })
            }
        }
    });
}

/// Panics reach the browser console. Debug builds (and tests) use `console_error_panic_hook`,
/// which adds a JavaScript stack trace; release builds log the message and location only,
/// which keeps the stack-capturing code out of the download.
fn report_panics() {
    #[cfg(debug_assertions)]
    console_error_panic_hook::set_once();
    #[cfg(not(debug_assertions))]
    std::panic::set_hook(Box::new(|info| leptos::logging::error!("{info}")));
}
