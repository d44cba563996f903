//! `/login`: email and password.

use api_types::LoginRequest;
use leptos::prelude::*;

use crate::api::{auth, describe_field_error, use_api, ApiError};
use crate::components::auth_layout::AuthLayout;
use crate::components::form_error::{form_error_text, FormError};
use crate::components::form_field::FormField;
use crate::components::submit_button::SubmitButton;
use crate::config::use_config;
use crate::i18n::use_i18n;
use crate::pages::auth_form::{check_email, check_login_password, form_text};
use crate::state::navigation::{app_href, safe_next_path_under, use_base_path, use_go, SIGNUP_PATH};
use crate::state::session::use_session;

/// Where a visitor goes after logging in: the page in `?next=` when it is inside the app, else home.
pub fn next_path() -> String {
    safe_next_path_under(crate::browser::query_param("next").as_deref(), &use_base_path())
}

/// Send a logged-in visitor on, to [`next_path`]. Runs as an effect, so it also fires the moment
/// a login or sign-up succeeds. (No router hook: the login page is shown before the router loads.)
pub fn leave_when_logged_in() {
    let session = use_session();
    let go = use_go();
    let base = use_base_path();
    Effect::new(move |_| {
        if session.is_logged_in() {
            go.to(&safe_next_path_under(crate::browser::query_param("next").as_deref(), &base), true);
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
    crate::pages::prefetch_landing(next_path());
    let go = use_go();
    // A plain link (a new tab works too); a plain click stays in the app.
    let to_signup = move |event: leptos::ev::MouseEvent| {
        if event.button() == 0 && !(event.ctrl_key() || event.meta_key() || event.shift_key() || event.alt_key()) {
            event.prevent_default();
            go.to(SIGNUP_PATH, false);
        }
    };

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
                    <a href=app_href(SIGNUP_PATH) data-testid="login-signup-link" on:click=to_signup>
                        {i18n.text("login.signup_link")}
                    </a>
                </p>
            </Show>
        </AuthLayout>
    }
}
