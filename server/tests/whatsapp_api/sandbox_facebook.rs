//! The sandbox's stand-in Facebook: the SDK script, the popup page (its controls and escaping),
//! the code minting, and their absence in live mode. (Driving the popup in Chromium is the
//! end-to-end suite's job.)

use api_types::ErrorCode;
use serde_json::json;

use crate::both_stores;
use crate::support::*;

const POPUP_TEST_IDS: &[&str] = &[
    "sandbox-portfolio",
    "sandbox-number",
    "sandbox-order",
    "sandbox-finish",
    "sandbox-finish-kind",
    "sandbox-cancel",
    "sandbox-cancel-step",
    "sandbox-report-error",
    "sandbox-error-message",
    "sandbox-decline-history",
    "sandbox-close",
];

fn live(settings: &mut wadesk_server::Settings) {
    settings.mode = wadesk_server::Mode::Live;
    settings.upstream = wadesk_server::settings::UpstreamKind::Meta;
    settings.secret_key = Some("a live secret key for tests".to_owned());
    // Nothing listens here; these tests never reach the upstream.
    settings.upstream_url = Some("http://127.0.0.1:9".to_owned());
}

both_stores! {
    async fn the_sdk_defines_fb_and_calls_fb_async_init(server) {
        let response = server.client.get(format!("{}/sandbox/facebook/sdk.js", server.url)).send().await.unwrap();
        assert_eq!(response.status(), 200);
        let content_type = response.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(content_type.starts_with("text/javascript"), "{content_type}");
        let script = response.text().await.unwrap();
        for needle in ["window.FB = {", "init:", "login:", "getLoginStatus:", "window.fbAsyncInit()", "WADESK_SANDBOX_LOGIN", "status: 'unknown'", "popup.closed"] {
            assert!(script.contains(needle), "the SDK lacks {needle}");
        }
    }

    async fn the_popup_offers_every_control_and_escapes_what_it_echoes(server) {
        let url = format!(
            "{}/sandbox/facebook/dialog?config_id=%3Cscript%3Ealert(1)%3C/script%3E&feature_type=whatsapp_business_app_onboarding&opener_origin={}",
            server.url, server.origin
        );
        let response = server.client.get(&url).send().await.unwrap();
        assert_eq!(response.status(), 200);
        let page = response.text().await.unwrap();
        for id in POPUP_TEST_IDS {
            assert!(page.contains(&format!("data-testid=\"{id}\"")), "no {id}");
        }
        assert!(!page.contains("<script>alert(1)"), "the config id is echoed raw");
        assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(page.contains("<option value=\"FINISH_WHATSAPP_BUSINESS_APP_ONBOARDING\" selected>"));
        for step in ["BUSINESS_ACCOUNT_SELECTION", "PHONE_NUMBER_VERIFICATION", "PERMISSIONS"] {
            assert!(page.contains(step), "no cancel step {step}");
        }
        assert!(page.contains(&format!("var OPENER_ORIGIN = \"{}\";", server.origin)));
        assert!(page.contains("'WA_EMBEDDED_SIGNUP'"));
        assert!(page.contains("+1 555-0100"));
    }

    async fn codes_are_minted_for_valid_ids_only(server) {
        let reply = post_public(&server, "/sandbox/facebook/oauth/code", &json!({"waba_id": "not-digits"})).await;
        reply.assert_error(400, ErrorCode::Validation);
        assert_eq!(reply.field_errors(), [("waba_id".to_owned(), "invalid".to_owned())]);
        let minted = post_public(&server, "/sandbox/facebook/oauth/code", &json!({"waba_id": ACME_WABA, "phone_number_id": ACME_NUMBER})).await;
        let data = minted.data();
        assert_eq!(data["expires_in"], 30);
        assert!(data["code"].as_str().unwrap().len() >= 32);
        let other = mint_code(&server, ACME_WABA, Some(ACME_NUMBER), false).await;
        assert_ne!(data["code"].as_str().unwrap(), other);
    }

    async fn live_mode_has_no_sandbox_pages(server, live) {
        for path in ["/sandbox/facebook/sdk.js", "/sandbox/facebook/dialog"] {
            let response = server.client.get(format!("{}{path}", server.url)).send().await.unwrap();
            assert_eq!(response.status(), 404, "{path}");
        }
        let reply = post_public(&server, "/sandbox/facebook/oauth/code", &json!({"waba_id": ACME_WABA})).await;
        reply.assert_error(404, ErrorCode::NotFound);
    }
}

both_stores! {
    async fn everything_lives_under_the_base_path(server, |settings| settings.base_path = "/console".to_owned()) {
        assert!(server.url.ends_with("/console"));
        let sdk = server.client.get(format!("{}/sandbox/facebook/sdk.js", server.url)).send().await.unwrap();
        assert_eq!(sdk.status(), 200);
        // The SDK finds the dialog next to itself, so it needs no base path of its own.
        assert!(sdk.text().await.unwrap().contains("new URL('dialog', here)"));
        let admin = server.admin_client().await;
        let settings = server.post_as(&admin, "/whatsapp/webhookSettings", &json!({})).await;
        assert_eq!(settings.data()["callbackUrl"], format!("{}/console/webhooks/meta", server.origin));
        let done = sign_up_number(&server, &admin, ACME_WABA, ACME_NUMBER, "cloud").await;
        assert_eq!(done["number"]["phoneNumberId"], ACME_NUMBER);
    }
}
