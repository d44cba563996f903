//! Strings of the numbers area: `(key, English, Simplified Chinese)`.

pub const STRINGS: &[(&str, &str, &str)] = &[
];
