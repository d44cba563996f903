//! Screenshots of the main screens in English and Chinese, to look at what we build:
//! `cargo test -p wadesk-e2e --test screens -- --ignored` writes `tests/e2e/screenshots/screen-*.png`.
//! Ignored by default: it asserts nothing beyond the screens loading.

use wadesk_e2e::{json, repository_root, run};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "writes screenshots for people to look at; run with --ignored"]
async fn screenshots_of_the_main_screens() {
    run("screenshots_of_the_main_screens", async |app| {
        let folder = repository_root().join("tests/e2e/screenshots");
        app.devtools("Emulation.setDeviceMetricsOverride", json!({"width": 1280, "height": 860, "deviceScaleFactor": 1, "mobile": false}))
            .await?;
        for language in ["en", "zh-CN"] {
            app.goto("/login").await?;
            app.wait_for_testid("login-submit").await?;
            app.select("language-switch", language).await?;
            app.screenshot(&folder.join(format!("screen-login-{language}.png"))).await?;
            app.login_admin().await?;
            app.wait_for_path("/onboarding").await?;
            app.wait_for_testid("bind-submit").await?;
            app.fill("bind-waba-id", "waba-abc").await?;
            app.fill("bind-phone-number-id", "2000000000000005").await?;
            app.fill("bind-phone-number", "+1 555 999 0000").await?;
            app.click("bind-submit").await?;
            app.wait_for_testid("field-error-wabaId").await?;
            app.execute("document.querySelector('[data-testid=\"bind-submit\"]').scrollIntoView({block: 'center'});", vec![]).await?;
            app.screenshot(&folder.join(format!("screen-bind-errors-{language}.png"))).await?;
            app.fill("bind-waba-id", "1000000000000003").await?;
            app.fill("bind-phone-number", "+1 555-0104").await?;
            app.click("bind-submit").await?;
            app.wait_for_testid("bind-success").await?;
            app.goto("/numbers").await?;
            app.wait_for_testid("number-row").await?;
            app.screenshot(&folder.join(format!("screen-numbers-{language}.png"))).await?;

            // A page whose code is still on its way (a slow link): its skeleton inside the frame.
            app.devtools("Network.enable", json!({})).await?;
            app.devtools("Network.setCacheDisabled", json!({ "cacheDisabled": true })).await?;
            let slow = json!({"offline": false, "latency": 4000, "downloadThroughput": 20000, "uploadThroughput": 20000});
            app.devtools("Network.emulateNetworkConditions", slow).await?;
            app.click("nav-inbox").await?;
            app.wait_for_testid("page-skeleton").await?;
            app.screenshot(&folder.join(format!("screen-skeleton-{language}.png"))).await?;
            let normal = json!({"offline": false, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1});
            app.devtools("Network.emulateNetworkConditions", normal).await?;
            app.wait_for_testid("inbox-page").await?;

            // A page whose code cannot be downloaded: the retry.
            app.devtools("Network.setBlockedURLs", json!({ "urls": ["*split_team_page_chunk*"] })).await?;
            app.click("nav-team").await?;
            app.wait_for_testid("page-load-error").await?;
            app.screenshot(&folder.join(format!("screen-page-load-error-{language}.png"))).await?;
            app.devtools("Network.setBlockedURLs", json!({ "urls": [] })).await?;
            app.logout().await?;
        }
        Ok(())
    })
    .await;
}
