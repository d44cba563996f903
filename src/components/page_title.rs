//! The browser tab's title: the page's name, then the product ("Numbers · wadesk"), in the
//! current language, so a user with several tabs open finds the console and the page.

use leptos::prelude::*;

use crate::i18n::use_i18n;

/// The product's name, last in every title.
pub const PRODUCT_NAME: &str = "wadesk";

/// Title the tab after the page named by the i18n key `key`, following language switches.
pub fn use_page_title(key: &'static str) {
    let i18n = use_i18n();
    Effect::new(move |_| crate::browser::set_document_title(&page_title(i18n.t(key))));
}

/// `"{page} · wadesk"`.
pub fn page_title(page: &str) -> String {
    format!("{page} · {PRODUCT_NAME}")
}
