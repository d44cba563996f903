//! The webhook callback URL and verify token a business pastes into Meta's app dashboard
//! (seed 001), shown on the Numbers page (a number's settings) and the Onboarding page (binding
//! by hand).

use leptos::prelude::*;

use crate::api::{use_api, whatsapp};
use crate::components::copy_field::CopyField;
use crate::i18n::use_i18n;

/// The account's webhook callback URL and verify token, each with a copy button; an error in
/// their place when they cannot be loaded.
#[component]
pub fn WebhookSettingsBlock() -> impl IntoView {
    let i18n = use_i18n();
    let api = use_api();
    let settings = LocalResource::new(move || whatsapp::webhook_settings(api));
    view! {
        <div class="webhook-settings" data-testid="webhook-settings">
            <Transition fallback=move || view! { <p class="muted">{i18n.text("numbers.loading")}</p> }>
                {move || Suspend::new(async move {
                    match settings.await {
                        Ok(settings) => view! {
                            <CopyField label_key="numbers.webhook.callback_url" value=settings.callback_url testid="webhook-callback-url" />
                            <CopyField label_key="numbers.webhook.verify_token" value=settings.verify_token testid="webhook-verify-token" />
                        }.into_any(),
                        Err(error) => view! {
                            <p class="inline-error" role="alert" data-testid="webhook-settings-error">{error.describe(i18n)}</p>
                        }.into_any(),
                    }
                })}
            </Transition>
        </div>
    }
}
