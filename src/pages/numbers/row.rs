//! One number on the Numbers page, with its actions: retry registration, remove (after a
//! confirmation that says what to undo on Meta's side) and settings.

use api_types::{NumberDetails, NumberOrigin, NumberStatus, UpdateNumberProfileRequest};
use leptos::prelude::*;
use leptos_router::components::A;
use wasm_bindgen::JsValue;

use super::sandbox::SandboxSimulation;
use super::NumbersPageState;
use crate::api::{describe_field_error, whatsapp, use_api, ApiError};
use crate::components::number::NumberFacts;
use crate::components::submit_button::SubmitButton;
use crate::components::webhook_settings::WebhookSettingsBlock;
use crate::config::use_config;
use crate::i18n::{use_i18n, I18n};
use crate::state::navigation::app_href;

/// How the number came to the account, in words.
fn origin_text(i18n: I18n, origin: &NumberOrigin) -> String {
    let key = match origin {
        NumberOrigin::Cloud => "numbers.origin.cloud",
        NumberOrigin::Coexistence => "numbers.origin.coexistence",
        NumberOrigin::Manual => "numbers.origin.manual",
        NumberOrigin::Unknown(text) => return text.clone(),
    };
    i18n.t(key).to_owned()
}

/// Why WhatsApp disconnected the number, and what brings it back, in words.
fn disconnect_reason_text(i18n: I18n, reason: &str) -> String {
    let key = match reason {
        "PRIMARY_INACTIVITY" => "numbers.disconnected.primary_inactivity",
        "PARTNER_REMOVED" => "numbers.disconnected.partner_removed",
        "PARTNER_APP_UNINSTALLED" => "numbers.disconnected.app_uninstalled",
        _ => return i18n.tf("numbers.disconnected.other", &[("reason", reason)]),
    };
    i18n.t(key).to_owned()
}

/// A point in time (unix milliseconds) in the user's language.
fn format_time(i18n: I18n, unix_ms: i64) -> String {
    let date = js_sys::Date::new(&JsValue::from_f64(unix_ms as f64));
    date.to_locale_string(i18n.language().code(), &JsValue::UNDEFINED).into()
}

/// The retry answer in words; a rate limit says when the next attempt is allowed.
fn retry_message(i18n: I18n, result: &Result<(), ApiError>, number: Option<&NumberDetails>) -> (bool, String) {
    match result {
        Ok(()) => (true, i18n.t("numbers.retry_registration.done").to_owned()),
        Err(ApiError::RateLimited { retry_after_seconds, .. }) => {
            let next_at = retry_after_seconds
                .map(|seconds| js_sys::Date::now() as i64 + (seconds as i64) * 1000)
                .or_else(|| number.and_then(|number| number.registration.next_attempt_at));
            let text = match next_at {
                Some(at) => i18n.tf("numbers.retry_registration.limited_until", &[("time", &format_time(i18n, at))]),
                None => i18n.t("numbers.retry_registration.limited").to_owned(),
            };
            (false, text)
        }
        Err(error) => (false, error.describe(i18n)),
    }
}

