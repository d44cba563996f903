//! Binding a WABA and number by hand (seed 003 `account/bind`), for businesses that created
//! their assets in Meta Business Suite, with the webhook settings they must paste there.

use api_types::validation;
use api_types::{BindRequest, FieldError, RuntimeConfig};
use leptos::prelude::*;
use leptos_router::components::A;

use crate::api::{describe_field_error, whatsapp, use_api};
use crate::components::form_error::{form_error_text, FormError};
use crate::components::form_field::FormField;
use crate::components::submit_button::SubmitButton;
use crate::components::webhook_settings::WebhookSettingsBlock;
use crate::i18n::use_i18n;
use crate::state::navigation::app_href;
use crate::state::session::use_session;

/// The same rules the server applies (`api_types::validation`), checked beside the field before a
/// round trip: Meta's ids are digits, a phone number has 7 to 15 digits.
fn check_fields(waba_id: &str, phone_number_id: &str, phone_number: &str) -> Vec<FieldError> {
    let mut errors = Vec::new();
    validation::meta_id("wabaId", waba_id, &mut errors);
    validation::meta_id("phoneNumberId", phone_number_id, &mut errors);
    if !phone_number.trim().is_empty() {
        validation::phone_number("phoneNumber", phone_number, &mut errors);
    }
    errors
        .into_iter()
        .map(|mut error| {
            // The server's words for these two are more precise than a generic "invalid".
            if error.code == "invalid" {
                error.code = if error.field == "phoneNumber" { "phone_number" } else { "digits_only" }.to_owned();
            }
            error
        })
        .collect()
}

/// The manual bind card.
#[component]
pub fn ManualBindCard(
    /// False for agents: only admins may bind.
    #[prop(into)]
    allowed: Signal<bool>,
) -> impl IntoView {
    let i18n = use_i18n();
    let api = use_api();
    let session = use_session();
    let waba_id = RwSignal::new(String::new());
    let phone_number_id = RwSignal::new(String::new());
    let phone_number = RwSignal::new(String::new());
    let access_token = RwSignal::new(String::new());
    // Live mode only: the sandbox's WABAs need no proof of control.
    let live = !expect_context::<RuntimeConfig>().sandbox;
    let local_errors = RwSignal::new(Vec::<FieldError>::new());

    let bind = Action::new_local(move |request: &BindRequest| {
        let request = request.clone();
        async move { whatsapp::bind_account(api, &request).await }
    });

    let submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        let errors = check_fields(&waba_id.get_untracked(), &phone_number_id.get_untracked(), &phone_number.get_untracked());
        local_errors.set(errors.clone());
        if !errors.is_empty() || bind.pending().get_untracked() {
            return;
        }
        let account_name = session.with_user(|user| user.map(|user| user.account_name.clone())).unwrap_or_default();
        let phone = phone_number.get_untracked().trim().to_owned();
        let token = access_token.get_untracked().trim().to_owned();
        bind.dispatch(BindRequest {
            account_name,
            waba_id: waba_id.get_untracked().trim().to_owned(),
            phone_number_id: phone_number_id.get_untracked().trim().to_owned(),
            phone_number: (!phone.is_empty()).then_some(phone),
            access_token: (live && !token.is_empty()).then_some(token),
        });
    };

    let server_error = move || bind.value().with(|value| value.as_ref().and_then(|result| result.as_ref().err().cloned()));
    let field_error = move |field: &'static str| {
        Signal::derive(move || {
            let local = local_errors.with(|errors| errors.iter().find(|error| error.field == field).cloned());
            local
                .or_else(|| server_error().and_then(|error| error.field_error(field).cloned()))
                .map(|error| describe_field_error(&error, i18n))
        })
    };
    let general_error = Signal::derive(move || server_error().map(|error| form_error_text(&error, i18n)));
    let succeeded = move || bind.value().with(|value| matches!(value, Some(Ok(()))));

    view! {
        <section class="card onboarding-card bind-card" aria-labelledby="bind-title">
            <div class="card-icon card-icon-manual" aria-hidden="true">"#"</div>
            <h2 class="card-title" id="bind-title">{i18n.text("onboarding.bind.title")}</h2>
            <p class="card-text">{i18n.text("onboarding.bind.text")}</p>
            <form class="bind-form" on:submit=submit novalidate=true>
                <div class="bind-fields">
                    <FormField name="wabaId" label_key="onboarding.bind.waba_id" testid="bind-waba-id" value=waba_id error=field_error("wabaId") />
                    <FormField
                        name="phoneNumberId"
                        label_key="onboarding.bind.phone_number_id"
                        testid="bind-phone-number-id"
                        value=phone_number_id
                        error=field_error("phoneNumberId")
                    />
                    <FormField
                        name="phoneNumber"
                        label_key="onboarding.bind.phone_number"
                        testid="bind-phone-number"
                        input_type="tel"
                        value=phone_number
                        error=field_error("phoneNumber")
                        hint_key="onboarding.bind.phone_number_hint"
                    />
                    <Show when=move || live>
                        <FormField
                            name="accessToken"
                            label_key="onboarding.bind.access_token"
                            testid="bind-access-token"
                            input_type="password"
                            value=access_token
                            error=field_error("accessToken")
                            hint_key="onboarding.bind.access_token_hint"
                        />
                    </Show>
                </div>
                <FormError testid="bind-error" message=general_error />
                <Show when=succeeded>
                    <p class="notice notice-good" data-testid="bind-success">
                        {i18n.text("onboarding.bind.success")} " "
                        <A href=app_href("/numbers") attr:data-testid="bind-go-numbers">{i18n.text("onboarding.go_numbers")}</A>
                    </p>
                </Show>
                <SubmitButton
                    testid="bind-submit"
                    label_key="onboarding.bind.submit"
                    pending_label_key="onboarding.bind.submitting"
                    pending=bind.pending()
                    allowed=allowed
                />
            </form>
            <details class="webhook-details" open=true>
                <summary>{i18n.text("onboarding.bind.webhook_title")}</summary>
                <p class="card-text">{i18n.text("onboarding.bind.webhook_text")}</p>
                <WebhookSettingsBlock />
            </details>
        </section>
    }
}
