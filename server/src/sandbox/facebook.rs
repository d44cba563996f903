//! The sandbox's stand-in for Facebook: `GET {base}/sandbox/facebook/sdk.js` (a tiny `window.FB`),
//! `GET {base}/sandbox/facebook/dialog` (the Embedded Signup popup a tester drives), and
//! `POST {base}/sandbox/facebook/oauth/code` (mints the single-use 30-second code).
//!
//! The popup talks to the page that opened it exactly like Meta's: `postMessage` of a JSON string
//! `{type: 'WA_EMBEDDED_SIGNUP', event, data, version}` to the opener's origin. The code travels
//! separately, as `{type: 'WADESK_SANDBOX_LOGIN', code}`, which only the stand-in SDK reads and
//! turns into the `FB.login` callback. Everything answers 404 outside sandbox mode.

use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::{Deserialize, Serialize};

use crate::web::error::{ok, ApiError, ApiResult};
use crate::web::ApiJson;
use crate::state::AppState;
use crate::sandbox::upstream::{SandboxGrant, SandboxUpstream, CODE_LIFETIME, PORTFOLIOS};
use api_types::validation;

/// The steps Meta reports in `CANCEL` (facts file).
pub const CANCEL_STEPS: &[&str] = &[
    "BUSINESS_ACCOUNT_SELECTION",
    "WABA_PHONE_PROFILE_PICKER",
    "WHATSAPP_BUSINESS_PROFILE_SETUP",
    "PHONE_NUMBER_SETUP",
    "PHONE_NUMBER_VERIFICATION",
    "PERMISSIONS",
];

/// The finish events the popup can send.
pub const FINISH_KINDS: &[&str] = &[
    "FINISH",
    "FINISH_WHATSAPP_BUSINESS_APP_ONBOARDING",
    "FINISH_ONLY_WABA",
    "FINISH_OBO_MIGRATION",
    "FINISH_GRANT_ONLY_API_ACCESS",
];

pub const COEXISTENCE_FEATURE: &str = "whatsapp_business_app_onboarding";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/sandbox/facebook/sdk.js", get(sdk_js))
        .route("/sandbox/facebook/dialog", get(dialog))
        .route("/sandbox/facebook/oauth/code", post(mint_code))
}

fn sandbox_of(state: &AppState) -> Result<&SandboxUpstream, ApiError> {
    state
        .sandbox
        .as_deref()
        .ok_or_else(|| ApiError::not_found("The sandbox Facebook pages exist only in sandbox mode"))
}

fn no_store(content_type: &'static str, body: String) -> Response {
    ([(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, "no-store")], body).into_response()
}

async fn sdk_js(State(state): State<AppState>) -> Response {
    if let Err(error) = sandbox_of(&state) {
        return error.into_response();
    }
    no_store("text/javascript; charset=utf-8", SDK_JS.to_owned())
}

#[derive(Debug, Deserialize)]
struct DialogQuery {
    #[serde(default)]
    config_id: String,
    #[serde(default)]
    feature_type: String,
    #[serde(default)]
    opener_origin: String,
}

async fn dialog(State(state): State<AppState>, Query(query): Query<DialogQuery>) -> Response {
    if let Err(error) = sandbox_of(&state) {
        return error.into_response();
    }
    // Its own inline style and script carry the response's nonce; nothing injected runs.
    let mut page = crate::web::headers::html_page(
        &dialog_html(&query.config_id, &query.feature_type, &query.opener_origin),
        &crate::web::headers::PagePolicy::default(),
        false,
    );
    page.headers_mut().insert(header::CACHE_CONTROL, axum::http::HeaderValue::from_static("no-store"));
    page
}

/// `POST {base}/sandbox/facebook/oauth/code`: what the tester picked in the popup.
#[derive(Debug, Deserialize)]
struct MintCodeRequest {
    waba_id: String,
    #[serde(default)]
    phone_number_id: Option<String>,
    #[serde(default)]
    business_id: Option<String>,
    #[serde(default)]
    decline_history: bool,
    /// Shorter than 30 seconds, to try expiry in tests.
    #[serde(default)]
    expires_in_seconds: Option<u64>,
}

