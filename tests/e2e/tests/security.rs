//! The Content-Security-Policy in a real browser (issue 7 §3): every screen runs with no
//! `securitypolicyviolation` at all, and an inline script injected into the page does not run.

use wadesk_e2e::{ensure, json, run, Browser, E2eResult, Json, ADMIN_EMAIL, ADMIN_PASSWORD};

/// Record every violation, across full page loads (kept in sessionStorage), from before the
/// page's own scripts run.
const RECORD_VIOLATIONS: &str = r#"
document.addEventListener('securitypolicyviolation', function (event) {
  var seen = JSON.parse(sessionStorage.getItem('csp-violations') || '[]');
  seen.push(location.pathname + ': ' + event.effectiveDirective + ' blocked ' + (event.blockedURI || 'inline'));
  sessionStorage.setItem('csp-violations', JSON.stringify(seen));
});
"#;

async fn record_violations(app: &Browser) -> E2eResult {
    app.devtools("Page.enable", json!({})).await?;
    app.devtools("Page.addScriptToEvaluateOnNewDocument", json!({ "source": RECORD_VIOLATIONS })).await?;
    Ok(())
}

async fn violations(app: &Browser) -> E2eResult<Vec<String>> {
    let seen = app.execute("return sessionStorage.getItem('csp-violations') || '[]';", vec![]).await?;
    let list: Vec<String> = serde_json::from_str(seen.as_str().unwrap_or("[]")).unwrap_or_default();
    app.execute("sessionStorage.removeItem('csp-violations');", vec![]).await?;
    Ok(list)
}

async fn csp_header(app: &Browser, path: &str) -> E2eResult<String> {
    let script = "return fetch(arguments[0], {credentials: 'same-origin'}).then(r => r.headers.get('content-security-policy') || '');";
    let value: Json = app.execute(script, vec![json!(app.url(path))]).await?;
    Ok(value.as_str().unwrap_or("").to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_screen_runs_under_the_policy_without_a_violation() {
    run("every_screen_runs_under_the_policy_without_a_violation", async |app| {
        record_violations(app).await?;
        app.goto("/login").await?;
        app.wait_for_testid("login-submit").await?;
        let policy = csp_header(app, "/login").await?;
        for directive in ["default-src 'self'", "script-src 'self' 'wasm-unsafe-eval'", "object-src 'none'", "base-uri 'self'", "frame-ancestors"] {
            ensure(policy.contains(directive), format!("the policy has {directive}: {policy}"))?;
        }
        ensure(!policy.contains("unsafe-inline"), format!("no unsafe-inline: {policy}"))?;
        app.goto("/signup").await?;
        app.wait_for_testid("signup-submit").await?;
        app.goto("/login").await?;
        app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await?;
        app.wait_for_path("/onboarding").await?;
        app.goto("/numbers").await?;
        app.wait_for_path("/numbers").await?;
        app.goto("/no-such-page").await?;
        app.wait_for_testid("not-found-page").await?;
        // The sandbox's Embedded Signup popup page, opened where the listener runs.
        app.goto("/sandbox/facebook/dialog?config_id=sandbox-config&feature_type=&opener_origin=").await?;
        app.wait_for_testid("sandbox-close").await?;
        let seen = violations(app).await?;
        ensure(seen.is_empty(), format!("no screen breaks the policy: {seen:?}"))?;
        Ok(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_injected_inline_script_does_not_run() {
    run("an_injected_inline_script_does_not_run", async |app| {
        record_violations(app).await?;
        app.goto("/login").await?;
        app.wait_for_testid("login-submit").await?;
        let ran = app
            .execute(
                "var s = document.createElement('script'); s.textContent = 'window.__injected = true;'; \
                 document.body.appendChild(s); \
                 var i = document.createElement('img'); i.setAttribute('onerror', 'window.__handler = true'); i.src = 'data:,x'; \
                 document.body.appendChild(i); \
                 return new Promise(function (done) { setTimeout(function () { done([window.__injected === true, window.__handler === true]); }, 300); });",
                vec![],
            )
            .await?;
        ensure(ran == json!([false, false]), format!("neither the injected script nor the handler ran: {ran}"))?;
        let seen = violations(app).await?;
        ensure(seen.iter().any(|violation| violation.contains("script-src")), format!("the browser reported the blocked script: {seen:?}"))?;
        Ok(())
    })
    .await;
}
