//! `/signup`: a new business account and its first admin.

use api_types::SignupRequest;
use leptos::prelude::*;
use leptos_router::components::A;

use crate::api::{auth, describe_field_error, use_api, ApiError};
use crate::components::auth_layout::AuthLayout;
use crate::components::form_error::{form_error_text, FormError};
use crate::components::form_field::FormField;
use crate::components::submit_button::SubmitButton;
use crate::config::use_config;
use crate::i18n::use_i18n;
use crate::pages::auth_form::{check_account_name, check_email, check_new_password, check_person_name, form_text};
use crate::pages::login::leave_when_logged_in;
use crate::state::navigation::{app_href, LOGIN_PATH};
use crate::state::session::use_session;

/// One field of the form: its JSON name in the request, what the user typed, and the
/// problem the client found (an i18n key).
#[derive(Clone, Copy)]
struct SignupField {
    json_name: &'static str,
    value: RwSignal<String>,
    problem: RwSignal<Option<&'static str>>,
}

impl SignupField {
    fn new(json_name: &'static str) -> SignupField {
        SignupField { json_name, value: RwSignal::new(String::new()), problem: RwSignal::new(None) }
    }

    fn check(&self, check: fn(&str) -> Option<&'static str>) -> bool {
        let problem = self.value.with_untracked(|value| check(value));
        self.problem.set(problem);
        problem.is_none()
    }
}

#[component]
pub fn SignupPage() -> impl IntoView {
    let i18n = use_i18n();
    let api = use_api();
    let session = use_session();
    let signup_enabled = use_config().signup_enabled;
    leave_when_logged_in();
    crate::pages::prefetch_landing(crate::pages::login::next_path());

    let account_name = SignupField::new("accountName");
    let name = SignupField::new("name");
    let email = SignupField::new("email");
    let password = SignupField::new("password");

    let signup = Action::new_local(move |request: &SignupRequest| {
        let request = request.clone();
        async move {
            let user = auth::signup(api, &request).await?;
            session.set_user(user);
            Ok::<(), ApiError>(())
        }
    });
    let failure = move || signup.value().get().and_then(Result::err);

    let on_submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        // Check every field (not just up to the first problem) so all errors show at once.
        let all_valid = [
            account_name.check(check_account_name),
            name.check(check_person_name),
            email.check(check_email),
            password.check(check_new_password),
        ]
        .into_iter()
        .all(|valid| valid);
        if !all_valid {
            return;
        }
        signup.dispatch(SignupRequest {
            account_name: account_name.value.get_untracked().trim().to_owned(),
            name: name.value.get_untracked().trim().to_owned(),
            email: email.value.get_untracked().trim().to_owned(),
            password: password.value.get_untracked(),
        });
    };

    let field_error = move |field: SignupField| {
        Signal::derive(move || match field.problem.get() {
            Some(key) => Some(form_text(i18n, key)),
            None => failure()
                .and_then(|error| error.field_error(field.json_name).map(|e| describe_field_error(e, i18n))),
        })
    };

    let form = move || {
        view! {
            <form class="auth-form" novalidate=true on:submit=on_submit>
                <FormField
                    name="account-name"
                    label_key="signup.account_name"
                    autocomplete="organization"
                    testid="signup-account-name"
                    value=account_name.value
                    error=field_error(account_name)
                    hint=Signal::derive(move || form_text(i18n, "signup.account_name_hint"))
                    autofocus=true
                />
                <FormField
                    name="name"
                    label_key="signup.name"
                    autocomplete="name"
                    testid="signup-name"
                    value=name.value
                    error=field_error(name)
                />
                <FormField
                    name="email"
                    label_key="signup.email"
                    input_type="email"
                    autocomplete="email"
                    testid="signup-email"
                    value=email.value
                    error=field_error(email)
                />
                <FormField
                    name="password"
                    label_key="signup.password"
                    input_type="password"
                    autocomplete="new-password"
                    testid="signup-password"
                    value=password.value
                    error=field_error(password)
                    hint=Signal::derive(move || form_text(i18n, "signup.password_hint"))
                />
                <FormError testid="signup-error" message=Signal::derive(move || failure().map(|error| form_error_text(&error, i18n))) />
                <SubmitButton
                    testid="signup-submit"
                    label_key="signup.submit"
                    pending_label_key="signup.submitting"
                    pending=signup.pending()
                    full_width=true
                />
            </form>
        }
    };

    view! {
        <AuthLayout title_key="signup.title" subtitle_key="signup.subtitle">
            <Show
                when=move || signup_enabled
                fallback=move || {
                    view! {
                        <FormError
                            testid="signup-error"
                            message=Signal::derive(move || Some(i18n.t("error.signup_disabled").to_owned()))
                        />
                    }
                }
            >
                {form}
            </Show>
            <p class="auth-switch">
                <span class="muted">{i18n.text("signup.have_account")}</span>
                " "
                <A href=app_href(LOGIN_PATH) attr:data-testid="signup-login-link">
                    {i18n.text("signup.login_link")}
                </A>
            </p>
        </AuthLayout>
    }
}
