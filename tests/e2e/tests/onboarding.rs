//! Embedded Signup, coexistence and the Numbers page in a real browser, against the server in
//! sandbox mode (its stand-in Facebook SDK and popup, `server/src/whatsapp/sandbox/facebook.rs`).

use wadesk_e2e::{ensure, json, run, run_with, wait_for_attr, Browser, E2eResult, Setup, WindowHandle};
use wadesk_server::webhooks::signature::meta_signature;

/// The sandbox's first portfolio (Acme Trading) and its first number.
const ACME_NUMBER: &str = "+1 555-0100";
/// The second portfolio (Blue Bakery): its first number.
const BAKERY_NUMBER: &str = "+1 555-0102";

/// Log in, open the onboarding page and wait until the (sandbox) Facebook SDK is ready.
async fn open_onboarding(browser: &Browser) -> E2eResult {
    browser.login_admin().await?;
    browser.goto("/onboarding").await?;
    wait_for_attr(browser, "sdk-status", "data-state", "ready").await
}

/// Click a launch button and switch to the sandbox Facebook popup it opens.
async fn launch(browser: &Browser, button: &str) -> E2eResult<(WindowHandle, WindowHandle)> {
    let app_window = browser.current_window().await?;
    let before = browser.windows().await?;
    browser.click(button).await?;
    let popup = browser.switch_to_new_window(&before).await?;
    browser.wait_for_testid("sandbox-finish").await?;
    Ok((app_window, popup))
}

/// Press a button in the popup, wait for the popup to close itself, go back to the app.
async fn press_and_return(browser: &Browser, button: &str, app_window: &WindowHandle, popup: &WindowHandle) -> E2eResult {
    browser.click(button).await?;
    browser.wait_for_window_closed(popup).await?;
    browser.switch_to_window(app_window).await
}