#[derive(Debug, Serialize)]
struct MintedCode {
    code: String,
    expires_in: u64,
}

async fn mint_code(State(state): State<AppState>, ApiJson(request): ApiJson<MintCodeRequest>) -> ApiResult<MintedCode> {
    let sandbox = sandbox_of(&state)?;
    let mut errors = Vec::new();
    validation::meta_id("waba_id", &request.waba_id, &mut errors);
    if let Some(id) = &request.phone_number_id {
        validation::meta_id("phone_number_id", id, &mut errors);
    }
    if let Some(id) = &request.business_id {
        validation::meta_id("business_id", id, &mut errors);
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let lifetime = request
        .expires_in_seconds
        .map(Duration::from_secs)
        .unwrap_or(CODE_LIFETIME)
        .min(CODE_LIFETIME);
    let grant = SandboxGrant {
        waba_id: request.waba_id,
        phone_number_id: request.phone_number_id,
        business_id: request.business_id,
        decline_history: request.decline_history,
    };
    let code = sandbox.mint_code(grant, lifetime);
    ok(MintedCode { code, expires_in: lifetime.as_secs() })
}

/// Text safe inside HTML element content and double-quoted attributes.
pub fn escape_html(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            other => escaped.push(other),
        }
    }
    escaped
}

/// A JSON value safe inside an inline `<script>`: no `<`, `>` or `&` can close the element.
pub fn script_json<T: Serialize + ?Sized>(value: &T) -> String {
    serde_json::to_string(value)
        .unwrap_or_else(|_| "null".to_owned())
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
}

/// `scheme://host[:port]` only, or `None`.
pub fn valid_origin(text: &str) -> Option<String> {
    let parsed = url::Url::parse(text).ok()?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return None;
    }
    let origin = parsed.origin().ascii_serialization();
    (origin == text.trim_end_matches('/')).then_some(origin)
}

fn options(values: &[&str], selected: &str) -> String {
    values
        .iter()
        .map(|value| {
            let value = escape_html(value);
            let selected = if value == selected { " selected" } else { "" };
            format!("<option value=\"{value}\"{selected}>{value}</option>")
        })
        .collect()
}

fn dialog_html(config_id: &str, feature_type: &str, opener_origin: &str) -> String {
    let coexistence = feature_type == COEXISTENCE_FEATURE;
    let default_finish = if coexistence { "FINISH_WHATSAPP_BUSINESS_APP_ONBOARDING" } else { "FINISH" };
    let flow = if coexistence { "WhatsApp Business app (coexistence)" } else { "New number (Cloud API)" };
    let origin = valid_origin(opener_origin);
    let origin_problem = if origin.is_none() {
        "<p class=\"problem\" data-testid=\"sandbox-origin-error\" role=\"alert\">This window was not opened by the sandbox SDK (no valid opener_origin), so it cannot report back.</p>"
    } else {
        ""
    };
    DIALOG_HTML
        .replace("{{flow}}", &escape_html(flow))
        .replace("{{config_id}}", &escape_html(if config_id.is_empty() { "(none)" } else { config_id }))
        .replace("{{feature_type}}", &escape_html(if feature_type.is_empty() { "(none)" } else { feature_type }))
        .replace("{{origin_problem}}", origin_problem)
        .replace("{{finish_options}}", &options(FINISH_KINDS, default_finish))
        .replace("{{cancel_options}}", &options(CANCEL_STEPS, CANCEL_STEPS[0]))
        .replace("{{portfolios_json}}", &script_json(PORTFOLIOS))
        .replace("{{opener_origin_json}}", &script_json(&origin))
}

const SDK_JS: &str = r#"/* wadesk sandbox: a stand-in for the Facebook JS SDK (FB.init, FB.login, FB.getLoginStatus).
   FB.login opens the sandbox Embedded Signup dialog next to this script and calls back with the
   code the dialog mints, or with {authResponse: null, status: 'unknown'} when it closes without one. */
