//! The i18n tables, run in the browser: every row has an English and a Simplified Chinese text,
//! every key the code names (or builds at run time) has a row, and every row is used.
//!
//! These checks used to be `#[test]`s inside `src/i18n/mod.rs`; this crate's tests only run on
//! wasm, where `wasm-bindgen-test-runner` runs `#[wasm_bindgen_test]` functions and silently
//! skips plain `#[test]`s, so they never ran.
#![cfg(target_arch = "wasm32")]

use std::collections::{BTreeSet, HashSet};

use wadesk::i18n::{choose_language, fill, lookup, Language};
use wadesk::pages::onboarding::StepStatus;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// Every row of the app-wide table and of every page's table (each page registers its own as it
/// renders; these checks cover them all).
fn all_rows() -> impl Iterator<Item = (&'static str, &'static str, &'static str)> {
    for table in wadesk::pages::STRING_TABLES {
        wadesk::i18n::register(table);
    }
    wadesk::i18n::all_rows()
}

fn has_key(key: &str) -> bool {
    all_rows().any(|(candidate, _, _)| candidate == key)
}

/// `(path, text)` of source files, read at compile time.
macro_rules! sources {
    ($($path:literal),* $(,)?) => {
        &[$(($path, include_str!(concat!("../", $path)))),*]
    };
}

/// Every source file of the console. [`every_module_is_in_the_scan`] fails when a module is
/// added without being listed here.
const SOURCES: &[(&str, &str)] = sources![
    "src/api/auth.rs",
    "src/api/error.rs",
    "src/api/events.rs",
    "src/api/inbox.rs",
    "src/api/team.rs",
    "src/api/mod.rs",
    "src/api/whatsapp.rs",
    "src/browser.rs",
    "src/components/app_frame.rs",
    "src/components/auth_layout.rs",
    "src/components/config_error.rs",
    "src/components/copy_field.rs",
    "src/components/form_error.rs",
    "src/components/form_field.rs",
    "src/components/icons.rs",
    "src/components/language_switch.rs",
    "src/components/mod.rs",
    "src/components/not_built.rs",
    "src/components/number.rs",
    "src/components/page_title.rs",
    "src/components/skeleton.rs",
    "src/components/submit_button.rs",
    "src/components/webhook_settings.rs",
    "src/config.rs",
    "src/embedded_signup/facebook_sdk.rs",
    "src/embedded_signup/flow.rs",
    "src/embedded_signup/login_options.rs",
    "src/embedded_signup/mod.rs",
    "src/embedded_signup/origin.rs",
    "src/embedded_signup/session_info.rs",
    "src/i18n/mod.rs",
    "src/i18n/shell.rs",
    "src/lib.rs",
    "src/main.rs",
    "src/pages/auth_form.rs",
    "src/pages/inbox/composer.rs",
    "src/pages/inbox/customer.rs",
    "src/pages/inbox/format.rs",
    "src/pages/inbox/list.rs",
    "src/pages/inbox/message.rs",
    "src/pages/inbox/mod.rs",
    "src/pages/inbox/strings.rs",
    "src/pages/inbox/thread.rs",
    "src/pages/inbox/windowing.rs",
    "src/pages/lazy.rs",
    "src/pages/login.rs",
    "src/pages/mod.rs",
    "src/pages/not_found.rs",
    "src/pages/numbers/mod.rs",
    "src/pages/numbers/row.rs",
    "src/pages/numbers/sandbox.rs",
    "src/pages/numbers/strings.rs",
    "src/pages/onboarding/controller.rs",
    "src/pages/onboarding/manual_bind.rs",
    "src/pages/onboarding/mod.rs",
    "src/pages/onboarding/progress.rs",
    "src/pages/onboarding/strings.rs",
    "src/pages/session_gate.rs",
    "src/pages/settings.rs",
    "src/pages/signup.rs",
    "src/pages/team.rs",
    "src/state/inbox.rs",
    "src/state/mod.rs",
    "src/state/navigation.rs",
    "src/state/numbers.rs",
    "src/state/realtime.rs",
    "src/state/session.rs",
];

/// The string tables themselves: they hold every key, so they are not scanned for uses.
fn is_string_table(path: &str) -> bool {
    (path.starts_with("src/i18n/") && path != "src/i18n/mod.rs") || path.ends_with("/strings.rs")
}

