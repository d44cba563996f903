//! A labelled text input with its error beside it.

use leptos::prelude::*;

use crate::i18n::use_i18n;

/// One form field: label, input bound to `value`, optional hint, and the field's error
/// (`data-testid="field-error-<name>"`) shown right under the input.
#[component]
pub fn FormField(
    /// Kebab-case name used for the ids and test ids (`email`, `account-name`).
    name: &'static str,
    /// The i18n key of the label.
    label_key: &'static str,
    /// The input's `type` (`text`, `email`, `password`).
    #[prop(default = "text")]
    input_type: &'static str,
    /// The `autocomplete` hint for password managers.
    #[prop(default = "off")]
    autocomplete: &'static str,
    /// The test id of the input itself (`login-email`).
    testid: &'static str,
    /// The text the user typed.
    value: RwSignal<String>,
    /// The error to show, already translated; `None` hides it.
    #[prop(into)]
    error: Signal<Option<String>>,
    /// The i18n key of a hint under the input (format, example).
    #[prop(optional)]
    hint_key: Option<&'static str>,
    /// A hint already translated, for hints with values filled in (limits); wins over `hint_key`.
    #[prop(optional, into)]
    hint: Option<Signal<String>>,
    /// Focus this field when the page opens.
    #[prop(optional)]
    autofocus: bool,
) -> impl IntoView {
    let i18n = use_i18n();
    let input_id = format!("field-{name}");
    let error_id = format!("field-{name}-error");
    let has_error = move || error.with(Option::is_some);
    view! {
        <div class="form-field" class:has-error=has_error>
            <label class="form-label" for=input_id.clone()>
                {i18n.text(label_key)}
            </label>
            <input
                id=input_id
                class="form-input"
                type=input_type
                name=name
                autocomplete=autocomplete
                autofocus=autofocus
                data-testid=testid
                aria-invalid=move || if has_error() { "true" } else { "false" }
                aria-describedby=error_id.clone()
                bind:value=value
                // Also on `change`: a value set without typing (autofill, a script clearing the
                // field) still reaches the form.
                on:change=move |event| value.set(event_target_value(&event))
            />
            {hint
                .or_else(|| hint_key.map(|key| Signal::derive(move || i18n.t(key).to_owned())))
                .map(|hint| view! { <p class="form-hint">{hint}</p> })}
            {move || {
                error
                    .get()
                    .map(|message| {
                        view! {
                            <p
                                class="field-error"
                                id=error_id.clone()
                                role="alert"
                                data-testid=format!("field-error-{name}")
                            >
                                {message}
                            </p>
                        }
                    })
            }}
        </div>
    }
}
