//! The shell's components mounted in a real browser, used like a user would.
#![cfg(target_arch = "wasm32")]

mod support;

use api_types::{NumberStatus, RuntimeConfig};
use leptos::prelude::*;
use leptos_router::components::Router;
use support::*;
use wadesk::components::config_error::ConfigErrorView;
use wadesk::components::form_error::FormError;
use wadesk::components::language_switch::LanguageSwitch;
use wadesk::components::not_built::NotBuiltYet;
use wadesk::components::number::{NumberCard, NumberStatusBadge};
use wadesk::components::submit_button::SubmitButton;
use wadesk::config::ConfigError;
use wadesk::i18n::{use_i18n, Language};
use wadesk::pages::login::LoginPage;
use wadesk::pages::signup::SignupPage;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
async fn language_switch_changes_the_visible_text_and_is_remembered() {
    let root = container();
    let _mounted = leptos::mount::mount_to(root.clone(), || {
        provide_test_context(RuntimeConfig::default(), Language::English, None);
        let i18n = use_i18n();
        view! {
            <LanguageSwitch />
            <p data-testid="label">{move || i18n.t("nav.numbers")}</p>
        }
    });
    let switch = wait_for(&root, "language-switch").await;
    wait_for_text(&root, "label", "Numbers").await;
    let options: Vec<(String, String)> = {
        let list = switch.query_selector_all("option").unwrap();
        (0..list.length())
            .map(|index| {
                let option: web_sys::Element = wasm_bindgen::JsCast::unchecked_into(list.get(index).unwrap());
                (option.get_attribute("value").unwrap(), option.text_content().unwrap())
            })
            .collect()
    };
    assert_eq!(options, vec![("en".into(), "English".into()), ("zh-CN".into(), "简体中文".into())]);

    choose(&switch, "zh-CN");
    wait_for_text(&root, "label", "号码管理").await;
    assert_eq!(wadesk::browser::local_storage_get("wadesk.language").as_deref(), Some("zh-CN"));
    assert_eq!(document().document_element().unwrap().get_attribute("lang").as_deref(), Some("zh-CN"));

    choose(&switch, "en");
    wait_for_text(&root, "label", "Numbers").await;
}

#[wasm_bindgen_test]
async fn login_form_checks_fields_before_sending() {
    let root = container();
    let _mounted = leptos::mount::mount_to(root.clone(), || {
        provide_test_context(RuntimeConfig::default(), Language::English, None);
        view! { <Router><LoginPage /></Router> }
    });
    let submit = wait_for(&root, "login-submit").await;
    click(&submit);
    wait_for_text(&root, "field-error-email", "Enter your email address.").await;
    wait_for_text(&root, "field-error-password", "Enter your password.").await;
    assert!(find(&root, "login-error").is_none(), "nothing was sent, so there is no server error");
    assert_eq!(submit.get_attribute("disabled"), None, "the form stays usable");

    type_into(&find(&root, "login-email").unwrap(), "not-an-address");
    type_into(&find(&root, "login-password").unwrap(), "secret");
    click(&submit);
    wait_for_text(&root, "field-error-email", "Enter a valid email address, such as name@example.com.").await;
    eventually("the password error to go", || find(&root, "field-error-password").is_none().then_some(())).await;
}

#[wasm_bindgen_test]
async fn login_links_to_signup_only_when_signup_is_enabled() {
    let enabled = container();
    let _a = leptos::mount::mount_to(enabled.clone(), || {
        provide_test_context(RuntimeConfig::default(), Language::English, None);
        view! { <Router><LoginPage /></Router> }
    });
    let link = wait_for(&enabled, "login-signup-link").await;
    assert!(link.get_attribute("href").unwrap().ends_with("/signup"));

    let disabled = container();
    let _b = leptos::mount::mount_to(disabled.clone(), || {
        let config = RuntimeConfig { signup_enabled: false, ..RuntimeConfig::default() };
        provide_test_context(config, Language::English, None);
        view! { <Router><LoginPage /></Router> }
    });
    wait_for(&disabled, "login-submit").await;
    assert!(find(&disabled, "login-signup-link").is_none());
}

#[wasm_bindgen_test]
async fn signup_form_shows_every_client_side_problem_beside_its_field_in_chinese() {
    let root = container();
    let _mounted = leptos::mount::mount_to(root.clone(), || {
        provide_test_context(RuntimeConfig::default(), Language::SimplifiedChinese, None);
        view! { <Router><SignupPage /></Router> }
    });
    let submit = wait_for(&root, "signup-submit").await;
    type_into(&find(&root, "signup-account-name").unwrap(), "A");
    type_into(&find(&root, "signup-email").unwrap(), "ana@example.com");
    type_into(&find(&root, "signup-password").unwrap(), "short");
    click(&submit);
    wait_for_text(&root, "field-error-account-name", "账户名称至少需要 2 个字符。").await;
    wait_for_text(&root, "field-error-name", "此项为必填项。").await;
    wait_for_text(&root, "field-error-password", "密码至少需要 10 个字符。").await;
    assert!(find(&root, "field-error-email").is_none());
    assert!(find(&root, "signup-error").is_none());
}

#[wasm_bindgen_test]
async fn not_built_pages_show_their_title_and_notice() {
    let root = container();
    let _mounted = leptos::mount::mount_to(root.clone(), || {
        provide_test_context(RuntimeConfig::default(), Language::English, None);
        view! { <NotBuiltYet title_key="nav.inbox" /> }
    });
    let page = wait_for(&root, "page-not-built").await;
    let text = page.text_content().unwrap();
    assert!(text.contains("Inbox") && text.contains("This page is not built yet."), "{text}");
}