(function () {
  'use strict';
  var script = document.currentScript;
  var here = script && script.src ? script.src : window.location.href;
  var dialogUrl = new URL('dialog', here);
  var dialogOrigin = dialogUrl.origin;
  var initOptions = null;

  function parse(data) {
    if (typeof data !== 'string') { return data; }
    try { return JSON.parse(data); } catch (error) { return null; }
  }

  function login(callback, options) {
    options = options || {};
    var extras = options.extras || {};
    var url = new URL(dialogUrl.href);
    url.searchParams.set('config_id', options.config_id || '');
    url.searchParams.set('feature_type', extras.featureType || '');
    url.searchParams.set('opener_origin', window.location.origin);
    if (initOptions && initOptions.appId) { url.searchParams.set('app_id', initOptions.appId); }
    var popup = window.open(url.href, 'wadesk_sandbox_facebook', 'popup=yes,width=640,height=760');
    var finished = false;
    var poll = null;

    function finish(response) {
      if (finished) { return; }
      finished = true;
      window.removeEventListener('message', onMessage);
      if (poll !== null) { clearInterval(poll); }
      if (typeof callback === 'function') { callback(response); }
    }

    function onMessage(event) {
      if (event.origin !== dialogOrigin || event.source !== popup) { return; }
      var data = parse(event.data);
      if (!data || data.type !== 'WADESK_SANDBOX_LOGIN' || typeof data.code !== 'string') { return; }
      finish({
        status: 'connected',
        authResponse: {
          code: data.code,
          userID: 'sandbox-user',
          expiresIn: 30,
          signedRequest: null,
          graphDomain: 'facebook',
          data_access_expiration_time: Math.floor(Date.now() / 1000) + 7776000
        }
      });
    }

    window.addEventListener('message', onMessage);
    if (!popup) { finish({ authResponse: null, status: 'unknown' }); return; }
    poll = setInterval(function () {
      if (!popup.closed) { return; }
      clearInterval(poll);
      poll = null;
      // Messages posted just before the popup closed are still on their way: let them land first.
      setTimeout(function () { finish({ authResponse: null, status: 'unknown' }); }, 400);
    }, 200);
  }

  window.FB = {
    init: function (options) { initOptions = options || {}; },
    login: login,
    getLoginStatus: function (callback) {
      if (typeof callback === 'function') { callback({ status: 'unknown', authResponse: null }); }
    },
    logout: function (callback) { if (typeof callback === 'function') { callback({ status: 'unknown' }); } },
    sandbox: true
  };
  if (typeof window.fbAsyncInit === 'function') { window.fbAsyncInit(); }
})();
"#;

