//! Strings of the shell area: `(key, English, Simplified Chinese)`.

pub const STRINGS: &[(&str, &str, &str)] = &[
];
