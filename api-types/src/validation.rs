//! The field rules both sides apply: the server refuses what breaks them, and the SPA checks the
//! same rules beside the field before it sends anything, so the form and the API always agree.
//!
//! Each check names the request's JSON field in its [`FieldError`] with a stable `code`
//! (`required`, `invalid`, `too_short`, `too_long`) that the SPA translates.

use crate::limits::{
    ACCOUNT_NAME_MAX_CHARS, ACCOUNT_NAME_MIN_CHARS, EMAIL_MAX_CHARS, NAME_MAX_CHARS, PASSWORD_MAX_CHARS,
    PASSWORD_MIN_CHARS,
};
use crate::FieldError;

/// Meta's ids (WABA, phone number, business) are digits; real ones are 15-17 long.
pub const ID_MIN_DIGITS: usize = 5;
pub const ID_MAX_DIGITS: usize = 24;

pub fn meta_id(field: &str, value: &str, errors: &mut Vec<FieldError>) {
    let value = value.trim();
    if value.is_empty() {
        errors.push(FieldError::new(field, "required", format!("`{field}` is required")));
    } else if !value.bytes().all(|byte| byte.is_ascii_digit()) {
        errors.push(FieldError::new(field, "invalid", format!("`{field}` must contain digits only")));
    } else if value.len() < ID_MIN_DIGITS {
        errors.push(FieldError::new(field, "too_short", format!("`{field}` must be at least {ID_MIN_DIGITS} digits")));
    } else if value.len() > ID_MAX_DIGITS {
        errors.push(FieldError::new(field, "too_long", format!("`{field}` must be at most {ID_MAX_DIGITS} digits")));
    }
}

/// A phone number as people write it: `+`, digits, spaces, dashes, dots, brackets; 7 to 15 digits (E.164).
pub fn phone_number(field: &str, value: &str, errors: &mut Vec<FieldError>) {
    let value = value.trim();
    let allowed = value.chars().all(|c| c.is_ascii_digit() || matches!(c, '+' | ' ' | '-' | '.' | '(' | ')'));
    let digits = value.chars().filter(char::is_ascii_digit).count();
    if !allowed || !(7..=15).contains(&digits) {
        errors.push(FieldError::new(
            field,
            "invalid",
            format!("`{field}` must be a phone number with 7 to 15 digits, such as +1 555 010 0100"),
        ));
    }
}

pub fn required(field: &str, value: &str, errors: &mut Vec<FieldError>) {
    if value.trim().is_empty() {
        errors.push(FieldError::new(field, "required", format!("`{field}` is required")));
    }
}

/// Display names: Meta and YCloud take 3 to 150 characters. Meta's display name guidelines also
/// refuse names it would reject in review, so they are refused here with a field error instead of
/// a 502 later: a name that is only emoji, symbols or punctuation (no letter or digit), a web
/// address (`://` or `www.`), and control characters such as line breaks or tabs.
pub fn display_name(field: &str, value: &str, errors: &mut Vec<FieldError>) {
    let value = value.trim();
    let length = value.chars().count();
    if length == 0 {
        errors.push(FieldError::new(field, "required", format!("`{field}` is required")));
    } else if length < 3 {
        errors.push(FieldError::new(field, "too_short", format!("`{field}` must be at least 3 characters")));
    } else if length > 150 {
        errors.push(FieldError::new(field, "too_long", format!("`{field}` must be at most 150 characters")));
    } else if value.chars().any(char::is_control) {
        errors.push(FieldError::new(field, "invalid", format!("`{field}` must be one line of text, without tabs or line breaks")));
    } else if !value.chars().any(char::is_alphanumeric) {
        errors.push(FieldError::new(
            field,
            "invalid",
            format!("`{field}` must contain letters or digits, not only emoji, symbols or punctuation"),
        ));
    } else if has_web_address(value) {
        errors.push(FieldError::new(field, "invalid", format!("`{field}` must not contain a web address (WhatsApp refuses URLs in display names)")));
    }
}

