//! The Onboarding page: connect a number with Embedded Signup (new Cloud API number or the
//! WhatsApp Business app's number via coexistence), or bind one by hand.

mod controller;
mod manual_bind;
mod progress;
pub mod strings;

pub use controller::{SdkState, SignupController, SignupStatus, SignupStep, StepStatus};

use api_types::{Role, RuntimeConfig, SignupFlow};
use leptos::prelude::*;

use crate::api::use_api;
use crate::components::page_title::use_page_title;
use crate::i18n::use_i18n;
use crate::state::session::use_session;
use manual_bind::ManualBindCard;
use progress::SignupProgress;

#[component]
pub fn OnboardingPage() -> impl IntoView {
    crate::i18n::register(strings::STRINGS);
    // The number cards and webhook settings shown here speak the numbers area's strings.
    crate::i18n::register(crate::pages::numbers::strings::STRINGS);
    let i18n = use_i18n();
    use_page_title("onboarding.title");
    let config = expect_context::<RuntimeConfig>();
    let session = use_session();
    let controller = SignupController::new(use_api(), config.facebook.clone(), config.trusted_origins.clone());
    let is_admin = Signal::derive(move || session.with_user(|user| user.is_some_and(|user| user.role == Role::Admin)));
    let can_launch = move || controller.sdk.get() == SdkState::Ready && !controller.is_busy() && is_admin.get();

    view! {
        <section class="page onboarding-page" data-testid="onboarding-page">
            <header class="page-header">
                <h1 class="page-title">{i18n.text("onboarding.title")}</h1>
                <p class="page-subtitle">{i18n.text("onboarding.subtitle")}</p>
            </header>
            <Show when=move || !is_admin.get()>
                <p class="notice notice-warn" data-testid="onboarding-admin-only">{i18n.text("onboarding.admin_only")}</p>
            </Show>
            <SdkStatusLine controller=controller />
            // Above the cards: after a click the outcome appears where the user is looking.
            <SignupProgress controller=controller />
            <div class="onboarding-grid">
                <LaunchCard
                    controller=controller
                    flow=SignupFlow::Cloud
                    can_launch=Signal::derive(can_launch)
                    testid="signup-launch-cloud"
                    icon="☁"
                    title_key="onboarding.cloud.title"
                    text_key="onboarding.cloud.text"
                    points=&["onboarding.cloud.point_new_number", "onboarding.cloud.point_verify", "onboarding.cloud.point_api"]
                    button_key="onboarding.cloud.button"
                />
                <LaunchCard
                    controller=controller
                    flow=SignupFlow::Coexistence
                    can_launch=Signal::derive(can_launch)
                    testid="signup-launch-coexistence"
                    icon="⇄"
                    title_key="onboarding.coexistence.title"
                    text_key="onboarding.coexistence.text"
                    points=&[
                        "onboarding.coexistence.point_keep_app",
                        "onboarding.coexistence.point_sync",
                        "onboarding.coexistence.point_requirements",
                    ]
                    button_key="onboarding.coexistence.button"
                />
            </div>
            <ManualBindCard allowed=is_admin />
        </section>
    }
}

/// Whether the Facebook SDK is loading, ready or failed (with a retry).
#[component]
fn SdkStatusLine(controller: SignupController) -> impl IntoView {
    let i18n = use_i18n();
    let sdk = controller.sdk;
    let state_name = move || match sdk.get() {
        SdkState::Loading => "loading",
        SdkState::Ready => "ready",
        SdkState::Failed(_) => "failed",
    };
    view! {
        <div class=move || format!("sdk-status sdk-{}", state_name()) data-testid="sdk-status" data-state=state_name role="status">
            {move || match sdk.get() {
                SdkState::Loading => view! {
                    <span class="spinner" aria-hidden="true"></span>
                    <span>{i18n.t("onboarding.sdk.loading")}</span>
                }
                .into_any(),
                SdkState::Ready => view! {
                    <span class="status-dot" aria-hidden="true"></span>
                    <span>{i18n.t("onboarding.sdk.ready")}</span>
                }
                .into_any(),
                SdkState::Failed(detail) => view! {
                    <span class="status-dot" aria-hidden="true"></span>
                    <span class="sdk-failed-text">
                        <strong>{i18n.t("onboarding.sdk.failed")}</strong>
                        <span class="muted sdk-detail">{detail}</span>
                    </span>
                    <button
                        type="button"
                        class="button button-small button-secondary"
                        data-testid="sdk-retry"
                        on:click=move |_| controller.load_sdk()
                    >
                        {i18n.t("onboarding.sdk.retry")}
                    </button>
                }
                .into_any(),
            }}
        </div>
    }
}

/// One Embedded Signup entry: what it does and the button that opens Facebook's popup.
#[component]
fn LaunchCard(
    controller: SignupController,
    flow: SignupFlow,
    #[prop(into)] can_launch: Signal<bool>,
    testid: &'static str,
    icon: &'static str,
    title_key: &'static str,
    text_key: &'static str,
    points: &'static [&'static str],
    button_key: &'static str,
) -> impl IntoView {
    let i18n = use_i18n();
    let is_running_this = move || {
        controller.status.with(|status| matches!(status, SignupStatus::Running { flow: running, .. } if *running == flow))
    };
    let points = points
        .iter()
        .map(|key| view! { <li>{move || i18n.t(key)}</li> })
        .collect_view();
    view! {
        <section class="card onboarding-card launch-card">
            <div class="card-icon" aria-hidden="true">{icon}</div>
            <h2 class="card-title">{i18n.text(title_key)}</h2>
            <p class="card-text">{i18n.text(text_key)}</p>
            <ul class="card-points">{points}</ul>
            <button
                type="button"
                class="button button-primary button-facebook"
                data-testid=testid
                disabled=move || !can_launch.get()
                aria-busy=move || is_running_this().then_some("true")
                on:click=move |_| controller.launch(flow)
            >
                {move || if is_running_this() { i18n.t("onboarding.launch.running") } else { i18n.t(button_key) }}
            </button>
        </section>
    }
}