const DIALOG_HTML: &str = r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Facebook (sandbox): WhatsApp Embedded Signup</title>
<style>
  body { font-family: system-ui, sans-serif; margin: 0; background: #f0f2f5; color: #1c1e21; }
  main { max-width: 560px; margin: 0 auto; padding: 20px; background: #fff; min-height: 100vh; box-sizing: border-box; }
  h1 { font-size: 20px; margin: 0 0 4px; }
  .note { color: #65676b; font-size: 13px; margin: 0 0 16px; }
  label { display: block; margin: 12px 0 4px; font-weight: 600; font-size: 14px; }
  label.inline { font-weight: 400; display: flex; gap: 8px; align-items: center; }
  select, input[type=text] { width: 100%; padding: 8px; font-size: 14px; box-sizing: border-box; }
  fieldset { border: 1px solid #dddfe2; border-radius: 6px; margin: 16px 0; padding: 8px 12px 12px; }
  legend { font-size: 13px; color: #65676b; }
  button { margin-top: 8px; padding: 8px 16px; font-size: 14px; border-radius: 6px; border: 1px solid #ccd0d5; background: #f5f6f7; cursor: pointer; }
  button.primary { background: #1877f2; border-color: #1877f2; color: #fff; font-weight: 600; }
  .problem { color: #b3261e; }
  [role=status] { min-height: 1.4em; }
</style>
</head>
<body>
<main>
  <h1>WhatsApp Embedded Signup (sandbox)</h1>
  <p class="note">This window stands in for Facebook's. Flow: <strong data-testid="sandbox-flow">{{flow}}</strong>.
     Configuration <code data-testid="sandbox-config-id">{{config_id}}</code>, feature type <code>{{feature_type}}</code>.</p>
  {{origin_problem}}

  <label for="portfolio">Business portfolio</label>
  <select id="portfolio" data-testid="sandbox-portfolio"></select>

  <label for="number">Phone number</label>
  <select id="number" data-testid="sandbox-number"></select>

  <fieldset>
    <legend>Finish</legend>
    <label for="finish-kind">Event</label>
    <select id="finish-kind" data-testid="sandbox-finish-kind">{{finish_options}}</select>
    <label for="order">Message order</label>
    <select id="order" data-testid="sandbox-order">
      <option value="event-first">Session info first, then the code</option>
      <option value="code-first">The code first, then session info</option>
    </select>
    <label for="message-version">Session info version</label>
    <select id="message-version" data-testid="sandbox-message-version">
      <option value="number">3 (a number)</option>
      <option value="string">"3" (a string)</option>
    </select>
    <label class="inline"><input type="checkbox" id="decline-history" data-testid="sandbox-decline-history"> Do not share chat history (coexistence)</label>
    <label class="inline"><input type="checkbox" id="omit-number" data-testid="sandbox-omit-phone-number-id"> Leave phone_number_id out of the message</label>
    <button type="button" class="primary" id="finish" data-testid="sandbox-finish">Finish</button>
  </fieldset>

  <fieldset>
    <legend>Cancel</legend>
    <label for="cancel-step">At step</label>
    <select id="cancel-step" data-testid="sandbox-cancel-step">{{cancel_options}}</select>
    <button type="button" id="cancel" data-testid="sandbox-cancel">Cancel</button>
  </fieldset>

  <fieldset>
    <legend>Report a problem</legend>
    <label for="error-message">What went wrong</label>
    <input type="text" id="error-message" data-testid="sandbox-error-message" value="Something went wrong (sandbox)">
    <button type="button" id="report-error" data-testid="sandbox-report-error">Report error</button>
  </fieldset>

  <button type="button" id="close" data-testid="sandbox-close">Close window</button>
  <p role="status" id="status" data-testid="sandbox-status"></p>
</main>
<script>
(function () {
  'use strict';
  var PORTFOLIOS = {{portfolios_json}};
  var OPENER_ORIGIN = {{opener_origin_json}};
  var CODE_URL = new URL('oauth/code', window.location.href).href;
  var byId = function (id) { return document.getElementById(id); };
  var portfolioSelect = byId('portfolio');
  var numberSelect = byId('number');
  var statusLine = byId('status');
  var buttons = ['finish', 'cancel', 'report-error'].map(byId);

  function option(value, label) {
    var element = document.createElement('option');
    element.value = value;
    element.textContent = label;
    return element;
  }

  PORTFOLIOS.forEach(function (portfolio, index) {
    portfolioSelect.appendChild(option(String(index), portfolio.business_name + ' (WABA ' + portfolio.waba_id + ')'));
  });

  function currentPortfolio() { return PORTFOLIOS[Number(portfolioSelect.value)] || PORTFOLIOS[0]; }

  function fillNumbers() {
    numberSelect.textContent = '';
    currentPortfolio().numbers.forEach(function (number) {
      numberSelect.appendChild(option(number.id, number.display_phone_number + ' - ' + number.verified_name));
    });
  }
  portfolioSelect.addEventListener('change', fillNumbers);
  fillNumbers();

  function say(text) { statusLine.textContent = text; }
  function busy(flag) { buttons.forEach(function (button) { button.disabled = flag; }); }

  function version() { return byId('message-version').value === 'string' ? '3' : 3; }

  function post(message) {
    if (!window.opener || !OPENER_ORIGIN) {
      say('No page to report to: open this window with FB.login.');
      return false;
    }
    window.opener.postMessage(JSON.stringify(message), OPENER_ORIGIN);
    return true;
  }

  function sessionInfo(event, data) {
    return { type: 'WA_EMBEDDED_SIGNUP', event: event, data: data, version: version() };
  }

  function closeSoon() { setTimeout(function () { window.close(); }, 150); }

  byId('finish').addEventListener('click', function () {
    var portfolio = currentPortfolio();
    var kind = byId('finish-kind').value;
    var withNumber = kind !== 'FINISH_ONLY_WABA';
    var numberId = numberSelect.value;
    busy(true);
    say('Signing up...');
    fetch(CODE_URL, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({
        waba_id: portfolio.waba_id,
        phone_number_id: withNumber ? numberId : null,
        business_id: portfolio.business_id,
        decline_history: byId('decline-history').checked
      })
    }).then(function (response) {
      return response.json().then(function (body) { return { ok: response.ok, body: body }; });
    }).then(function (answer) {
      if (!answer.ok || !answer.body || answer.body.code !== 0) {
        busy(false);
        say((answer.body && answer.body.message) || 'The sandbox could not mint a code.');
        return;
      }
      var data = { waba_id: portfolio.waba_id, business_id: portfolio.business_id };
      if (withNumber && !byId('omit-number').checked) { data.phone_number_id = numberId; }
      var info = sessionInfo(kind, data);
      var login = { type: 'WADESK_SANDBOX_LOGIN', code: answer.body.data.code };
      var messages = byId('order').value === 'code-first' ? [login, info] : [info, login];
      var sent = messages.every(post);
      if (sent) { say('Done.'); closeSoon(); } else { busy(false); }
    }).catch(function () {
      busy(false);
      say('The sandbox server did not answer.');
    });
  });

  byId('cancel').addEventListener('click', function () {
    if (post(sessionInfo('CANCEL', { current_step: byId('cancel-step').value }))) { closeSoon(); }
  });

  byId('report-error').addEventListener('click', function () {
    var sessionId = Math.random().toString(16).slice(2) + Math.random().toString(16).slice(2);
    var reported = post(sessionInfo('CANCEL', {
      error_message: byId('error-message').value,
      error_code: '524126',
      session_id: sessionId,
      timestamp: Math.floor(Date.now() / 1000)
    }));
    if (reported) { closeSoon(); }
  });

  byId('close').addEventListener('click', function () { window.close(); });
})();
</script>
</body>
</html>
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echoed_text_is_escaped() {
        let html = dialog_html("<script>alert(1)</script>", "x\"onload=\"y", "https://evil.example/<x>");
        assert!(!html.contains("<script>alert(1)"));
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(html.contains("x&quot;onload=&quot;y"));
        assert!(html.contains("data-testid=\"sandbox-origin-error\""));
        assert!(html.contains("var OPENER_ORIGIN = null;"));
    }

    #[test]
    fn the_coexistence_flow_preselects_its_finish_event() {
        let html = dialog_html("cfg", COEXISTENCE_FEATURE, "http://127.0.0.1:8080");
        assert!(html.contains("<option value=\"FINISH_WHATSAPP_BUSINESS_APP_ONBOARDING\" selected>"));
        assert!(html.contains("var OPENER_ORIGIN = \"http://127.0.0.1:8080\";"));
        let html = dialog_html("cfg", "", "http://127.0.0.1:8080");
        assert!(html.contains("<option value=\"FINISH\" selected>"));
    }

    #[test]
    fn only_plain_origins_are_accepted() {
        assert_eq!(valid_origin("http://localhost:8080").as_deref(), Some("http://localhost:8080"));
        assert_eq!(valid_origin("https://a.example/").as_deref(), Some("https://a.example"));
        assert_eq!(valid_origin("https://a.example/path"), None);
        assert_eq!(valid_origin("javascript:alert(1)"), None);
        assert_eq!(valid_origin("*"), None);
    }

    #[test]
    fn script_json_cannot_close_the_script() {
        assert_eq!(script_json("</script>"), "\"\\u003c/script\\u003e\"");
    }
}