/// Log in, open Numbers, bind the Blue Bakery number by API and wait until it is CONNECTED.
async fn bind_bakery_number(browser: &Browser) -> E2eResult {
    browser.login_admin().await?;
    browser.goto("/numbers").await?;
    let body = json!({"accountName": "wadesk", "wabaId": "1000000000000002", "phoneNumberId": "2000000000000003"});
    let bound = browser.call_api("/whatsapp/account/bind", &body).await?;
    ensure(bound["status"] == json!(200), format!("bind answered {bound}"))?;
    wait_for_attr(browser, "number-status", "data-status", "CONNECTED").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_number_goes_through_every_step_to_connected() {
    run("a_new_number_goes_through_every_step_to_connected", async |app| {
        open_onboarding(app).await?;
        let (app_window, popup) = launch(app, "signup-launch-cloud").await?;
        ensure(app.text_of("sandbox-flow").await?.contains("Cloud API"), "the popup runs the new-number flow")?;
        press_and_return(app, "sandbox-finish", &app_window, &popup).await?;

        wait_for_attr(app, "signup-status", "data-state", "connected").await?;
        for step in ["connecting", "exchanging", "registering", "connected"] {
            wait_for_attr(app, &format!("signup-step-{step}"), "data-status", "done").await?;
        }
        app.wait_for_text("number-display", ACME_NUMBER).await?;
        app.wait_for_text("number-verified-name", "Acme Trading").await?;
        wait_for_attr(app, "number-status", "data-status", "CONNECTED").await?;
        ensure(!app.text_of("number-quality").await?.is_empty(), "the quality is shown")?;
        ensure(app.text_of("number-limit").await?.contains("250"), "the messaging limit is shown")?;

        app.click("signup-go-numbers").await?;
        app.wait_for_path("/numbers").await?;
        app.wait_for_text("number-row", ACME_NUMBER).await?;
        Ok(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn coexistence_shows_the_contact_and_history_sync_until_done() {
    run("coexistence_shows_the_contact_and_history_sync_until_done", async |app| {
        open_onboarding(app).await?;
        let (app_window, popup) = launch(app, "signup-launch-coexistence").await?;
        ensure(app.text_of("sandbox-flow").await?.contains("coexistence"), "the popup runs the coexistence flow")?;
        press_and_return(app, "sandbox-finish", &app_window, &popup).await?;

        wait_for_attr(app, "signup-status", "data-state", "connected").await?;
        app.wait_for_testid("sync-progress").await?;
        wait_for_attr(app, "sync-progress", "data-state", "done").await?;
        wait_for_attr(app, "sync-history-progress", "data-percent", "100").await?;
        let contacts = app.by_testid("sync-contacts-count").await?.attr("data-count").await?.unwrap_or_default();
        ensure(contacts.parse::<u64>().unwrap_or(0) > 0, format!("contacts were imported ({contacts:?})"))?;
        ensure(!app.has_testid("sync-history-declined").await?, "history was shared")?;
        Ok(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn coexistence_without_shared_history_says_so() {
    run("coexistence_without_shared_history_says_so", async |app| {
        open_onboarding(app).await?;
        let (app_window, popup) = launch(app, "signup-launch-coexistence").await?;
        app.click("sandbox-decline-history").await?;
        press_and_return(app, "sandbox-finish", &app_window, &popup).await?;
        wait_for_attr(app, "signup-status", "data-state", "connected").await?;
        app.wait_for_testid("sync-history-declined").await?;
        wait_for_attr(app, "sync-history-progress", "data-state", "declined").await?;
        Ok(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_at_phone_verification_names_the_step_and_can_restart() {
    run("cancelling_at_phone_verification_names_the_step_and_can_restart", async |app| {
        open_onboarding(app).await?;
        let (app_window, popup) = launch(app, "signup-launch-cloud").await?;
        app.select("sandbox-cancel-step", "PHONE_NUMBER_VERIFICATION").await?;
        press_and_return(app, "sandbox-cancel", &app_window, &popup).await?;

        wait_for_attr(app, "signup-status", "data-state", "cancelled").await?;
        wait_for_attr(app, "signup-cancel-step", "data-step", "PHONE_NUMBER_VERIFICATION").await?;
        app.wait_for_text("signup-cancel-step", "Verify the phone number").await?;
        wait_for_attr(app, "signup-step-connecting", "data-status", "failed").await?;
        ensure(!app.has_testid("number-card").await?, "nothing was connected")?;
        ensure(app.by_testid("signup-launch-cloud").await?.is_enabled().await?, "a cancel frees the launch buttons")?;

        let (app_window, popup) = launch(app, "signup-restart").await?;
        press_and_return(app, "sandbox-finish", &app_window, &popup).await?;
        wait_for_attr(app, "signup-status", "data-state", "connected").await?;
        app.wait_for_text("number-display", ACME_NUMBER).await?;
        Ok(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reported_error_shows_the_message_code_and_session_id() {
    run("a_reported_error_shows_the_message_code_and_session_id", async |app| {
        open_onboarding(app).await?;
        let (app_window, popup) = launch(app, "signup-launch-cloud").await?;
        app.fill("sandbox-error-message", "The number is already on another account").await?;
        press_and_return(app, "sandbox-report-error", &app_window, &popup).await?;

        wait_for_attr(app, "signup-status", "data-state", "error").await?;
        app.wait_for_text("signup-error-message", "The number is already on another account").await?;
        app.wait_for_text("signup-error-code", "524126").await?;
        let session_id = app.text_of("signup-session-id").await?;
        ensure(session_id.trim().len() >= 8, format!("a session id for support, got {session_id:?}"))?;
        app.wait_for_testid("signup-restart").await?;
        Ok(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_code_may_arrive_before_or_after_the_session_info() {
    run("the_code_may_arrive_before_or_after_the_session_info", async |app| {
        open_onboarding(app).await?;
        // Code first, then the event.
        let (app_window, popup) = launch(app, "signup-launch-cloud").await?;
        app.select("sandbox-order", "code-first").await?;
        app.select("sandbox-message-version", "string").await?;
        press_and_return(app, "sandbox-finish", &app_window, &popup).await?;
        wait_for_attr(app, "signup-status", "data-state", "connected").await?;
        app.wait_for_text("number-display", ACME_NUMBER).await?;

        // Event first, then the code, for another portfolio.
        let (app_window, popup) = launch(app, "signup-launch-cloud").await?;
        app.select("sandbox-order", "event-first").await?;
        app.select("sandbox-portfolio", "1").await?;
        press_and_return(app, "sandbox-finish", &app_window, &popup).await?;
        wait_for_attr(app, "signup-status", "data-state", "connected").await?;
        app.wait_for_text("number-display", BAKERY_NUMBER).await?;
        Ok(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_double_click_starts_one_flow() {
    run("a_double_click_starts_one_flow", async |app| {
        open_onboarding(app).await?;
        let app_window = app.current_window().await?;
        let before = app.windows().await?;
        // Count FB.login calls, then click twice in the same task (faster than any re-render).
        app.execute(
            r#"const original = window.FB.login;
               window.__wadeskLogins = 0;
               window.FB.login = function () { window.__wadeskLogins += 1; return original.apply(this, arguments); };
               const button = document.querySelector('[data-testid="signup-launch-cloud"]');
               button.click();
               button.click();"#,
            vec![],
        )
        .await?;
        let popup = app.switch_to_new_window(&before).await?;
        app.switch_to_window(&app_window).await?;
        let logins = app.execute("return window.__wadeskLogins;", vec![]).await?;
        ensure(logins == json!(1), format!("FB.login ran once, not {logins}"))?;
        ensure(!app.by_testid("signup-launch-cloud").await?.is_enabled().await?, "the button is disabled while the flow runs")?;
        ensure(!app.by_testid("signup-launch-coexistence").await?.is_enabled().await?, "so is the other flow's")?;
        ensure(app.windows().await?.len() == before.len() + 1, "exactly one popup")?;

        app.switch_to_window(&popup).await?;
        press_and_return(app, "sandbox-finish", &app_window, &popup).await?;
        wait_for_attr(app, "signup-status", "data-state", "connected").await?;
        let numbers = app.call_api("/whatsapp/numbers/list", &json!({})).await?;
        let count = numbers["body"]["data"].as_array().map(Vec::len).unwrap_or(0);
        ensure(count == 1, format!("one number bound, found {count}"))?;
        Ok(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_from_an_untrusted_origin_changes_nothing() {
    run("a_message_from_an_untrusted_origin_changes_nothing", async |app| {
        open_onboarding(app).await?;
        let (app_window, real_popup) = launch(app, "signup-launch-cloud").await?;

        // The same sandbox popup, served from another origin (localhost instead of 127.0.0.1),
        // opened by the app window so that it can post to it: its FINISH names another WABA.
        app.switch_to_window(&app_window).await?;
        let app_origin = app.execute("return window.location.origin;", vec![]).await?;
        let app_origin = app_origin.as_str().unwrap_or_default().to_owned();
        let untrusted_origin = app_origin.replace("127.0.0.1", "localhost");
        ensure(untrusted_origin != app_origin, "the test server runs on 127.0.0.1")?;
        let base_path = app.base_path().to_owned();
        let dialog = format!("{untrusted_origin}{base_path}/sandbox/facebook/dialog?opener_origin={app_origin}");
        let before = app.windows().await?;
        app.execute("window.open(arguments[0], 'untrusted', 'popup=yes');", vec![json!(dialog)]).await?;
        let untrusted = app.switch_to_new_window(&before).await?;
        app.select("sandbox-portfolio", "1").await?;
        press_and_return(app, "sandbox-finish", &app_window, &untrusted).await?;

        // Nothing moved: still waiting in the Facebook step.
        wait_for_attr(app, "signup-status", "data-state", "running").await?;
        wait_for_attr(app, "signup-step-connecting", "data-status", "active").await?;
        ensure(!app.has_testid("number-card").await?, "no number from the untrusted message")?;

        // The real popup finishes with the first portfolio: that number, not the untrusted one, is bound.
        app.switch_to_window(&real_popup).await?;
        press_and_return(app, "sandbox-finish", &app_window, &real_popup).await?;
        wait_for_attr(app, "signup-status", "data-state", "connected").await?;
        app.wait_for_text("number-display", ACME_NUMBER).await?;
        let numbers = app.call_api("/whatsapp/numbers/list", &json!({})).await?;
        let bound: Vec<String> = numbers["body"]["data"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|number| number["displayPhoneNumber"].as_str().map(str::to_owned))
            .collect();
        ensure(bound == vec![ACME_NUMBER.to_owned()], format!("only the trusted number is bound: {bound:?}"))?;
        Ok(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binding_by_hand_checks_fields_and_adds_the_number() {
    run("binding_by_hand_checks_fields_and_adds_the_number", async |app| {
        open_onboarding(app).await?;
        let callback_url = app.text_of("webhook-callback-url").await?;
        ensure(callback_url.starts_with("http"), format!("a webhook callback URL to paste: {callback_url:?}"))?;
        ensure(!app.text_of("webhook-verify-token").await?.trim().is_empty(), "a verify token to paste")?;

        app.click("bind-submit").await?;
        app.wait_for_testid("field-error-wabaId").await?;
        app.wait_for_testid("field-error-phoneNumberId").await?;

        // The form applies the server's rules: Meta's ids are digits, so letters are refused here.
        app.fill("bind-waba-id", "waba-abc-123").await?;
        app.fill("bind-phone-number-id", "2000000000000005").await?;
        app.click("bind-submit").await?;
        app.wait_for_testid("field-error-wabaId").await?;
        ensure(!app.has_testid("field-error-phoneNumberId").await?, "a valid id has no error")?;
        // A display number WhatsApp contradicts is refused beside the field, nothing is bound.
        app.fill("bind-waba-id", "1000000000000003").await?;
        app.fill("bind-phone-number", "+1 555 999 0000").await?;
        app.click("bind-submit").await?;
        app.wait_for_testid("field-error-phoneNumber").await?;
        ensure(!app.has_testid("bind-success").await?, "nothing was bound")?;
        // The number WhatsApp reports, written another way, is the same number.
        app.fill("bind-phone-number", "+1 (555) 0104").await?;

        app.fill("bind-waba-id", "1000000000000003").await?;
        app.fill("bind-phone-number-id", "2000000000000005").await?;
        app.click("bind-submit").await?;
        app.wait_for_testid("bind-success").await?;
        ensure(!app.has_testid("field-error-wabaId").await?, "the field errors are gone")?;

        app.click("bind-go-numbers").await?;
        app.wait_for_path("/numbers").await?;
        app.wait_for_text("number-row", "+1 555-0104").await?;
        app.wait_for_text("waba-name", "Harbor Clinic").await?;
        Ok(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_numbers_page_updates_live_and_removes_after_confirming() {
    run("the_numbers_page_updates_live_and_removes_after_confirming", async |app| {
        app.login_admin().await?;
        app.goto("/numbers").await?;
        app.wait_for_testid("numbers-empty").await?;
        // Marks this page load: a reload would lose it.
        app.execute("window.__wadeskSamePage = true;", vec![]).await?;

        let bound = app
            .call_api(
                "/whatsapp/account/bind",
                &json!({"accountName": "wadesk", "wabaId": "1000000000000002", "phoneNumberId": "2000000000000003"}),
            )
            .await?;
        ensure(bound["status"] == json!(200), format!("bind answered {bound}"))?;

        app.wait_for_text("number-row", BAKERY_NUMBER).await?;
        app.wait_for_text("waba-name", "Blue Bakery").await?;
        wait_for_attr(app, "number-status", "data-status", "CONNECTED").await?;
        ensure(app.execute("return window.__wadeskSamePage === true;", vec![]).await? == json!(true), "no reload happened")?;

        // Remove: the dialog explains the Meta side; cancelling keeps the number.
        app.click("number-remove").await?;
        let dialog = app.text_of("remove-dialog").await?;
        ensure(dialog.contains("webhook") && dialog.contains("system user"), format!("the dialog says what to undo at Meta: {dialog:?}"))?;
        // A modal: focus starts on its safe choice, Escape closes it and focus goes back.
        let focused = || app.execute("return document.activeElement && document.activeElement.dataset.testid", vec![]);
        app.wait_until("focus on the cancel button", async || Ok((focused().await? == json!("remove-cancel")).then_some(()))).await?;
        app.client.active_element().await?.send_keys("\u{e00c}").await?;
        app.wait_for_testid_gone("remove-dialog").await?;
        ensure(focused().await? == json!("number-remove"), "focus returns to the Remove button")?;
        app.click("number-remove").await?;
        app.click("remove-cancel").await?;
        app.wait_for_testid_gone("remove-dialog").await?;
        app.wait_for_testid("number-row").await?;

        app.click("number-remove").await?;
        app.click("remove-confirm").await?;
        app.wait_for_testid("remove-done").await?;
        app.wait_for_testid_gone("number-row").await?;
        Ok(())
    })
    .await;
}

/// WhatsApp disconnects a number (Meta's `PARTNER_REMOVED` webhook, signed with the app secret):
/// the Numbers page turns it DISCONNECTED live and says why, in the chosen language.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disconnected_number_says_why_on_the_numbers_page() {
    const APP_SECRET: &str = "e2e-meta-app-secret";
    let setup = Setup::default().settings(|settings| settings.meta_app_secret = Some(APP_SECRET.to_owned()));
    run_with("a_disconnected_number_says_why_on_the_numbers_page", setup, async |app| {
        bind_bakery_number(app).await?;
        ensure(!app.has_testid("number-disconnect-reason").await?, "a connected number has no disconnect notice")?;

        let removed = json!({"object": "whatsapp_business_account", "entry": [{"id": "1000000000000002", "changes": [{
            "field": "account_update",
            "value": {"event": "PARTNER_REMOVED", "waba_info": {"waba_id": "1000000000000002"}, "disconnection_info": {"reason": "PRIMARY_INACTIVITY"}}}]}]})
        .to_string();
        let signature = meta_signature(APP_SECRET, removed.as_bytes());
        let status = app
            .client
            .execute_async(
                r#"
                const [url, body, signature, done] = arguments;
                fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-hub-signature-256': signature }, body })
                    .then((response) => done(response.status), (error) => done(String(error)));
                "#,
                vec![json!(format!("{}/webhooks/meta", app.server_url())), json!(removed), json!(signature)],
            )
            .await?;
        ensure(status == json!(200), format!("the webhook answered {status}"))?;

        wait_for_attr(app, "number-status", "data-status", "DISCONNECTED").await?;
        wait_for_attr(app, "number-disconnect-reason", "data-reason", "PRIMARY_INACTIVITY").await?;
        let english = app.text_of("number-disconnect-reason").await?;
        ensure(english.contains("14 days") && english.contains("Onboarding"), format!("the notice says why and what to do: {english:?}"))?;

        ensure(!app.has_testid("number-retry-registration").await?, "registering again cannot help: the notice says what can")?;

        app.select("language-switch", "zh-CN").await?;
        app.wait_for_text("number-disconnect-reason", "14 天").await?;
        app.click("number-reconnect").await?;
        app.wait_for_path("/onboarding").await?;
        Ok(())
    })
    .await;
}

/// In sandbox mode a number's settings can make WhatsApp flag it, raise its limit or disconnect it;
/// the row follows each change.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sandbox_makes_whatsapp_flag_upgrade_and_disconnect_a_number() {
    run("the_sandbox_makes_whatsapp_flag_upgrade_and_disconnect_a_number", async |app| {
        bind_bakery_number(app).await?;
        let limit_before = app.text_of("number-limit").await?;

        app.click("number-settings").await?;
        app.click("sandbox-simulate-flagged").await?;
        wait_for_attr(app, "number-status", "data-status", "FLAGGED").await?;
        app.click("sandbox-simulate-unflagged").await?;
        wait_for_attr(app, "number-status", "data-status", "CONNECTED").await?;
        app.click("sandbox-simulate-limit-raised").await?;
        app.wait_until("the messaging limit to go up", async || {
            let limit = app.text_of("number-limit").await?;
            Ok((limit != limit_before).then_some(limit))
        })
        .await?;
        app.click("sandbox-simulate-disconnected").await?;
        wait_for_attr(app, "number-disconnect-reason", "data-reason", "PRIMARY_INACTIVITY").await?;
        wait_for_attr(app, "number-status", "data-status", "DISCONNECTED").await
    })
    .await;
}