fn has_web_address(value: &str) -> bool {
    let lower = value.to_lowercase();
    lower.contains("://") || lower.contains("www.")
}

/// The sign-up code: opaque, but not empty and not absurdly long.
pub fn code(field: &str, value: &str, errors: &mut Vec<FieldError>) {
    let value = value.trim();
    if value.is_empty() {
        errors.push(FieldError::new(field, "required", format!("`{field}` is required")));
    } else if value.len() > 2048 || value.chars().any(char::is_whitespace) {
        errors.push(FieldError::new(field, "invalid", format!("`{field}` is not a sign-up code")));
    }
}

/// An account's API name: `[A-Za-z0-9_.-]`, 2 to 64 characters.
pub fn account_name(field: &str, raw: &str) -> Result<String, FieldError> {
    let value = raw.trim();
    let length = value.chars().count();
    if value.is_empty() {
        return Err(FieldError::new(field, "required", "Enter an account name"));
    }
    if length < ACCOUNT_NAME_MIN_CHARS {
        return Err(FieldError::new(
            field,
            "too_short",
            format!("The account name needs at least {ACCOUNT_NAME_MIN_CHARS} characters"),
        ));
    }
    if length > ACCOUNT_NAME_MAX_CHARS {
        return Err(FieldError::new(
            field,
            "too_long",
            format!("The account name can have at most {ACCOUNT_NAME_MAX_CHARS} characters"),
        ));
    }
    if !value.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')) {
        return Err(FieldError::new(
            field,
            "invalid",
            "The account name may use only letters, digits, '_', '.' and '-'",
        ));
    }
    Ok(value.to_owned())
}

/// A person's display name: not empty, at most 100 characters, no control characters.
pub fn person_name(field: &str, raw: &str) -> Result<String, FieldError> {
    let value = raw.trim();
    if value.is_empty() {
        return Err(FieldError::new(field, "required", "Enter your name"));
    }
    if value.chars().count() > NAME_MAX_CHARS {
        return Err(FieldError::new(field, "too_long", format!("The name can have at most {NAME_MAX_CHARS} characters")));
    }
    if value.chars().any(char::is_control) {
        return Err(FieldError::new(field, "invalid", "The name cannot contain control characters"));
    }
    Ok(value.to_owned())
}

/// An email address of the usual shape `local@domain.tld`, lowercased.
pub fn email(field: &str, raw: &str) -> Result<String, FieldError> {
    let value = raw.trim().to_lowercase();
    if value.is_empty() {
        return Err(FieldError::new(field, "required", "Enter an email address"));
    }
    if value.chars().count() > EMAIL_MAX_CHARS {
        return Err(FieldError::new(field, "too_long", format!("The email can have at most {EMAIL_MAX_CHARS} characters")));
    }
    if !looks_like_email(&value) {
        return Err(FieldError::new(field, "invalid", "Enter an email address like name@example.com"));
    }
    Ok(value)
}

fn looks_like_email(value: &str) -> bool {
    let Some((local, domain)) = value.split_once('@') else {
        return false;
    };
    let no_odd_characters =
        |part: &str| !part.chars().any(|c| c.is_whitespace() || c.is_control() || "@<>()[],;:\\\"".contains(c));
    !local.is_empty()
        && no_odd_characters(local)
        && no_odd_characters(domain)
        && domain.contains('.')
        && !domain.starts_with(['.', '-'])
        && !domain.ends_with(['.', '-'])
        && !domain.contains("..")
}

/// A new password: 10 to 256 characters.
pub fn new_password(field: &str, raw: &str) -> Result<String, FieldError> {
    let length = raw.chars().count();
    if raw.is_empty() {
        return Err(FieldError::new(field, "required", "Choose a password"));
    }
    if length < PASSWORD_MIN_CHARS {
        return Err(FieldError::new(
            field,
            "too_short",
            format!("The password needs at least {PASSWORD_MIN_CHARS} characters"),
        ));
    }
    if length > PASSWORD_MAX_CHARS {
        return Err(FieldError::new(
            field,
            "too_long",
            format!("The password can have at most {PASSWORD_MAX_CHARS} characters"),
        ));
    }
    Ok(raw.to_owned())
}

