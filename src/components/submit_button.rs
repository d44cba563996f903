//! The submit button of a form whose request runs in an `Action`.

use leptos::prelude::*;

use crate::i18n::use_i18n;

/// A form's submit button that follows its request: disabled and `aria-busy` while it runs (so
/// a double click sends one request), with the "…ing" label then if there is one.
#[component]
pub fn SubmitButton(
    /// The test id of the button (`login-submit`).
    testid: &'static str,
    /// The i18n key of the label.
    label_key: &'static str,
    /// The i18n key of the label while the request runs; the usual label when absent.
    #[prop(optional)]
    pending_label_key: Option<&'static str>,
    /// True while the request runs: the action's `pending()`.
    #[prop(into)]
    pending: Signal<bool>,
    /// False keeps the button disabled whatever `pending` says (an agent on an admin-only form).
    #[prop(into, default = Signal::stored(true))]
    allowed: Signal<bool>,
    /// As wide as the form (the login and sign-up cards).
    #[prop(optional)]
    full_width: bool,
) -> impl IntoView {
    let i18n = use_i18n();
    let pending_label_key = pending_label_key.unwrap_or(label_key);
    view! {
        <button
            type="submit"
            class=if full_width { "button button-primary button-block" } else { "button button-primary" }
            data-testid=testid
            disabled=move || pending.get() || !allowed.get()
            aria-busy=move || if pending.get() { "true" } else { "false" }
        >
            {move || if pending.get() { i18n.t(pending_label_key) } else { i18n.t(label_key) }}
        </button>
    }
}