/// One number of the list, keyed by its id: it reads its data from the page state, so a refresh
/// updates it in place.
#[component]
pub fn NumberRow(phone_number_id: String) -> impl IntoView {
    let i18n = use_i18n();
    let api = use_api();
    let state = expect_context::<NumbersPageState>();
    let number = {
        let id = phone_number_id.clone();
        Memo::new(move |_| state.overview.with(|overview| overview.as_ref().and_then(|overview| overview.number(&id).cloned())))
    };
    let settings_open = RwSignal::new(false);
    let confirm_open = RwSignal::new(false);
    // The confirmation is a modal: focus goes to its safe choice (cancel) when it opens, Escape
    // closes it, and focus returns to the Remove button when it closes without removing.
    let cancel_button = NodeRef::<leptos::html::Button>::new();
    let remove_button = NodeRef::<leptos::html::Button>::new();
    Effect::new(move |_| {
        if let Some(cancel) = cancel_button.get() {
            let _ = cancel.focus();
        }
    });
    let close_confirm = move || {
        confirm_open.set(false);
        if let Some(remove) = remove_button.get_untracked() {
            let _ = remove.focus();
        }
    };

    let retry = Action::new_local(move |id: &String| {
        let id = id.clone();
        async move { whatsapp::retry_registration(api, &id).await }
    });
    Effect::new(move |_| {
        if let Some(Ok(())) = retry.value().get() {
            state.refresh();
        }
    });
    let remove = Action::new_local(move |id: &String| {
        let id = id.clone();
        async move {
            let answer = whatsapp::remove_number(api, &id).await;
            // The page's notice is set here, not by an effect of this row: the number's removal
            // event may take the row away before the answer arrives, and its effects with it.
            // `try_set` hands the value back when the page is gone (the user left): nothing to show then.
            if let Ok(removed) = &answer {
                if state.removed.try_set(Some(removed.clone())).is_none() {
                    state.refresh();
                }
            }
            answer
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(_)) = remove.value().get() {
            confirm_open.set(false);
        }
    });

    let id_for_retry = phone_number_id.clone();
    let id_for_remove = phone_number_id.clone();
    let can_retry = move || {
        // Registering again cannot help a connected number, nor a disconnected one (its notice says
        // what does), and coexistence numbers are linked, not registered.
        number.with(|number| {
            number.as_ref().is_some_and(|number| {
                !matches!(number.status, NumberStatus::Connected | NumberStatus::Disconnected)
                    && number.origin != NumberOrigin::Coexistence
            })
        })
    };

    move || {
        let Some(initial) = number.get_untracked() else {
            return ().into_any();
        };
        let number_signal = Signal::derive(move || number.get().unwrap_or_else(|| initial.clone()));
        let id_for_retry = id_for_retry.clone();
        let id_for_remove = id_for_remove.clone();
        view! {
            <li class="number-row" data-testid="number-row" data-phone-number-id=move || number_signal.with(|number| number.phone_number_id.clone())>
                <div class="number-main">
                    <NumberFacts number=number_signal />
                    <div class="number-meta muted">
                        <span>{move || number_signal.with(|number| origin_text(i18n, &number.origin))}</span>
                        <span>
                            {move || number_signal.with(|number| i18n.tf("numbers.registration.attempts", &[
                                ("used", &number.registration.attempts_in_window.to_string()),
                                ("limit", &number.registration.limit.to_string()),
                            ]))}
                        </span>
                    </div>
                    {move || number_signal.with(|number| number.disconnect_reason.clone()).map(|reason| {
                        // Read here, so a language switch re-renders the notice too.
                        let text = disconnect_reason_text(i18n, &reason);
                        view! {
                            <div class="row-message notice-warn disconnect-notice" role="status">
                                <p data-testid="number-disconnect-reason" data-reason=reason>{text}</p>
                                <A href=app_href("/onboarding") attr:class="button button-small button-secondary" attr:data-testid="number-reconnect">
                                    {i18n.t("numbers.disconnected.reconnect")}
                                </A>
                            </div>
                        }
                    })}
                </div>
                <div class="number-actions">
                    <Show when=can_retry>
                        {
                            let id = id_for_retry.clone();
                            view! {
                                <button
                                    type="button"
                                    class="button button-small button-secondary"
                                    data-testid="number-retry-registration"
                                    disabled=move || retry.pending().get()
                                    on:click=move |_| { retry.dispatch(id.clone()); }
                                >
                                    {i18n.text("numbers.retry_registration")}
                                </button>
                            }
                        }
                    </Show>
                    <button
                        type="button"
                        class="button button-small button-ghost"
                        data-testid="number-settings"
                        aria-expanded=move || settings_open.get().to_string()
                        on:click=move |_| settings_open.update(|open| *open = !*open)
                    >
                        {i18n.text("numbers.settings")}
                    </button>
                    <button
                        type="button"
                        class="button button-small button-danger-ghost"
                        data-testid="number-remove"
                        node_ref=remove_button
                        on:click=move |_| confirm_open.set(true)
                    >
                        {i18n.text("numbers.remove")}
                    </button>
                </div>
                {move || retry.value().get().map(|result| {
                    let (good, text) = retry_message(i18n, &result, number.get_untracked().as_ref());
                    view! {
                        <p class=if good { "row-message notice-good" } else { "row-message notice-warn" } role="status" data-testid="number-action-message">
                            {text}
                        </p>
                    }
                })}
                <Show when=move || confirm_open.get()>
                    {
                        let id = id_for_remove.clone();
                        view! {
                            <div
                                class="remove-dialog"
                                role="alertdialog"
                                aria-modal="true"
                                aria-labelledby="remove-dialog-title"
                                data-testid="remove-dialog"
                                on:keydown=move |event: leptos::ev::KeyboardEvent| {
                                    if event.key() == "Escape" {
                                        close_confirm();
                                    }
                                }
                            >
                                <h3 id="remove-dialog-title">{move || i18n.tf("numbers.remove.confirm_title", &[("number", &number_signal.with(|number| number.display_phone_number.clone()))])}</h3>
                                <p>{i18n.text("numbers.remove.explain")}</p>
                                <ol class="remove-steps">
                                    <li>{i18n.text("numbers.remove.step_webhook")}</li>
                                    <li>{i18n.text("numbers.remove.step_system_user")}</li>
                                </ol>
                                <p class="muted">{i18n.text("numbers.remove.step_history")}</p>
                                {move || remove.value().get().and_then(Result::err).map(|error| view! {
                                    <p class="inline-error" role="alert" data-testid="remove-error">{error.describe(i18n)}</p>
                                })}
                                <div class="dialog-actions">
                                    <button type="button" class="button button-secondary" data-testid="remove-cancel" node_ref=cancel_button on:click=move |_| close_confirm()>
                                        {i18n.text("numbers.remove.cancel")}
                                    </button>
                                    <button
                                        type="button"
                                        class="button button-danger"
                                        data-testid="remove-confirm"
                                        disabled=move || remove.pending().get()
                                        on:click=move |_| { remove.dispatch(id.clone()); }
                                    >
                                        {i18n.text("numbers.remove.confirm")}
                                    </button>
                                </div>
                            </div>
                        }
                    }
                </Show>
                <Show when=move || settings_open.get()>
                    <NumberSettingsPanel number=number_signal />
                </Show>
            </li>
        }
        .into_any()
    }
}

