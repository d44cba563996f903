//! The team inbox end to end, in Chromium against the server in sandbox mode: the sandbox phone
//! (`/sandbox/phone`, a second browser) plays the customer, and everything it sends goes through
//! the webhook path like real traffic.

use wadesk_e2e::{ensure, json, run, wait_for_attr, Browser, E2eResult, TestApp};

/// The sandbox's Blue Bakery number (second portfolio, first number).
const BAKERY_WABA: &str = "1000000000000002";
const BAKERY_NUMBER_ID: &str = "2000000000000003";

/// Log in as the admin, bind the Blue Bakery number by API and wait until it is connected.
async fn bind_bakery(browser: &Browser) -> E2eResult {
    browser.login_admin().await?;
    let body = json!({"accountName": "wadesk", "wabaId": BAKERY_WABA, "phoneNumberId": BAKERY_NUMBER_ID});
    let bound = browser.call_api("/whatsapp/account/bind", &body).await?;
    ensure(bound["status"] == json!(200), format!("bind answered {bound}"))?;
    browser
        .wait_until("the bakery number to be CONNECTED", async || {
            let numbers = browser.call_api("/whatsapp/numbers/list", &json!({})).await?;
            let connected = numbers["body"]["data"]
                .as_array()
                .is_some_and(|numbers| numbers.iter().any(|number| number["status"] == json!("CONNECTED")));
            Ok(connected.then_some(()))
        })
        .await
}

/// A second browser on the sandbox phone, as the customer `wa_id` called `name`, on the bakery number.
async fn open_phone(app: &TestApp, wa_id: &str, name: &str) -> E2eResult<Browser> {
    let phone = app.open_browser().await?;
    phone.goto("/sandbox/phone").await?;
    phone.wait_for_testid("phone-number-select").await?;
    phone.select("phone-number-select", BAKERY_NUMBER_ID).await?;
    phone.fill("phone-customer-wa-id", wa_id).await?;
    phone.fill("phone-customer-name", name).await?;
    Ok(phone)
}

async fn phone_says(phone: &Browser, text: &str) -> E2eResult {
    phone.fill("phone-text", text).await?;
    phone.click("phone-send").await?;
    phone.wait_for_text("phone-message", text).await?;
    Ok(())
}