#[wasm_bindgen_test]
async fn config_error_speaks_both_languages_and_offers_a_retry() {
    let root = container();
    let _mounted = leptos::mount::mount_to(root.clone(), || {
        view! { <ConfigErrorView error=ConfigError::HttpStatus(404) /> }
    });
    let screen = wait_for(&root, "config-error").await;
    let text = screen.text_content().unwrap();
    assert!(text.contains("The console cannot start") && text.contains("控制台无法启动"), "{text}");
    assert!(text.contains("HTTP 404"), "{text}");
    assert!(find(&root, "config-error-retry").is_some());
}

#[wasm_bindgen_test]
async fn the_submit_button_is_busy_while_its_request_runs() {
    let root = container();
    let pending = RwSignal::new(false);
    let allowed = RwSignal::new(true);
    let _mounted = leptos::mount::mount_to(root.clone(), move || {
        provide_test_context(RuntimeConfig::default(), Language::English, None);
        view! {
            <form>
                <SubmitButton testid="submit" label_key="login.submit" pending_label_key="login.submitting" pending=pending allowed=allowed />
            </form>
        }
    });
    let button = wait_for(&root, "submit").await;
    assert_eq!(button.get_attribute("type").as_deref(), Some("submit"));
    assert_eq!(button.text_content().as_deref(), Some("Log in"));
    assert_eq!(button.get_attribute("disabled"), None);
    assert_eq!(button.get_attribute("aria-busy").as_deref(), Some("false"));

    pending.set(true);
    wait_for_text(&root, "submit", "Logging in…").await;
    assert!(button.get_attribute("disabled").is_some(), "a second click cannot send the form again");
    assert_eq!(button.get_attribute("aria-busy").as_deref(), Some("true"));

    pending.set(false);
    allowed.set(false);
    wait_for_text(&root, "submit", "Log in").await;
    assert!(button.get_attribute("disabled").is_some(), "not allowed: disabled even when idle");
}

#[wasm_bindgen_test]
async fn the_form_error_shows_only_while_there_is_a_message() {
    let root = container();
    let message = RwSignal::new(None::<String>);
    let _mounted = leptos::mount::mount_to(root.clone(), move || {
        provide_test_context(RuntimeConfig::default(), Language::English, None);
        view! { <FormError testid="form-error" message=message /> }
    });
    gloo_timers::future::sleep(std::time::Duration::from_millis(20)).await;
    assert!(find(&root, "form-error").is_none());
    message.set(Some("The server said no.".into()));
    let block = wait_for(&root, "form-error").await;
    assert_eq!(block.get_attribute("role").as_deref(), Some("alert"));
    wait_for_text(&root, "form-error", "The server said no.").await;
    message.set(None);
    eventually("the error to go", || find(&root, "form-error").is_none().then_some(())).await;
}

#[wasm_bindgen_test]
async fn number_badges_speak_the_language_and_keep_the_raw_value() {
    let root = container();
    let status = RwSignal::new(NumberStatus::Flagged);
    let _mounted = leptos::mount::mount_to(root.clone(), move || {
        provide_test_context(RuntimeConfig::default(), Language::SimplifiedChinese, None);
        view! { <NumberStatusBadge status=status /> }
    });
    let badge = wait_for(&root, "number-status").await;
    wait_for_text(&root, "number-status", "已标记").await;
    assert_eq!(badge.get_attribute("data-status").as_deref(), Some("FLAGGED"));
    // A status WhatsApp adds later is shown as it came, not hidden.
    status.set(NumberStatus::parse("SOMETHING_NEW"));
    wait_for_text(&root, "number-status", "SOMETHING_NEW").await;
    assert_eq!(badge.get_attribute("data-status").as_deref(), Some("SOMETHING_NEW"));
}

#[wasm_bindgen_test]
async fn the_number_card_shows_the_number_and_what_the_page_adds() {
    // Built from the wire format, as the server sends it.
    let number: api_types::NumberDetails = serde_json::from_value(serde_json::json!({
        "phoneNumberId": "phone-1", "wabaId": "waba-1", "wabaName": "Blue Bakery",
        "displayPhoneNumber": "+1 555-0102", "verifiedName": "Blue Bakery", "status": "CONNECTED",
        "disconnectReason": null, "qualityRating": "GREEN", "messageLimit": "TIER_2K", "origin": "cloud",
        "registration": {"attemptsInWindow": 1, "limit": 10, "nextAttemptAt": null}, "sync": null,
        "createdAt": 0, "updatedAt": 0
    }))
    .expect("a number in the wire format");
    let root = container();
    let _mounted = leptos::mount::mount_to(root.clone(), move || {
        provide_test_context(RuntimeConfig::default(), Language::English, None);
        view! {
            <NumberCard number=number.clone()>
                <p data-testid="card-extra">"extra"</p>
            </NumberCard>
        }
    });
    let card = wait_for(&root, "number-card").await;
    wait_for_text(&root, "number-display", "+1 555-0102").await;
    wait_for_text(&root, "number-verified-name", "Blue Bakery").await;
    assert_eq!(find(&root, "number-status").unwrap().get_attribute("data-status").as_deref(), Some("CONNECTED"));
    assert_eq!(find(&root, "number-quality").unwrap().get_attribute("data-quality").as_deref(), Some("GREEN"));
    wait_for_text(&root, "number-quality", "High quality").await;
    wait_for_text(&root, "number-limit", "2,000 customers / 24 h").await;
    assert!(card.query_selector("[data-testid=\"card-extra\"]").unwrap().is_some(), "the page's part is inside the card");
}
