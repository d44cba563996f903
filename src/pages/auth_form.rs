//! What the login and sign-up forms check before sending, with the same limits as the server
//! (`api_types::limits`). Each check answers the i18n key of the problem, or `None`.

use api_types::{limits, validation};

use crate::i18n::I18n;

/// The text of a form message key, with the limits (`{password_min}`, `{account_name_max}`...)
/// filled in from `api_types::limits`, so the wording can never disagree with the checks.
pub fn form_text(i18n: I18n, key: &str) -> String {
    i18n.tf(
        key,
        &[
            ("password_min", &limits::PASSWORD_MIN_CHARS.to_string()),
            ("password_max", &limits::PASSWORD_MAX_CHARS.to_string()),
            ("account_name_min", &limits::ACCOUNT_NAME_MIN_CHARS.to_string()),
            ("account_name_max", &limits::ACCOUNT_NAME_MAX_CHARS.to_string()),
            ("name_max", &limits::NAME_MAX_CHARS.to_string()),
            ("email_max", &limits::EMAIL_MAX_CHARS.to_string()),
        ],
    )
}

// The rules are the server's (`api_types::validation`); these only choose the words.

/// An email address of the usual shape, as the server checks it.
pub fn check_email(email: &str) -> Option<&'static str> {
    validation::email("email", email).err().map(|error| match error.code.as_str() {
        "required" => "field.email_required",
        "too_long" => "field.too_long",
        _ => "field.email_invalid",
    })
}

/// The login form only needs a password; its strength was checked when it was chosen.
pub fn check_login_password(password: &str) -> Option<&'static str> {
    if password.is_empty() {
        Some("field.password_required")
    } else {
        None
    }
}

pub fn check_new_password(password: &str) -> Option<&'static str> {
    validation::new_password("password", password).err().map(|error| match error.code.as_str() {
        "required" => "field.password_required",
        "too_short" => "field.password_too_short",
        _ => "field.too_long",
    })
}

/// The account name is also the API's `accountName`.
pub fn check_account_name(account_name: &str) -> Option<&'static str> {
    validation::account_name("accountName", account_name).err().map(|error| match error.code.as_str() {
        "required" => "field.required",
        "too_short" => "field.account_name_too_short",
        "too_long" => "field.account_name_too_long",
        _ => "field.account_name_characters",
    })
}

pub fn check_person_name(name: &str) -> Option<&'static str> {
    validation::person_name("name", name).err().map(|error| match error.code.as_str() {
        "required" => "field.required",
        "too_long" => "field.name_too_long",
        _ => "field.invalid",
    })
}

/// The kebab-case form name of a request's JSON field (`accountName` -> `account-name`),
/// as used in `field-error-<name>` test ids.
pub fn form_name_of_json_field(field: &str) -> String {
    let mut name = String::with_capacity(field.len() + 4);
    for c in field.chars() {
        if c.is_ascii_uppercase() {
            name.push('-');
            name.push(c.to_ascii_lowercase());
        } else {
            name.push(c);
        }
    }
    name
}