/// The inbox, with the conversation of the customer called `name` open.
async fn open_conversation(browser: &Browser, name: &str) -> E2eResult {
    browser.goto("/inbox").await?;
    let row = browser.wait_for_text("conversation-row", name).await?;
    row.click().await?;
    browser.wait_for_testid("thread").await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_message_arrives_live_and_the_replies_reach_the_phone_and_turn_blue() {
    run("a_customer_message_arrives_live_and_the_replies_reach_the_phone_and_turn_blue", async |app| {
        bind_bakery(app).await?;
        app.goto("/inbox").await?;
        app.wait_for_testid("inbox-search").await?;

        // A hostile profile name: it must read as text, never become markup.
        let hostile = "<img src=x onerror=\"window.__pwned=1\">Ana";
        let phone = open_phone(app, "15550001111", hostile).await?;
        phone_says(&phone, "Hello from the phone").await?;

        // It appears without a reload.
        let row = app.wait_for_text("conversation-row", "Ana").await?;
        ensure(row.text().await?.contains("<img"), "the name shows its markup as text")?;
        let pwned = app.execute("return window.__pwned === 1 || document.querySelector('[data-testid=conversation-row] img') !== null;", vec![]).await?;
        ensure(pwned == json!(false), "the customer's name did not become an element")?;
        row.click().await?;
        app.wait_for_text("message-text", "Hello from the phone").await?;

        // The agent replies with text: it reaches the phone, and the phone's read turns it blue.
        app.fill("composer-input", "Hi Ana, how can we help?").await?;
        app.click("composer-send").await?;
        phone.wait_for_text("phone-message", "Hi Ana, how can we help?").await?;
        wait_for_attr(app, "message-status", "data-status", "delivered").await?;
        phone.click("phone-read").await?;
        wait_for_attr(app, "message-status", "data-status", "read").await?;

        // And with an image, picked through the file input.
        let image = app.scratch_dir().join("menu.png");
        std::fs::write(&image, PNG_1X1)?;
        // The attach button opens this input's file picker; WebDriver hands it the file directly.
        let picker = app.by_testid("composer-file").await?;
        picker.send_keys(&image.display().to_string()).await?;
        app.wait_for_testid("message-media").await?;
        phone.wait_for_testid("phone-message-image").await?;
        Ok(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_agent_sees_the_assignment_live_and_nothing_is_lost_across_a_restart() {
    run("a_second_agent_sees_the_assignment_live_and_nothing_is_lost_across_a_restart", async |app| {
        bind_bakery(app).await?;
        let phone = open_phone(app, "15550002222", "Bruno").await?;
        phone_says(&phone, "first question").await?;

        let second = app.open_browser().await?;
        second.login_admin().await?;
        open_conversation(&second, "Bruno").await?;
        open_conversation(app, "Bruno").await?;
        wait_for_attr(&second, "conversation-state", "data-state", "open").await?;

        let unassigned = second.text_of("conversation-assignee").await?;
        app.click("assign-to-me").await?;
        second
            .wait_until("the assignment on the other screen", async || {
                Ok((second.text_of("conversation-assignee").await? != unassigned).then_some(()))
            })
            .await?;
        app.click("resolve").await?;
        wait_for_attr(&second, "conversation-state", "data-state", "resolved").await?;

        // The server restarts; the phone keeps talking; nothing acknowledged is missing or doubled.
        phone_says(&phone, "second question").await?;
        app.restart_server().await?;
        phone_says(&phone, "third question").await?;
        app.refresh().await?;
        open_conversation(app, "Bruno").await?;
        for text in ["first question", "second question", "third question"] {
            app.wait_for_text("message-text", text).await?;
        }
        let count = app
            .execute("return [...document.querySelectorAll('[data-testid=message-text]')].filter(e => e.textContent.includes('question')).length;", vec![])
            .await?;
        ensure(count == json!(3), format!("each message once, got {count}"))?;
        // A new message reopened the resolved conversation.
        wait_for_attr(app, "conversation-state", "data-state", "open").await?;
        Ok(())
    })
    .await;
}

/// Leaving the inbox for another page and coming back, page load after page load: a page the
/// browser keeps for its back button must not keep its event stream, or after a few the browser's
/// six connections to the server are all held and the app waits (it did: the fifth load's calls
/// queued for 26 s).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn page_loads_do_not_leave_event_streams_holding_the_browsers_connections() {
    run("page_loads_do_not_leave_event_streams_holding_the_browsers_connections", async |app| {
        app.login_admin().await?;
        for load in 1..=8 {
            app.goto("/numbers").await?;
            app.wait_for_testid("numbers-page").await?;
            app.click("nav-inbox").await?;
            app.wait_for_testid("inbox-search").await?;
            let answered = tokio::time::timeout(
                std::time::Duration::from_secs(8),
                app.call_api("/inbox/conversations/list", &json!({"limit": 1})),
            )
            .await;
            let answered = matches!(&answered, Ok(Ok(reply)) if reply["status"] == json!(200));
            ensure(answered, format!("load {load}: the inbox's call did not get a connection within 8 s"))?;
        }
        Ok(())
    })
    .await;
}

/// A 1x1 PNG.
const PNG_1X1: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x00, 0x01,
    0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4, 0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41,
    0x54, 0x78, 0x9c, 0x63, 0xf8, 0xcf, 0xc0, 0xf0, 0x1f, 0x00, 0x05, 0x00, 0x01, 0xff, 0x89, 0x99, 0x3d, 0x1d, 0x00, 0x00,
    0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

/// What a customer shares from the phone besides text: a place and a contact card show as cards
/// (a map link made from the coordinates, a dialable number), and the list's row previews the
/// newest message. With `WADESK_SCREENSHOTS=1`, also writes the inbox in English and Chinese to
/// `tests/e2e/screenshots/screen-inbox-*.png`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shared_place_and_contact_show_as_cards_and_the_row_previews_the_newest_message() {
    run("a_shared_place_and_contact_show_as_cards_and_the_row_previews_the_newest_message", async |app| {
        bind_bakery(app).await?;
        let phone = open_phone(app, "15550003333", "Chloé").await?;
        phone_says(&phone, "Where is your shop? <b>bold?</b>").await?;
        phone.fill("phone-location-name", "Jing'an Temple").await?;
        phone.click("phone-send-location").await?;
        phone.fill("phone-contact-name", "Li Lei").await?;
        phone.click("phone-send-contact").await?;
        open_conversation(app, "Chloé").await?;
        let map = app.wait_for_testid("location-map").await?;
        let href = map.attr("href").await?.unwrap_or_default();
        ensure(href.starts_with("https://www.openstreetmap.org/?mlat=31.230400&mlon=121.473700"), format!("map link {href}"))?;
        app.wait_for_text("location-name", "Jing'an Temple").await?;
        app.wait_for_text("contact-card-name", "Li Lei").await?;
        let dial = app.wait_for_testid("contact-card-phone").await?.attr("href").await?.unwrap_or_default();
        ensure(dial == "tel:+8613800000000", format!("dial {dial}"))?;
        // The newest message is the contact card: the row says so.
        app.wait_for_text("conversation-preview", "Contact card").await?;
        app.fill("composer-input", "We are at 1686 Nanjing West Road").await?;
        app.click("composer-send").await?;
        app.wait_for_text("conversation-preview", "You: We are at 1686 Nanjing West Road").await?;
        if std::env::var_os("WADESK_SCREENSHOTS").is_some() {
            let folder = wadesk_e2e::repository_root().join("tests/e2e/screenshots");
            app.devtools("Emulation.setDeviceMetricsOverride", json!({"width": 1280, "height": 860, "deviceScaleFactor": 1, "mobile": false}))
                .await?;
            app.screenshot(&folder.join("screen-inbox-en.png")).await?;
            app.select("language-switch", "zh-CN").await?;
            open_conversation(app, "Chloé").await?;
            app.wait_for_testid("location-map").await?;
            app.screenshot(&folder.join("screen-inbox-zh-CN.png")).await?;
        }
        Ok(())
    })
    .await;
}