/// Rows whose Chinese text is rightly the same Latin-script word as the English one.
const SAME_IN_BOTH_LANGUAGES: &[&str] = &["numbers.settings.webhook_title"];

/// Keys the code builds at run time, each pattern (as written in the code) with every key it can
/// build, enumerated from the values that fill it.
fn runtime_keys() -> Vec<(&'static str, Vec<String>)> {
    vec![("onboarding.step_status.{}", StepStatus::ALL.iter().map(|status| status.label_key()).collect())]
}

/// The string literals of Rust source, in order. Comments and char literals are skipped, escapes
/// and raw strings understood: enough for this crate's sources, not a Rust lexer.
fn string_literals(source: &str) -> Vec<String> {
    let chars: Vec<char> = source.chars().collect();
    let is_ident = |c: char| c.is_alphanumeric() || c == '_';
    let mut literals = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '/' if chars.get(i + 1) == Some(&'/') => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            '/' if chars.get(i + 1) == Some(&'*') => {
                i += 2;
                while i + 1 < chars.len() && !(chars[i] == '*' && chars[i + 1] == '/') {
                    i += 1;
                }
                i += 2;
            }
            // A char literal ('x', '"', '\'', '\u{a0}') is skipped whole; a lifetime ('a) is not one.
            '\'' if chars.get(i + 1) == Some(&'\\') => {
                i += 3;
                while i < chars.len() && chars[i] != '\'' {
                    i += 1;
                }
                i += 1;
            }
            '\'' if chars.get(i + 2) == Some(&'\'') => i += 3,
            'r' if (i == 0 || !is_ident(chars[i - 1])) && matches!(chars.get(i + 1), Some('"' | '#')) => {
                let hashes = chars[i + 1..].iter().take_while(|c| **c == '#').count();
                if chars.get(i + 1 + hashes) != Some(&'"') {
                    i += 1;
                    continue;
                }
                let start = i + 2 + hashes;
                let mut end = start;
                while end < chars.len()
                    && !(chars[end] == '"' && (1..=hashes).all(|k| chars.get(end + k) == Some(&'#')))
                {
                    end += 1;
                }
                literals.push(chars[start..end.min(chars.len())].iter().collect());
                i = end + 1 + hashes;
            }
            '"' => {
                i += 1;
                let mut text = String::new();
                while i < chars.len() && chars[i] != '"' {
                    if chars[i] == '\\' {
                        text.push(chars[i]);
                        i += 1;
                    }
                    if let Some(c) = chars.get(i) {
                        text.push(*c);
                    }
                    i += 1;
                }
                i += 1;
                literals.push(text);
            }
            _ => i += 1,
        }
    }
    literals
}

/// The first segment of every key (`numbers`, `onboarding`, `error`...).
fn areas() -> BTreeSet<&'static str> {
    all_rows().map(|(key, _, _)| key.split('.').next().unwrap_or(key)).collect()
}

fn in_an_area(literal: &str, areas: &BTreeSet<&str>) -> bool {
    literal.split_once('.').is_some_and(|(area, rest)| areas.contains(area) && !rest.is_empty())
}

/// `numbers.status.connected`: an area, then lower-case words, digits and dots.
fn looks_like_key(literal: &str, areas: &BTreeSet<&str>) -> bool {
    in_an_area(literal, areas)
        && !literal.ends_with('.')
        && literal.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '.')
}

/// `onboarding.step_status.{}`: a key with a `format!` hole in it.
fn looks_like_key_pattern(literal: &str, areas: &BTreeSet<&str>) -> bool {
    in_an_area(literal, areas)
        && literal.contains("{")
        && literal.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "_.{}".contains(c))
}

/// The keys and key patterns the code names, outside the string tables.
fn keys_in_code() -> (BTreeSet<String>, BTreeSet<String>) {
    let areas = areas();
    let (mut keys, mut patterns) = (BTreeSet::new(), BTreeSet::new());
    for (path, source) in SOURCES {
        if is_string_table(path) {
            continue;
        }
        for literal in string_literals(source) {
            if looks_like_key(&literal, &areas) {
                keys.insert(literal);
            } else if looks_like_key_pattern(&literal, &areas) {
                patterns.insert(literal);
            }
        }
    }
    (keys, patterns)
}