/// Only the digits of a phone number as people write it (`+86 133-0000 5155` -> `8613300005155`):
/// how two spellings of one number are compared.
pub fn only_digits(text: &str) -> String {
    text.chars().filter(char::is_ascii_digit).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(check: impl Fn(&mut Vec<FieldError>)) -> Vec<String> {
        let mut errors = Vec::new();
        check(&mut errors);
        errors.into_iter().map(|error| error.code).collect()
    }

    #[test]
    fn ids_are_digits_of_a_sane_length() {
        assert!(codes(|e| meta_id("wabaId", "278990000057661", e)).is_empty());
        assert_eq!(codes(|e| meta_id("wabaId", "", e)), ["required"]);
        assert_eq!(codes(|e| meta_id("wabaId", "12ab5", e)), ["invalid"]);
        assert_eq!(codes(|e| meta_id("wabaId", "1234", e)), ["too_short"]);
        assert_eq!(codes(|e| meta_id("wabaId", &"1".repeat(25), e)), ["too_long"]);
    }

    #[test]
    fn ids_in_other_scripts_or_padded_with_signs_are_not_ids() {
        assert_eq!(codes(|e| meta_id("wabaId", "\u{661}\u{662}\u{663}\u{664}\u{665}\u{666}", e)), ["invalid"]);
        assert_eq!(codes(|e| meta_id("wabaId", "+278990000057661", e)), ["invalid"]);
        assert_eq!(codes(|e| meta_id("wabaId", "2789 9000 0057 661", e)), ["invalid"]);
        assert!(codes(|e| meta_id("wabaId", "  278990000057661 ", e)).is_empty());
        assert_eq!(codes(|e| meta_id("wabaId", &"1".repeat(10 * 1024), e)), ["too_long"]);
        assert_eq!(codes(|e| meta_id("wabaId", "   ", e)), ["required"]);
    }

    #[test]
    fn display_names_follow_meta_rules() {
        assert!(codes(|e| display_name("verifiedName", "Acme Cakes", e)).is_empty());
        assert!(codes(|e| display_name("verifiedName", "Café Zoë 24/7", e)).is_empty());
        assert!(codes(|e| display_name("verifiedName", "\u{5e9}\u{5dc}\u{5d5}\u{5dd}", e)).is_empty());
        assert_eq!(codes(|e| display_name("verifiedName", "  ", e)), ["required"]);
        assert_eq!(codes(|e| display_name("verifiedName", " ab ", e)), ["too_short"]);
        assert_eq!(codes(|e| display_name("verifiedName", &"a".repeat(151), e)), ["too_long"]);
        // Counted in characters, not bytes.
        assert!(codes(|e| display_name("verifiedName", &"é".repeat(150), e)).is_empty());
        assert_eq!(codes(|e| display_name("verifiedName", "\u{1f600}\u{1f600}\u{1f600}", e)), ["invalid"]);
        assert_eq!(codes(|e| display_name("verifiedName", "!!! ???", e)), ["invalid"]);
        assert_eq!(codes(|e| display_name("verifiedName", "Visit https://acme.example", e)), ["invalid"]);
        assert_eq!(codes(|e| display_name("verifiedName", "WWW.acme.example", e)), ["invalid"]);
        assert_eq!(codes(|e| display_name("verifiedName", "Acme\nCakes", e)), ["invalid"]);
    }

    #[test]
    fn phone_numbers() {
        assert!(codes(|e| phone_number("phoneNumber", "86133****5155".replace('*', "0").as_str(), e)).is_empty());
        assert!(codes(|e| phone_number("phoneNumber", "+1 (555) 010-0100", e)).is_empty());
        assert_eq!(codes(|e| phone_number("phoneNumber", "12345", e)), ["invalid"]);
        assert_eq!(codes(|e| phone_number("phoneNumber", "call me", e)), ["invalid"]);
    }
}
