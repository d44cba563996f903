//! Every user-visible string, in English and Simplified Chinese.
//!
//! Strings live in one table per area of the app, each row `(key, english, chinese)`, so a
//! missing translation cannot be written. The app-wide table (`shell.rs`: the frame, login,
//! errors) is always here; each page keeps its own table beside it (`pages/numbers/strings.rs`)
//! and [`register`]s it when it renders, so a page's strings travel in its lazily loaded chunk,
//! not in the first load. Components read them through [`I18n::t`], which is reactive: switching
//! the language re-renders the text.
//!
//! `tests/i18n.rs` (run in the browser like every test of this crate) checks that each row has
//! both texts, and that every key the code names, or builds at run time, has a row.

use leptos::prelude::*;

use std::cell::RefCell;

mod shell;

/// The languages the console speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Language {
    English,
    SimplifiedChinese,
}

impl Language {
    pub const ALL: [Language; 2] = [Language::English, Language::SimplifiedChinese];

    /// The BCP 47 code used in config.json, localStorage and `<html lang>`.
    pub fn code(self) -> &'static str {
        match self {
            Language::English => "en",
            Language::SimplifiedChinese => "zh-CN",
        }
    }

    /// The language's own name, shown in the switch whatever the current language is.
    pub fn native_name(self) -> &'static str {
        match self {
            Language::English => "English",
            Language::SimplifiedChinese => "简体中文",
        }
    }

    /// The language a BCP 47 tag asks for: any English (`en`, `en-US`, `en-IN`), or Chinese in
    /// simplified script (`zh`, `zh-CN`, `zh-SG`, `zh-Hans`, `zh-Hans-CN`). Traditional Chinese
    /// (`zh-TW`, `zh-HK`, `zh-Hant`) is not Simplified Chinese: `None`.
    pub fn from_code(code: &str) -> Option<Language> {
        let code = code.trim().replace('_', "-").to_ascii_lowercase();
        let mut parts = code.split('-');
        match (parts.next()?, parts.next()) {
            ("en", _) => Some(Language::English),
            ("zh", None | Some("cn" | "sg" | "my" | "hans")) => Some(Language::SimplifiedChinese),
            _ => None,
        }
    }
}

/// A string table: rows of `(key, english, chinese)`.
pub type Table = &'static [(&'static str, &'static str, &'static str)];

thread_local! {
    /// The page tables registered so far (the app-wide table is always searched first).
    static PAGE_TABLES: RefCell<Vec<Table>> = const { RefCell::new(Vec::new()) };
}

/// Make a page's table available to [`lookup`]. Pages call this as they render; registering
/// the same table again changes nothing.
pub fn register(table: Table) {
    PAGE_TABLES.with(|tables| {
        let mut tables = tables.borrow_mut();
        if !tables.iter().any(|known| std::ptr::eq(*known, table)) {
            tables.push(table);
        }
    });
}

fn tables() -> Vec<Table> {
    let mut tables = vec![shell::STRINGS];
    PAGE_TABLES.with(|registered| tables.extend(registered.borrow().iter().copied()));
    tables
}

/// Every row of the app-wide table and of every registered page table, `(key, english,
/// chinese)`: for completeness checks (which first register every page's table).
pub fn all_rows() -> impl Iterator<Item = (&'static str, &'static str, &'static str)> {
    tables().into_iter().flat_map(|table| table.iter().copied())
}

/// Whether `key` has a row in some table (unlike [`lookup`], without a warning or fallback).
pub fn has_key(key: &str) -> bool {
    all_rows().any(|(candidate, _, _)| candidate == key)
}

/// The text for `key` in `language`; the key itself when it is missing (and a test fails).
pub fn lookup(language: Language, key: &str) -> &'static str {
    for table in tables() {
        if let Some((_, english, chinese)) = table.iter().find(|(candidate, _, _)| *candidate == key) {
            return match language {
                Language::English => english,
                Language::SimplifiedChinese => chinese,
            };
        }
    }
    leptos::logging::warn!("i18n: no text for key \"{key}\"");
    // Leak-free fallback: the key is shown as-is so the gap is visible, never a blank.
    Box::leak(key.to_owned().into_boxed_str())
}

/// Replace `{name}` placeholders in a translated text.
pub fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut text = template.to_owned();
    for (name, value) in values {
        text = text.replace(&format!("{{{name}}}"), value);
    }
    text
}

/// The current language, shared through context. `Copy`, so closures take it freely.
#[derive(Debug, Clone, Copy)]
pub struct I18n {
    language: RwSignal<Language>,
}

const STORAGE_KEY: &str = "wadesk.language";

impl I18n {
    /// Start from the remembered choice, else the browser's languages, else the configured default.
    pub fn new(default_code: &str) -> I18n {
        let remembered = crate::browser::local_storage_get(STORAGE_KEY);
        let language = choose_language(remembered.as_deref(), &crate::browser::preferred_languages(), default_code);
        let i18n = I18n { language: RwSignal::new(language) };
        crate::browser::set_document_language(language.code());
        i18n
    }

    /// For tests: a fixed starting language, nothing read from the browser.
    pub fn with_language(language: Language) -> I18n {
        I18n { language: RwSignal::new(language) }
    }

    pub fn language(&self) -> Language {
        self.language.get()
    }

    /// Switch language, remember it in localStorage and set `<html lang>`.
    pub fn set_language(&self, language: Language) {
        self.language.set(language);
        crate::browser::local_storage_set(STORAGE_KEY, language.code());
        crate::browser::set_document_language(language.code());
    }

    /// The text for `key` in the current language (reactive).
    pub fn t(&self, key: &str) -> &'static str {
        lookup(self.language.get(), key)
    }

    /// The text for `key` as a reactive view or attribute value: it follows the language.
    ///
    /// Prefer this to `move || i18n.t(key)` in views: every call site shares this one closure
    /// type, so Leptos' rendering code is compiled once instead of once per call site (a
    /// measurably smaller wasm bundle; see README: Performance).
    pub fn text(self, key: &'static str) -> impl Fn() -> &'static str + Copy + Send + Sync + 'static {
        move || self.t(key)
    }

    /// The text for `key` with `{name}` placeholders filled (reactive).
    pub fn tf(&self, key: &str, values: &[(&str, &str)]) -> String {
        fill(self.t(key), values)
    }
}

/// The first language on a visit: the one the user picked before (remembered), else the first of
/// the browser's languages the console speaks, else config.json's `defaultLanguage`, else English.
pub fn choose_language(remembered: Option<&str>, browser_languages: &[String], default_code: &str) -> Language {
    remembered
        .and_then(Language::from_code)
        .or_else(|| browser_languages.iter().find_map(|code| Language::from_code(code)))
        .or_else(|| Language::from_code(default_code))
        .unwrap_or(Language::English)
}

/// The [`I18n`] provided by the app root.
pub fn use_i18n() -> I18n {
    expect_context::<I18n>()
}