#[wasm_bindgen_test]
fn every_row_is_unique_and_has_both_languages() {
    let mut seen = HashSet::new();
    let mut rows = 0;
    for (key, english, chinese) in all_rows() {
        rows += 1;
        assert!(seen.insert(key), "duplicate i18n key {key}");
        assert!(!english.trim().is_empty(), "{key} has no English text");
        assert!(!chinese.trim().is_empty(), "{key} has no Chinese text");
        let has_han = chinese.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c) || ('\u{3400}'..='\u{4dbf}').contains(&c));
        assert!(
            has_han || SAME_IN_BOTH_LANGUAGES.contains(&key),
            "{key}: the Chinese text {chinese:?} has no Chinese in it (a copy of the English?)"
        );
        assert_eq!(english == chinese, SAME_IN_BOTH_LANGUAGES.contains(&key), "{key}: the same text in both languages");
    }
    assert!(rows > 200, "only {rows} rows: a table is missing from the i18n module");
}

#[wasm_bindgen_test]
fn placeholders_match_between_languages() {
    let placeholders = |text: &str| {
        let mut names: Vec<String> =
            text.split('{').skip(1).filter_map(|rest| rest.split_once('}').map(|(name, _)| name.to_owned())).collect();
        names.sort();
        names
    };
    for (key, english, chinese) in all_rows() {
        assert_eq!(placeholders(english), placeholders(chinese), "placeholders differ in {key}");
    }
}

#[wasm_bindgen_test]
fn lookup_answers_the_language_asked_for() {
    assert_eq!(lookup(Language::English, "nav.numbers"), "Numbers");
    assert_eq!(lookup(Language::SimplifiedChinese, "nav.numbers"), "号码管理");
    assert_eq!(lookup(Language::English, "no.such.key"), "no.such.key", "a missing key shows itself, never a blank");
}

#[wasm_bindgen_test]
fn fill_replaces_named_placeholders() {
    assert_eq!(fill("Hello {name}, {name}!", &[("name", "Ana")]), "Hello Ana, Ana!");
    assert_eq!(fill("{count} of {limit}", &[("count", "1")]), "1 of {limit}");
}

/// Every key a page, component or error names has a row, so no raw key ever shows.
#[wasm_bindgen_test]
fn every_key_the_code_names_has_a_row() {
    let (keys, _) = keys_in_code();
    let missing: Vec<&String> = keys.iter().filter(|key| !has_key(key)).collect();
    assert!(missing.is_empty(), "i18n keys used with no row: {missing:?}");
    // Each area's keys are found: a scan that finds nothing would pass the check above.
    for area in areas() {
        assert!(keys.iter().any(|key| key.starts_with(&format!("{area}."))), "no {area}.* key found in the code");
    }
    assert!(keys.len() > 200, "only {} keys found: the scan is broken", keys.len());
}

/// Keys built at run time (`format!("onboarding.step_status.{}", ...)`) cannot be found as
/// literals: each pattern in the code must be listed in [`runtime_keys`] with every key it builds,
/// and each of those keys has a row.
#[wasm_bindgen_test]
fn every_key_built_at_run_time_has_a_row() {
    let (_, patterns_in_code) = keys_in_code();
    let runtime = runtime_keys();
    let listed: BTreeSet<String> = runtime.iter().map(|(pattern, _)| pattern.to_string()).collect();
    assert_eq!(patterns_in_code, listed, "key patterns in the code vs. those enumerated in runtime_keys()");
    for (pattern, keys) in runtime {
        assert!(!keys.is_empty(), "{pattern} builds no key");
        let prefix = pattern.split('{').next().unwrap_or(pattern);
        for key in keys {
            assert!(key.starts_with(prefix), "{key} was not built from {pattern}");
            assert!(has_key(&key), "i18n key {key:?} (from {pattern}) has no row");
        }
    }
}

