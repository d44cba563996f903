//! The app shell in a real browser: logging in and out, sign-up, guarded routes, deep links,
//! languages, tenant isolation, 404, and hosting under a sub-path.

use wadesk_e2e::{
    dist_console_dir, ensure, json, run, run_with, Browser, E2eResult, Json, Setup, StaticHost, ADMIN_ACCOUNT, ADMIN_EMAIL,
    ADMIN_PASSWORD,
};

fn has_chinese(text: &str) -> bool {
    text.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
}

/// Wait for the login page carrying `next` (compared decoded: `%2Fnumbers` and `/numbers` are
/// the same query value).
async fn wait_for_login_with_next(browser: &Browser, next: &str) -> E2eResult {
    let wanted = format!("/login?next={next}");
    browser
        .wait_for_url(&wanted, |url| {
            url.path().ends_with("/login") && url.query_pairs().any(|(key, value)| key == "next" && value == next)
        })
        .await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_shows_an_error_and_stays_on_login() {
    run("a_wrong_password_shows_an_error_and_stays_on_login", async |app| {
        app.goto("/login").await?;
        app.submit_login(ADMIN_EMAIL, "not-the-password").await?;
        let error = app.wait_for_testid("login-error").await?;
        ensure(!error.text().await?.trim().is_empty(), "the login error says something")?;
        ensure(app.current_path().await?.starts_with("/login"), "still on the login page")?;
        ensure(!app.has_testid("topbar-account-name").await?, "no app frame without a session")?;
        Ok(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logging_in_shows_account_user_and_role() {
    run("logging_in_shows_account_user_and_role", async |app| {
        app.login_admin().await?;
        app.wait_for_path("/onboarding").await?;
        app.wait_for_text("topbar-account-name", ADMIN_ACCOUNT).await?;
        let user_name = app.text_of("topbar-user-name").await?;
        ensure(!user_name.trim().is_empty(), "the top bar names the user")?;
        let role = app.text_of("topbar-user-role").await?;
        ensure(role.to_lowercase().contains("admin"), format!("the role reads admin, not {role:?}"))?;
        Ok(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guarded_page_sends_to_login_and_back() {
    run("a_guarded_page_sends_to_login_and_back", async |app| {
        app.goto("/numbers").await?;
        wait_for_login_with_next(app, "/numbers").await?;
        app.submit_login(ADMIN_EMAIL, ADMIN_PASSWORD).await?;
        app.wait_for_path("/numbers").await?;
        app.wait_for_current_nav("nav-numbers").await
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deep_link_survives_a_reload() {
    run("a_deep_link_survives_a_reload", async |app| {
        app.login_admin().await?;
        app.goto("/team").await?;
        app.wait_for_current_nav("nav-team").await?;
        app.refresh().await?;
        app.wait_for_testid("topbar-account-name").await?;
        app.wait_for_current_nav("nav-team").await?;
        ensure(app.current_path().await? == "/team", "the reload stayed on /team")?;
        ensure(!app.has_testid("not-found-page").await?, "the deep link is not a 404")
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_language_switch_changes_the_text_and_is_remembered() {
    run("the_language_switch_changes_the_text_and_is_remembered", async |app| {
        app.login_admin().await?;
        let english = app.text_of("nav-numbers").await?;
        ensure(!has_chinese(&english), format!("starts in English, not {english:?}"))?;

        app.select("language-switch", "zh-CN").await?;
        let chinese_nav = async || {
            app.wait_until("the navigation to be in Chinese", async || {
                let text = app.by_testid("nav-numbers").await?.text().await?;
                let lang = app.execute("return document.documentElement.lang", vec![]).await?;
                Ok((has_chinese(&text) && lang == json!("zh-CN")).then_some(text))
            })
            .await
        };
        chinese_nav().await?;

        app.refresh().await?;
        app.wait_for_testid("topbar-account-name").await?;
        chinese_nav().await?;
        Ok(())
    })
    .await;
}

/// The tab is titled after the page, in the current language: a user with many tabs finds it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tab_title_names_the_page_in_the_current_language() {
    run("the_tab_title_names_the_page_in_the_current_language", async |app| {
        let title_is = async |expected: &str| {
            app.wait_until(&format!("the tab title {expected:?}"), async || {
                let title = app.execute("return document.title", vec![]).await?;
                Ok((title == json!(expected)).then_some(()))
            })
            .await
        };
        app.goto("/login").await?;
        title_is("Log in · wadesk").await?;
        app.login_admin().await?;
        app.goto("/numbers").await?;
        title_is("Numbers · wadesk").await?;
        app.select("language-switch", "zh-CN").await?;
        title_is("号码管理 · wadesk").await?;
        app.goto("/team").await?;
        title_is("团队 · wadesk").await
    })
    .await;
}

/// A first visit from a browser set to Chinese opens in Chinese; a pick in the switch still wins.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chinese_browser_opens_in_chinese_until_the_user_picks() {
    run("a_chinese_browser_opens_in_chinese_until_the_user_picks", async |app| {
        let user_agent = app.execute("return navigator.userAgent", vec![]).await?;
        app.devtools("Emulation.setUserAgentOverride", json!({ "userAgent": user_agent, "acceptLanguage": "zh-CN,zh;q=0.9,en;q=0.8" })).await?;
        app.goto("/login").await?;
        let chinese_login = app.wait_until("the login page to be in Chinese", async || {
            let text = app.by_testid("login-submit").await?.text().await?;
            Ok(has_chinese(&text).then_some(text))
        });
        chinese_login.await?;

        app.select("language-switch", "en").await?;
        app.refresh().await?;
        app.wait_until("the remembered English to win over the browser", async || {
            let text = app.by_testid("login-submit").await?.text().await?;
            Ok((!text.is_empty() && !has_chinese(&text)).then_some(text))
        })
        .await?;
        Ok(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logging_out_returns_to_login_and_guards_again() {
    run("logging_out_returns_to_login_and_guards_again", async |app| {
        app.login_admin().await?;
        app.wait_for_testid("topbar-account-name").await?;
        app.logout().await?;
        app.wait_for_testid("login-submit").await?;

        app.goto("/onboarding").await?;
        wait_for_login_with_next(app, "/onboarding").await?;
        let me = app.call_api("/auth/me", &json!({})).await?;
        ensure(me["status"] == json!(401), format!("the session is gone on the server: {me}"))
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_up_creates_an_account_and_enters_the_app() {
    run("signing_up_creates_an_account_and_enters_the_app", async |app| {
        app.goto("/login").await?;
        app.click("login-signup-link").await?;
        app.wait_for_path("/signup").await?;
        app.signup("acme-trading", "Ada Lovelace", "ada@acme.example", "a-long-password-1").await?;
        app.wait_for_text("topbar-account-name", "acme-trading").await?;
        app.wait_for_text("topbar-user-name", "Ada Lovelace").await?;
        let role = app.text_of("topbar-user-role").await?;
        ensure(role.to_lowercase().contains("admin"), format!("the first user of an account is its admin, not {role:?}"))?;

        // The new account's admin can log in again with the password chosen at sign-up.
        app.logout().await?;
        app.login("ada@acme.example", "a-long-password-1").await?;
        app.wait_for_text("topbar-account-name", "acme-trading").await?;
        Ok(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accounts_do_not_see_each_other() {
    run("accounts_do_not_see_each_other", async |app| {
        app.login_admin().await?;
        app.wait_for_text("topbar-account-name", ADMIN_ACCOUNT).await?;

        // Account B signs up in a browser of its own (no shared cookies or storage).
        let other = app.open_browser().await?;
        other.signup("globex", "Hank Scorpio", "hank@globex.example", "another-long-password").await?;
        other.wait_for_text("topbar-account-name", "globex").await?;

        let me = other.call_api("/auth/me", &json!({})).await?;
        ensure(me["status"] == json!(200), format!("B is logged in: {me}"))?;
        let data = &me["body"]["data"];
        ensure(data["accountName"] == json!("globex"), format!("B's session belongs to B's account: {me}"))?;
        ensure(!me.to_string().contains(ADMIN_EMAIL), "B's view names none of A's users")?;

        other.goto("/team").await?;
        other.wait_for_testid("topbar-account-name").await?;
        let team_page = other.client.source().await?;
        ensure(!team_page.contains(ADMIN_EMAIL), "B's team page does not list A's admin")?;

        // A's session is untouched by B's sign-up.
        app.refresh().await?;
        app.wait_for_text("topbar-account-name", ADMIN_ACCOUNT).await?;
        let mine = app.call_api("/auth/me", &json!({})).await?;
        ensure(mine["body"]["data"]["accountName"] == json!(ADMIN_ACCOUNT), format!("A is still A: {mine}"))
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_path_shows_not_found() {
    run("an_unknown_path_shows_not_found", async |app| {
        app.login_admin().await?;
        app.goto("/no-such-page").await?;
        app.wait_for_testid("not-found-page").await?;
        ensure(app.current_path().await? == "/no-such-page", "the 404 keeps the URL")
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_sub_path_build_works() {
    run_with("the_console_sub_path_build_works", Setup::sub_path("/console"), async |app| {
        ensure(app.base_path() == "/console", "the server runs under /console")?;
        app.login_admin().await?;
        app.wait_for_testid("topbar-account-name").await?;
        ensure(app.current_url().await?.path().starts_with("/console/"), "the app stays under /console")?;

        app.goto("/numbers").await?;
        app.wait_for_current_nav("nav-numbers").await?;
        app.refresh().await?;
        app.wait_for_testid("topbar-account-name").await?;
        app.wait_for_current_nav("nav-numbers").await?;
        ensure(app.current_url().await?.path() == "/console/numbers", "the deep link reloads under /console")?;

        // Every script, stylesheet and preload the page references lives under /console/ and loads.
        let assets = app
            .client
            .execute_async(
                r#"
                const done = arguments[0];
                const urls = [...document.querySelectorAll('script[src], link[href]')]
                    .map((element) => element.src || element.href)
                    .filter((url) => url.startsWith(location.origin));
                Promise.all(urls.map((url) => fetch(url).then((response) => ({ url, status: response.status }))))
                    .then(done, (error) => done(String(error)));
                "#,
                vec![],
            )
            .await?;
        let assets = assets.as_array().ok_or(format!("asset check failed: {assets}"))?;
        ensure(assets.iter().any(|asset| asset["url"].as_str().is_some_and(|url| url.ends_with(".wasm"))), format!("the page preloads its wasm: {assets:?}"))?;
        for asset in assets {
            let url = asset["url"].as_str().unwrap_or_default();
            ensure(url.contains("/console/"), format!("{url} is outside /console/"))?;
            ensure(asset["status"] == json!(200), format!("{url} answered {}", asset["status"]))?;
        }
        Ok(())
    })
    .await;
}

/// A partner hosts the `/console/` bundle on its own static host and points `config.json` at the
/// wadesk server on another origin: log-in, the session cookie and deep links work through CORS.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_console_hosted_on_another_origin_uses_the_api_through_cors() {
    let mut host = StaticHost::bind().await.expect("a port for the static host");
    let console_origin = host.origin().to_owned();
    let setup = Setup::default().settings(move |settings| settings.cors_origins = vec![console_origin]);
    run_with("a_console_hosted_on_another_origin_uses_the_api_through_cors", setup, async |app| {
        let mut config: Json = serde_json::from_str(&std::fs::read_to_string(dist_console_dir().join("config.json"))?)?;
        config["apiBaseUrl"] = json!(app.server_url());
        host.serve(dist_console_dir(), "/console", config.to_string());
        let console = format!("{}/console", host.origin());

        app.client.goto(&format!("{console}/numbers")).await?;
        app.wait_for_testid("login-submit").await?;
        let login_url = app.current_url().await?;
        ensure(login_url.as_str().starts_with(&format!("{console}/login")), format!("logged out, the static host shows its login: {login_url}"))?;

        app.submit_login(ADMIN_EMAIL, ADMIN_PASSWORD).await?;
        app.wait_for_text("topbar-account-name", ADMIN_ACCOUNT).await?;
        app.wait_for_current_nav("nav-numbers").await?;
        let page = app.current_url().await?;
        ensure(page.as_str() == format!("{console}/numbers"), format!("back on the page asked for, on the static host: {page}"))?;

        // The session cookie belongs to the API's origin and goes along on every call after a reload.
        app.refresh().await?;
        app.wait_for_text("topbar-account-name", ADMIN_ACCOUNT).await?;
        app.wait_for_current_nav("nav-numbers").await?;
        Ok(())
    })
    .await;
}
