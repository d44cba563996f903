//! Strings of the onboarding area: `(key, English, Simplified Chinese)`.

pub const STRINGS: &[(&str, &str, &str)] = &[
];