/// A row nothing uses is a text no one sees (and no one will keep up to date).
#[wasm_bindgen_test]
fn every_row_is_used_by_the_code() {
    let (mut used, _) = keys_in_code();
    used.extend(runtime_keys().into_iter().flat_map(|(_, keys)| keys));
    let unused: Vec<&str> = all_rows().map(|(key, _, _)| key).filter(|key| !used.contains(*key)).collect();
    assert!(unused.is_empty(), "i18n rows no code uses: {unused:?}");
}

/// `mod name;` in a listed file must point at a listed file, so a new module joins the scan.
#[wasm_bindgen_test]
fn every_module_is_in_the_scan() {
    let listed: BTreeSet<&str> = SOURCES.iter().map(|(path, _)| *path).collect();
    let mut reached = BTreeSet::from(["src/lib.rs", "src/main.rs"]);
    for (path, source) in SOURCES {
        let dir = match path.rsplit_once('/') {
            Some((dir, "mod.rs" | "lib.rs" | "main.rs")) => dir.to_owned(),
            _ => path.trim_end_matches(".rs").to_owned(),
        };
        for line in source.lines() {
            let line = line.trim();
            let declaration = line.strip_prefix("pub ").or_else(|| line.strip_prefix("pub(crate) ")).unwrap_or(line);
            let Some(name) = declaration.strip_prefix("mod ").and_then(|rest| rest.strip_suffix(';')) else {
                continue;
            };
            let file = format!("{dir}/{name}.rs");
            let folder = format!("{dir}/{name}/mod.rs");
            let found = listed.get(file.as_str()).or_else(|| listed.get(folder.as_str())).copied();
            let found = found.unwrap_or_else(|| panic!("{path} declares `mod {name}`: add {file} or {folder} to SOURCES"));
            reached.insert(found);
        }
    }
    let stray: Vec<&&str> = listed.difference(&reached).collect();
    assert!(stray.is_empty(), "listed in SOURCES but no module declares them: {stray:?}");
}

#[wasm_bindgen_test]
fn the_literal_scan_reads_rust_strings() {
    let source = r####"
        // "comment.key" is not code
        let a = "numbers.title"; let c = '"'; let q = '\''; let u = '\u{a0}';
        fn f<'a>(x: &'a str) -> &'a str { x }
        let b = r#"raw "quoted" text"#; let e = "say \"hi\""; /* "block.key" */ let z = "last";
    "####;
    assert_eq!(string_literals(source), vec!["numbers.title", "raw \"quoted\" text", "say \\\"hi\\\"", "last"]);
}

#[wasm_bindgen_test]
fn language_tags_map_to_the_languages_the_console_speaks() {
    for english in ["en", "en-US", "EN-gb", "en-IN", " en_AU "] {
        assert_eq!(Language::from_code(english), Some(Language::English), "{english}");
    }
    for simplified in ["zh", "zh-CN", "zh-cn", "zh-SG", "zh-Hans", "zh-Hans-CN", "zh_CN"] {
        assert_eq!(Language::from_code(simplified), Some(Language::SimplifiedChinese), "{simplified}");
    }
    for other in ["zh-TW", "zh-HK", "zh-Hant", "zh-Hant-TW", "fr", "de-DE", "", "english"] {
        assert_eq!(Language::from_code(other), None, "{other}");
    }
}

#[wasm_bindgen_test]
fn the_first_language_is_the_remembered_then_the_browsers_then_the_default() {
    let browser = |codes: &[&str]| codes.iter().map(|code| code.to_string()).collect::<Vec<_>>();
    let chinese_browser = browser(&["zh-CN", "zh", "en"]);
    assert_eq!(choose_language(None, &chinese_browser, "en"), Language::SimplifiedChinese);
    assert_eq!(choose_language(Some("en"), &chinese_browser, "en"), Language::English, "a remembered pick wins");
    assert_eq!(choose_language(Some("klingon"), &chinese_browser, "en"), Language::SimplifiedChinese);
    // The first language the console speaks, in the browser's order.
    assert_eq!(choose_language(None, &browser(&["fr-FR", "zh-TW", "en-GB", "zh-CN"]), "zh-CN"), Language::English);
    assert_eq!(choose_language(None, &browser(&["fr-FR", "de"]), "zh-CN"), Language::SimplifiedChinese, "then the default");
    assert_eq!(choose_language(None, &[], "xx"), Language::English);
}