/// Webhook settings and the display name of one number.
#[component]
fn NumberSettingsPanel(#[prop(into)] number: Signal<NumberDetails>) -> impl IntoView {
    let i18n = use_i18n();
    let api = use_api();
    let state = expect_context::<NumbersPageState>();
    let display_name = RwSignal::new(number.with_untracked(|number| number.verified_name.clone()));
    let save = Action::new_local(move |request: &UpdateNumberProfileRequest| {
        let request = request.clone();
        async move { whatsapp::update_number_profile(api, &request).await }
    });
    Effect::new(move |_| {
        if let Some(Ok(())) = save.value().get() {
            state.refresh();
        }
    });
    let local_error = RwSignal::new(None::<String>);
    let field_error = move || {
        local_error.get().or_else(|| {
            save.value().with(|value| match value {
                Some(Err(error)) => Some(
                    error
                        .field_error("verifiedName")
                        .map(|field| describe_field_error(field, i18n))
                        .unwrap_or_else(|| error.describe(i18n)),
                ),
                _ => None,
            })
        })
    };
    let submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        let name = display_name.get_untracked().trim().to_owned();
        if name.is_empty() {
            local_error.set(Some(i18n.t("numbers.display_name.required").to_owned()));
            return;
        }
        local_error.set(None);
        save.dispatch(UpdateNumberProfileRequest {
            phone_number_id: number.with_untracked(|number| number.phone_number_id.clone()),
            verified_name: name,
        });
    };
    let input_id = move || format!("display-name-{}", number.with(|number| number.phone_number_id.clone()));
    view! {
        <div class="number-settings-panel" data-testid="number-settings-panel">
            <div class="settings-section">
                <h3 class="settings-title">{i18n.text("numbers.settings.webhook_title")}</h3>
                <p class="muted">{i18n.text("numbers.settings.webhook_text")}</p>
                <WebhookSettingsBlock />
            </div>
            <form class="settings-section" on:submit=submit novalidate=true>
                <label class="form-label" for=input_id>{i18n.text("numbers.display_name.label")}</label>
                <div class="inline-form">
                    <input
                        id=input_id
                        class="form-input"
                        type="text"
                        maxlength="512"
                        data-testid="number-display-name-input"
                        aria-invalid=move || field_error().is_some().to_string()
                        bind:value=display_name
                    />
                    <SubmitButton testid="number-display-name-save" label_key="numbers.display_name.save" pending=save.pending() />
                </div>
                <p class="form-hint">{i18n.text("numbers.display_name.hint")}</p>
                {move || field_error().map(|message| view! {
                    <p class="field-error" role="alert" data-testid="field-error-verifiedName">{message}</p>
                })}
                {move || matches!(save.value().get(), Some(Ok(()))).then(|| view! {
                    <p class="notice notice-good" role="status" data-testid="number-display-name-result">{i18n.t("numbers.display_name.saved")}</p>
                })}
            </form>
            {use_config().sandbox.then(|| view! { <SandboxSimulation number=number /> })}
        </div>
    }
}
