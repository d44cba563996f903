//! A value the user pastes somewhere else (a webhook URL, a verify token), with a copy button.

use leptos::prelude::*;

use crate::browser::copy_to_clipboard;
use crate::i18n::use_i18n;

/// A labelled read-only value with a copy button (`<testid>` for the value, `<testid>-copy` for
/// the button, which says whether the copy worked).
#[component]
pub fn CopyField(
    /// The i18n key of the label.
    label_key: &'static str,
    /// The value to show and copy.
    #[prop(into)]
    value: Signal<String>,
    /// The test id of the value; the button's is `<testid>-copy`.
    testid: &'static str,
) -> impl IntoView {
    let i18n = use_i18n();
    let copied = RwSignal::new(None::<bool>);
    view! {
        <div class="copy-field">
            <span class="copy-label">{i18n.text(label_key)}</span>
            <div class="copy-row">
                <code class="copy-value" data-testid=testid>{move || value.get()}</code>
                <button
                    type="button"
                    class="button button-small button-ghost"
                    data-testid=format!("{testid}-copy")
                    on:click=move |_| copied.set(Some(copy_to_clipboard(&value.get_untracked())))
                >
                    {move || match copied.get() {
                        Some(true) => i18n.t("numbers.copy.done"),
                        Some(false) => i18n.t("numbers.copy.failed"),
                        None => i18n.t("numbers.copy.action"),
                    }}
                </button>
            </div>
        </div>
    }
}
