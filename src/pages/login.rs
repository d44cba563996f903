//! `/login`: email and password.

use api_types::LoginRequest;
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_query_map};

use crate::api::{auth, describe_field_error, use_api, ApiError};
use crate::components::auth_layout::AuthLayout;
use crate::components::form_error::{form_error_text, FormError};
use crate::components::form_field::FormField;
use crate::components::submit_button::SubmitButton;
use crate::config::use_config;
use crate::i18n::use_i18n;
use crate::pages::auth_form::{check_email, check_login_password, form_text};
use crate::state::navigation::{app_href, safe_next_path, SIGNUP_PATH};
use crate::state::session::use_session;

/// Send a logged-in visitor on: to the page in `?next=` when it is inside the app, else home.
/// Runs as an effect, so it also fires the moment a login or sign-up succeeds.
pub fn leave_when_logged_in() {
    let session = use_session();
    let query = use_query_map();
    let navigate = use_navigate();
    Effect::new(move |_| {
        if session.is_logged_in() {
            let next = safe_next_path(query.read().get("next").as_deref());
            navigate(&next, leptos_router::NavigateOptions { replace: true, ..Default::default() });
        }
    });
}

#[component]
pub fn LoginPage() -> impl IntoView {
    let i18n = use_i18n();
    let api = use_api();
    let session = use_session();
    let signup_enabled = use_config().signup_enabled;
    leave_when_logged_in();
    crate::pages::prefetch_landing(safe_next_path(use_query_map().read_untracked().get("next").as_deref()));

    let email = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let email_problem = RwSignal::new(None::<&'static str>);
    let password_problem = RwSignal::new(None::<&'static str>);

    let login = Action::new_local(move |request: &LoginRequest| {
        let request = request.clone();
        async move {
            let user = auth::login(api, &request).await?;
            session.set_user(user);
            Ok::<(), ApiError>(())
        }
    });
    let failure = move || login.value().get().and_then(Result::err);

    let on_submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        let (email_text, password_text) = (email.get_untracked(), password.get_untracked());
        email_problem.set(check_email(&email_text));
        password_problem.set(check_login_password(&password_text));
        if email_problem.get_untracked().is_some() || password_problem.get_untracked().is_some() {
            return;
        }
        login.dispatch(LoginRequest { email: email_text.trim().to_owned(), password: password_text });
    };

    // A client-side problem wins; otherwise what the server said about that field.
    let field_error = move |field: &'static str, problem: RwSignal<Option<&'static str>>| {
        Signal::derive(move || match problem.get() {
            Some(key) => Some(form_text(i18n, key)),
            None => failure().and_then(|error| error.field_error(field).map(|e| describe_field_error(e, i18n))),
        })
    };

    view! {
        <AuthLayout title_key="login.title" subtitle_key="login.subtitle">
            <form class="auth-form" novalidate=true on:submit=on_submit>
                <FormField
                    name="email"
                    label_key="login.email"
                    input_type="email"
                    autocomplete="username"
                    testid="login-email"
                    value=email
                    error=field_error("email", email_problem)
                    autofocus=true
                />
                <FormField
                    name="password"
                    label_key="login.password"
                    input_type="password"
                    autocomplete="current-password"
                    testid="login-password"
                    value=password
                    error=field_error("password", password_problem)
                />
                <FormError testid="login-error" message=Signal::derive(move || failure().map(|error| form_error_text(&error, i18n))) />
                <SubmitButton
                    testid="login-submit"
                    label_key="login.submit"
                    pending_label_key="login.submitting"
                    pending=login.pending()
                    full_width=true
                />
            </form>
            <Show when=move || signup_enabled>
                <p class="auth-switch">
                    <span class="muted">{i18n.text("login.no_account")}</span>
                    " "
                    <A href=app_href(SIGNUP_PATH) attr:data-testid="login-signup-link">
                        {i18n.text("login.signup_link")}
                    </A>
                </p>
            </Show>
        </AuthLayout>
    }
}
