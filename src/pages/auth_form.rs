//! What the login and sign-up forms check before sending, with the same limits as the server
//! (`api_types::limits`). Each check answers the i18n key of the problem, or `None`.

use api_types::limits;

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

fn char_count(text: &str) -> usize {
    text.chars().count()
}

/// An address with something on both sides of a single `@` and no spaces.
pub fn check_email(email: &str) -> Option<&'static str> {
    let email = email.trim();
    if email.is_empty() {
        return Some("field.email_required");
    }
    if char_count(email) > limits::EMAIL_MAX_CHARS {
        return Some("field.too_long");
    }
    let looks_like_address = match email.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty() && !domain.is_empty() && !domain.contains('@') && !email.contains(char::is_whitespace)
        }
        None => false,
    };
    if looks_like_address {
        None
    } else {
        Some("field.email_invalid")
    }
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
    let count = char_count(password);
    if count == 0 {
        Some("field.password_required")
    } else if count < limits::PASSWORD_MIN_CHARS {
        Some("field.password_too_short")
    } else if count > limits::PASSWORD_MAX_CHARS {
        Some("field.too_long")
    } else {
        None
    }
}

pub fn check_account_name(account_name: &str) -> Option<&'static str> {
    let count = char_count(account_name.trim());
    if count == 0 {
        Some("field.required")
    } else if count < limits::ACCOUNT_NAME_MIN_CHARS {
        Some("field.account_name_too_short")
    } else if count > limits::ACCOUNT_NAME_MAX_CHARS {
        Some("field.account_name_too_long")
    } else if !account_name.trim().chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')) {
        // The same rule as the server: the name is also the API's `accountName`.
        Some("field.account_name_characters")
    } else {
        None
    }
}

pub fn check_person_name(name: &str) -> Option<&'static str> {
    let count = char_count(name.trim());
    if count == 0 {
        Some("field.required")
    } else if count > limits::NAME_MAX_CHARS {
        Some("field.name_too_long")
    } else {
        None
    }
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
