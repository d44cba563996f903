//! Checks on what users type at login and sign-up. Each problem is a [`FieldError`] naming the
//! JSON field, so the SPA shows it beside the right input. Text is trimmed; passwords are not
//! (a space may be part of one).

use api_types::limits::{EMAIL_MAX_CHARS, PASSWORD_MAX_CHARS};
pub use api_types::validation::{account_name, email, new_password, person_name};
use api_types::{FieldError, LoginRequest, SignupRequest};

/// A sign-up that passed every check, normalised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CleanSignup {
    pub account_name: String,
    /// Lowercased.
    pub email: String,
    pub password: String,
    pub name: String,
}

/// Check a sign-up; errors come in the order of the form (account, name, email, password).
pub fn signup(request: &SignupRequest) -> Result<CleanSignup, Vec<FieldError>> {
    let account_name = account_name("accountName", &request.account_name);
    let name = person_name("name", &request.name);
    let email = email("email", &request.email);
    let password = new_password("password", &request.password);
    match (account_name, name, email, password) {
        (Ok(account_name), Ok(name), Ok(email), Ok(password)) => Ok(CleanSignup { account_name, email, password, name }),
        (account_name, name, email, password) => Err([account_name.err(), name.err(), email.err(), password.err()]
            .into_iter()
            .flatten()
            .collect()),
    }
}

/// Login only needs both fields present; whether they are right is the password check's job.
/// What no stored account can have is refused here, before it costs anything: a password longer
/// than sign-up allows (Argon2 over a megabyte is work for nothing), an email longer than sign-up
/// allows (it would be a rate-limit key kept in memory), or control characters (PostgreSQL cannot
/// even compare a text holding NUL).
pub fn login(request: &LoginRequest) -> Result<(String, String), Vec<FieldError>> {
    let email = request.email.trim().to_lowercase();
    let mut errors = Vec::new();
    if email.is_empty() {
        errors.push(FieldError::new("email", "required", "Enter your email"));
    } else if email.chars().count() > EMAIL_MAX_CHARS {
        errors.push(FieldError::new("email", "too_long", format!("The email can have at most {EMAIL_MAX_CHARS} characters")));
    } else if email.chars().any(char::is_control) {
        errors.push(FieldError::new("email", "invalid", "Enter an email address like name@example.com"));
    }
    if request.password.is_empty() {
        errors.push(FieldError::new("password", "required", "Enter your password"));
    } else if request.password.chars().count() > PASSWORD_MAX_CHARS {
        errors.push(FieldError::new(
            "password",
            "too_long",
            format!("The password can have at most {PASSWORD_MAX_CHARS} characters"),
        ));
    }
    if errors.is_empty() {
        Ok((email, request.password.clone()))
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(account_name: &str, email: &str, password: &str, name: &str) -> SignupRequest {
        SignupRequest {
            account_name: account_name.to_owned(),
            email: email.to_owned(),
            password: password.to_owned(),
            name: name.to_owned(),
        }
    }

    #[test]
    fn a_good_signup_is_trimmed_and_lowercased() {
        let clean = signup(&request(" acme.io ", " Ann@Example.COM ", "long enough pw", " Ann ")).unwrap();
        assert_eq!(clean.account_name, "acme.io");
        assert_eq!(clean.email, "ann@example.com");
        assert_eq!(clean.name, "Ann");
        assert_eq!(clean.password, "long enough pw");
    }

    #[test]
    fn every_bad_field_is_reported_in_form_order() {
        let errors = signup(&request("a b", "not-an-email", "short", "  ")).unwrap_err();
        let found: Vec<(&str, &str)> = errors.iter().map(|e| (e.field.as_str(), e.code.as_str())).collect();
        assert_eq!(
            found,
            [("accountName", "invalid"), ("name", "required"), ("email", "invalid"), ("password", "too_short")]
        );
    }

    #[test]
    fn account_name_bounds() {
        assert_eq!(account_name("f", "a").unwrap_err().code, "too_short");
        assert_eq!(account_name("f", &"a".repeat(65)).unwrap_err().code, "too_long");
        assert!(account_name("f", &"a".repeat(64)).is_ok());
        assert!(account_name("f", "Acme_Co-1.x").is_ok());
        assert_eq!(account_name("f", "ünï").unwrap_err().code, "invalid");
    }

    #[test]
    fn email_shapes() {
        for bad in ["a@b", "@b.io", "a@.b.io", "a b@c.io", "a@b..io", "a@b.io.", "a@@b.io"] {
            assert!(email("email", bad).is_err(), "{bad}");
        }
        assert!(email("email", "first.last+tag@sub.example.io").is_ok());
    }
}
