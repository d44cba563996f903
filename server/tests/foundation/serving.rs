//! The HTTP surface: health, JSON errors for bad bodies and unknown API paths, the SPA bundle and
//! deep links, config.json, the base path, and the OpenAPI document.

use std::collections::BTreeSet;

use api_types::ErrorCode;
use serde_json::{json, Value};

use crate::both_stores;
use crate::common::*;

/// The API routes the foundation registers (the WhatsApp work adds `/intwa-api/whatsapp/...`).
const FOUNDATION_ROUTES: [(&str, &str); 6] = [
    ("/intwa-api/auth/login", "post"),
    ("/intwa-api/auth/logout", "post"),
    ("/intwa-api/auth/me", "post"),
    ("/intwa-api/auth/signup", "post"),
    ("/intwa-api/health", "get"),
    ("/intwa-api/openapi.json", "get"),
];

async fn post_raw(server: &TestServer, path: &str, content_type: Option<&str>, body: impl Into<reqwest::Body>) -> Reply {
    let mut request = server.client.post(server.api_url(path)).body(body);
    if let Some(content_type) = content_type {
        request = request.header("content-type", content_type);
    }
    Reply::read(request.send().await.unwrap()).await
}

both_stores! {
    async fn health_reports_the_database(server) {
        let reply = server.get("/intwa-api/health").await;
        assert_eq!(reply.status, 200);
        assert_eq!(reply.code(), 0);
        assert_eq!(reply.body["data"]["database"], "ok");
    }

    async fn bad_bodies_get_a_json_validation_error(server) {
        let broken = post_raw(&server, "/auth/login", Some("application/json"), "{\"email\": ").await;
        broken.assert_error(400, ErrorCode::Validation);
        assert!(broken.message().contains("not valid JSON"), "{}", broken.message());

        let missing = post_raw(&server, "/auth/login", Some("application/json"), r#"{"email":"a@b.io"}"#).await;
        missing.assert_error(400, ErrorCode::Validation);
        assert_eq!(missing.field_errors(), [("password".to_owned(), "required".to_owned())]);
        assert!(missing.message().contains("password"), "{}", missing.message());

        let wrong_type = post_raw(&server, "/auth/login", Some("application/json"), r#"{"email":42,"password":"x"}"#).await;
        wrong_type.assert_error(400, ErrorCode::Validation);
        assert_eq!(wrong_type.field_errors(), [("email".to_owned(), "invalid".to_owned())]);

        let no_content_type = post_raw(&server, "/auth/login", None, r#"{"email":"a@b.io","password":"x"}"#).await;
        no_content_type.assert_error(400, ErrorCode::Validation);
        assert!(no_content_type.message().contains("Content-Type"), "{}", no_content_type.message());

        let form = post_raw(&server, "/auth/signup", Some("application/x-www-form-urlencoded"), "email=a").await;
        form.assert_error(400, ErrorCode::Validation);

        let empty = post_raw(&server, "/auth/login", Some("application/json"), "").await;
        empty.assert_error(400, ErrorCode::Validation);

        let nul = post_raw(&server, "/auth/signup", Some("application/json"),
            r#"{"accountName":"nul-test","email":"nul@example.com","password":"a-long-password","name":"Ann\u0000"}"#).await;
        nul.assert_error(400, ErrorCode::Validation);
        assert_eq!(nul.field_errors(), [("name".to_owned(), "invalid".to_owned())]);

        let huge = format!(r#"{{"email":"a@b.io","password":"{}"}}"#, "x".repeat(3 * 1024 * 1024));
        let too_large = post_raw(&server, "/auth/login", Some("application/json"), huge).await;
        too_large.assert_error(413, ErrorCode::PayloadTooLarge);
        assert!(too_large.message().contains("too large"), "{}", too_large.message());
    }

    async fn unknown_api_paths_and_wrong_methods_answer_json(server) {
        let unknown = server.post("/no/such/route", &json!({})).await;
        unknown.assert_error(404, ErrorCode::NotFound);
        assert!(unknown.headers["content-type"].to_str().unwrap().starts_with("application/json"));
        let unknown_get = server.get("/intwa-api/nothing-here").await;
        unknown_get.assert_error(404, ErrorCode::NotFound);
        server.get("/intwa-api").await.assert_error(404, ErrorCode::NotFound);

        let wrong_method = server.get("/intwa-api/auth/login").await;
        wrong_method.assert_error(405, ErrorCode::MethodNotAllowed);
        assert!(wrong_method.message().contains("POST"), "{}", wrong_method.message());
        assert_eq!(wrong_method.header("allow"), Some("POST"));
    }

    async fn the_bundle_is_served_and_deep_links_get_index_html(server) {
        for path in ["/", "/index.html", "/numbers/123456", "/inbox?conversation=9"] {
            let response = server.client.get(format!("{}{path}", server.url)).send().await.unwrap();
            assert_eq!(response.status(), 200, "{path}");
            assert_eq!(response.headers()["cache-control"], "no-cache", "{path}");
            assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
            assert!(response.text().await.unwrap().contains(TEST_BUNDLE_MARKER), "{path}");
        }
        let script = server.client.get(format!("{}/assets/app.js", server.url)).send().await.unwrap();
        assert_eq!(script.status(), 200);
        assert!(script.headers()["content-type"].to_str().unwrap().contains("javascript"));
        assert!(script.headers().get("cache-control").is_none(), "a plain name may change: revalidated as usual");
        assert!(script.text().await.unwrap().contains("console.log"));
        let wasm = server.client.get(format!("{}/wadesk-0123456789abcdef_bg.wasm", server.url)).send().await.unwrap();
        assert_eq!(wasm.status(), 200);
        assert_eq!(wasm.headers()["cache-control"], "public, max-age=31536000, immutable");
    }

    async fn every_answer_carries_the_security_headers(server) {
        let page = server.client.get(format!("{}/numbers", server.url)).send().await.unwrap();
        let api = server.post("/auth/me", &json!({})).await;
        let missing = server.get("/intwa-api/nothing-here").await;
        for headers in [page.headers(), &api.headers, &missing.headers] {
            assert_eq!(headers["x-content-type-options"], "nosniff");
            assert_eq!(headers["referrer-policy"], "strict-origin-when-cross-origin");
            assert_eq!(headers["x-frame-options"], "SAMEORIGIN");
        }
        assert_eq!(api.headers["content-security-policy"], "frame-ancestors 'self'");
        // Pages get the whole policy, with a nonce of their own on every answer.
        let policy = page.headers()["content-security-policy"].to_str().unwrap().to_owned();
        for directive in ["default-src 'self'", "object-src 'none'", "base-uri 'self'", "form-action 'self'", "frame-ancestors 'self'", "'nonce-"] {
            assert!(policy.contains(directive), "{directive} in {policy}");
        }
        assert!(!policy.contains("unsafe-inline"), "{policy}");
        let again = server.client.get(format!("{}/numbers", server.url)).send().await.unwrap();
        assert_ne!(again.headers()["content-security-policy"].to_str().unwrap(), policy, "a fresh nonce per answer");
    }

    async fn config_json_is_public_settings_only(server, |settings| {
        settings.meta_app_id = "1234567890".to_owned();
        settings.meta_config_id = "cfg-42".to_owned();
        settings.meta_app_secret = Some("meta-app-secret-must-not-leak".to_owned());
        settings.ycloud_api_key = Some("ycloud-key-must-not-leak".to_owned());
        settings.ycloud_webhook_secrets = vec!["ycloud-webhook-secret-must-not-leak".to_owned()];
        settings.secret_key = Some("server-secret-key-must-not-leak".to_owned());
        settings.webhook_verify_token = Some("verify-token-must-not-leak".to_owned());
    }) {
        let response = server.client.get(format!("{}/config.json", server.url)).send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["cache-control"], "no-store");
        let text = response.text().await.unwrap();
        assert!(!text.contains("must-not-leak"), "a secret leaked into config.json: {text}");
        assert!(!text.contains(ADMIN_PASSWORD), "{text}");
        let config: api_types::RuntimeConfig = serde_json::from_str(&text).unwrap();
        assert_eq!(config.api_base_url, "");
        assert!(config.sandbox);
        assert!(config.signup_enabled);
        assert_eq!(config.facebook.app_id, "1234567890");
        assert_eq!(config.facebook.config_id, "cfg-42");
        assert_eq!(config.facebook.coexistence_config_id, "cfg-42");
        assert_eq!(config.facebook.sdk_url, "/sandbox/facebook/sdk.js");
        assert_eq!(config.trusted_origins, std::slice::from_ref(&server.origin));
        assert_eq!(config.languages, ["en", "zh-CN"]);
    }

    async fn config_json_follows_the_signup_setting(server, |settings| settings.signup_enabled = false) {
        assert_eq!(server.get("/config.json").await.body["signupEnabled"], false);
    }

    async fn consoles_on_listed_origins_may_call_the_api_with_cookies(server, |settings| {
        settings.cors_origins = vec!["https://Console.Partner.example/".to_owned(), "http://127.0.0.1:9000".to_owned()];
        settings.validate().unwrap();
    }) {
        let login_url = server.api_url("/auth/login");
        let preflight = |origin: &'static str| {
            server.client.request(reqwest::Method::OPTIONS, &login_url)
                .header("origin", origin)
                .header("access-control-request-method", "POST")
                .header("access-control-request-headers", "content-type")
                .send()
        };
        let allowed = preflight("https://console.partner.example").await.unwrap();
        assert!(allowed.status().is_success(), "{}", allowed.status());
        let headers = allowed.headers();
        assert_eq!(headers["access-control-allow-origin"], "https://console.partner.example");
        assert_eq!(headers["access-control-allow-credentials"], "true");
        assert!(headers["access-control-allow-methods"].to_str().unwrap().contains("POST"));
        assert!(headers["access-control-allow-headers"].to_str().unwrap().to_ascii_lowercase().contains("content-type"));

        let stranger = preflight("https://evil.example").await.unwrap();
        assert!(stranger.headers().get("access-control-allow-origin").is_none());

        let login = server.client.post(&login_url)
            .header("origin", "http://127.0.0.1:9000")
            .json(&json!({ "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD }))
            .send().await.unwrap();
        assert_eq!(login.headers()["access-control-allow-origin"], "http://127.0.0.1:9000");
        assert_eq!(login.headers()["access-control-allow-credentials"], "true");
        assert!(login.headers().get("set-cookie").is_some());

        let from_elsewhere = server.client.post(server.api_url("/auth/me"))
            .header("origin", "https://evil.example")
            .json(&json!({})).send().await.unwrap();
        assert!(from_elsewhere.headers().get("access-control-allow-origin").is_none());
    }

    async fn without_listed_origins_there_are_no_cors_headers(server) {
        let response = server.client.post(server.api_url("/auth/me"))
            .header("origin", "https://console.partner.example")
            .json(&json!({})).send().await.unwrap();
        assert!(response.headers().get("access-control-allow-origin").is_none());
    }

    async fn everything_lives_under_the_base_path(server, |settings| settings.base_path = "/console/".to_owned()) {
        assert!(server.url.ends_with("/console"), "{}", server.url);
        for (path, expected) in [("/", "/console/"), ("/console", "/console/"), ("/console?x=1", "/console/?x=1")] {
            let response = server.client.get(format!("{}{path}", server.origin)).send().await.unwrap();
            assert!(response.status().is_redirection(), "{path}: {}", response.status());
            assert_eq!(response.headers()["location"], expected, "{path}");
        }
        let index = server.client.get(format!("{}/console/", server.origin)).send().await.unwrap().text().await.unwrap();
        assert!(index.contains(TEST_BUNDLE_MARKER));
        assert!(index.contains("<base href=\"/console/\""), "{index}");
        let deep_link = server.client.get(format!("{}/console/numbers/1", server.origin)).send().await.unwrap();
        assert_eq!(deep_link.status(), 200);
        assert!(deep_link.text().await.unwrap().contains(TEST_BUNDLE_MARKER));
        let script = server.client.get(format!("{}/console/assets/app.js", server.origin)).send().await.unwrap();
        assert!(script.text().await.unwrap().contains("console.log"));

        let config = server.get("/config.json").await;
        assert_eq!(config.body["apiBaseUrl"], "/console");
        assert_eq!(config.body["facebook"]["sdkUrl"], "/console/sandbox/facebook/sdk.js");
        let sdk = server.client.get(format!("{}/console/sandbox/facebook/sdk.js", server.origin)).send().await.unwrap();
        assert_eq!(sdk.status(), 200, "the WhatsApp public routes are under the base path too");

        server.get("/intwa-api/health").await.data();
        let login = server.post("/auth/login", &json!({ "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD })).await;
        login.data();
        assert!(login.header("set-cookie").unwrap().contains("Path=/console;"));
        server.post("/auth/me", &json!({})).await.data();

        for outside in ["/intwa-api/health", "/config.json", "/consolex/", "/index.html"] {
            let response = server.client.get(format!("{}{outside}", server.origin)).send().await.unwrap();
            assert_eq!(response.status(), 404, "{outside} is outside the base path");
        }
    }

    async fn without_a_bundle_the_api_works_and_the_page_says_how_to_build(server, |settings| {
        settings.dist = std::env::temp_dir().join("wadesk-no-bundle-here");
    }) {
        server.get("/intwa-api/health").await.data();
        server.admin_client().await;
        for path in ["/", "/numbers"] {
            let page = server.client.get(format!("{}{path}", server.url)).send().await.unwrap();
            assert_eq!(page.status(), 200);
            let text = page.text().await.unwrap();
            assert!(text.contains("data-testid=\"page-not-built\""), "{text}");
            assert!(text.contains("cargo xtask run") && text.contains("trunk build"), "{text}");
        }
        server.get("/intwa-api/nope").await.assert_error(404, ErrorCode::NotFound);
    }

    async fn the_openapi_document_lists_every_route(server) {
        // The features' routes (WhatsApp numbers, the inbox, the team) are all POST but file
        // downloads and the inbox's event stream (GET, server-sent events); their own suites list them.
        let is_feature_route = |path: &str| {
            ["/intwa-api/whatsapp/", "/intwa-api/inbox/", "/intwa-api/team/"].iter().any(|feature| path.starts_with(feature))
        };
        let is_event_stream = |path: &str| path == "/intwa-api/inbox/events";
        let document = server.get("/intwa-api/openapi.json").await;
        assert_eq!(document.status, 200);
        assert!(document.body["openapi"].as_str().is_some_and(|version| version.starts_with("3.")));
        let paths = document.body["paths"].as_object().expect("paths");
        let operations = |path: &str| -> BTreeSet<String> {
            paths[path].as_object().unwrap().keys().filter(|key| is_method(key)).cloned().collect()
        };
        let foundation: BTreeSet<(String, String)> = paths
            .keys()
            .filter(|path| !is_feature_route(path.as_str()))
            .flat_map(|path| operations(path).into_iter().map(move |method| (path.clone(), method)))
            .collect();
        let expected: BTreeSet<(String, String)> =
            FOUNDATION_ROUTES.iter().map(|(path, method)| (path.to_string(), method.to_string())).collect();
        assert_eq!(foundation, expected);
        for path in paths.keys() {
            assert!(path.starts_with("/intwa-api/"), "{path}");
            let methods = operations(path);
            assert_eq!(methods.len(), 1, "{path} has one operation: {methods:?}");
            if is_feature_route(path.as_str()) {
                // Files are fetched (`<img src>`, downloads): `.../media/{id}` is a GET.
                let method = if is_event_stream(path.as_str()) || path.contains("/media/{") { "get" } else { "post" };
                assert_eq!(methods.into_iter().next().unwrap(), method, "{path}");
            }
        }
        // Every documented route exists: none answers "no such route".
        for path in paths.keys() {
            let method = operations(path).into_iter().next().unwrap();
            let url = format!("{}{path}", server.url);
            let request = if method == "get" { server.client.get(url) } else { server.client.post(url).json(&json!({})) };
            let reply = Reply::read(request.send().await.unwrap()).await;
            let no_route = reply.status == 404 && reply.message().starts_with("There is no API route");
            assert!(!no_route && reply.status != 405, "{method} {path} is documented but not routed: {}", reply.body);
        }
    }

    async fn the_openapi_document_carries_request_and_response_schemas(server) {
        let document = server.get("/intwa-api/openapi.json").await.body;
        let schemas = document["components"]["schemas"].as_object().expect("components.schemas");
        let resolve = |schema: &Value| -> Value {
            match schema["$ref"].as_str() {
                Some(reference) => {
                    let name = reference.strip_prefix("#/components/schemas/").unwrap_or_else(|| panic!("{reference}"));
                    schemas.get(name).unwrap_or_else(|| panic!("{reference} points nowhere")).clone()
                }
                None => schema.clone(),
            }
        };
        let mut posts = 0;
        for (path, item) in document["paths"].as_object().unwrap() {
            let Some(operation) = item.get("post") else { continue };
            posts += 1;
            // JSON bodies, but for file uploads (multipart).
            let content = &operation["requestBody"]["content"];
            let request = if content.get("multipart/form-data").is_some() {
                &content["multipart/form-data"]["schema"]
            } else {
                &content["application/json"]["schema"]
            };
            let request_schema = request["$ref"].as_str().unwrap_or_else(|| panic!("POST {path}: requestBody has no $ref: {request}"));
            assert!(schemas.contains_key(request_schema.trim_start_matches("#/components/schemas/")), "POST {path}: {request_schema}");

            let success = resolve(&operation["responses"]["200"]["content"]["application/json"]["schema"]);
            let properties = success["properties"].as_object().unwrap_or_else(|| panic!("POST {path}: 200 has no schema"));
            for member in ["code", "message", "data"] {
                assert!(properties.contains_key(member), "POST {path}: the 200 envelope lacks {member}: {success}");
            }
            // `data` names a schema of its own (or an array of one), not an anonymous object.
            let data = &properties["data"];
            let data_ref = data["$ref"].as_str().or_else(|| data["items"]["$ref"].as_str());
            assert!(data_ref.is_some(), "POST {path}: 200 data is not a named schema: {data}");

            for (status, response) in operation["responses"].as_object().unwrap() {
                if status.starts_with('4') || status.starts_with('5') {
                    let error = &response["content"]["application/json"]["schema"]["$ref"];
                    assert_eq!(error, "#/components/schemas/ErrorEnvelope", "POST {path} {status}");
                }
            }
        }
        assert!(posts >= 14, "{posts} POST operations");

        for name in [
            "SessionUser", "LoginRequest", "SignupRequest", "BindRequest", "PhoneInfo", "WabaInfo", "NumberDetails",
            "ErrorDetails", "FieldError", "ErrorEnvelope", "SignupCompleteRequest", "SignupCompleteResponse", "RuntimeConfig",
        ] {
            assert!(schemas.contains_key(name), "components.schemas lacks {name}");
        }
        // Properties carry the camelCase wire names, and enums the serde spelling.
        let property_names = |name: &str| -> BTreeSet<String> { schemas[name]["properties"].as_object().unwrap().keys().cloned().collect() };
        let names = |list: &[&str]| -> BTreeSet<String> { list.iter().map(|name| name.to_string()).collect() };
        assert_eq!(
            property_names("PhoneInfo"),
            names(&["id", "displayPhoneNumber", "verifiedName", "status", "qualityRating", "messageLimit"])
        );
        assert_eq!(property_names("SessionUser"), names(&["id", "email", "name", "role", "accountId", "accountName"]));
        assert_eq!(property_names("SignupRequest"), names(&["accountName", "email", "password", "name"]));
        assert_eq!(property_names("ErrorDetails"), names(&["fieldErrors", "retryAfterSeconds"]));
        assert_eq!(property_names("ErrorEnvelope"), names(&["code", "message", "data"]));
        assert!(property_names("NumberDetails").contains("phoneNumberId"));
        assert_eq!(schemas["Role"]["enum"], json!(["admin", "agent"]));
        // Provider vocabularies are strings that pass unknown values on: the known ones are listed.
        assert_eq!(schemas["SyncState"]["type"], "string");
        assert!(schemas["SyncState"]["description"].as_str().unwrap().contains("NOT_REQUESTED, REQUESTED"));
        assert!(schemas["NumberStatus"]["description"].as_str().unwrap().contains("CONNECTED"));
        let required = |name: &str| -> BTreeSet<String> {
            schemas[name]["required"].as_array().unwrap().iter().map(|field| field.as_str().unwrap().to_owned()).collect()
        };
        assert_eq!(required("BindRequest"), names(&["accountName", "wabaId", "phoneNumberId"]), "phoneNumber is optional");

        // The error codes: every documented code is in the schema and in the description's table.
        let codes: Vec<i64> = ErrorCode::ALL.into_iter().map(ErrorCode::code).collect();
        assert_eq!(schemas["ErrorEnvelope"]["properties"]["code"]["enum"], json!(codes));
        let description = document["info"]["description"].as_str().unwrap();
        for code in ErrorCode::ALL {
            let row = format!("| {} | {} |", code.code(), code.http_status());
            assert!(description.contains(&row), "the description lacks {row}");
        }

        // What the server really sends matches the documented shapes.
        let wrong_login = server.post("/auth/login", &json!({ "email": ADMIN_EMAIL, "password": "wrong" })).await;
        wrong_login.assert_error(401, ErrorCode::InvalidCredentials);
        let sent: BTreeSet<String> = wrong_login.body.as_object().unwrap().keys().cloned().collect();
        assert!(sent.is_subset(&property_names("ErrorEnvelope")), "{sent:?}");
        let login = server.post("/auth/login", &json!({ "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD })).await;
        let user: BTreeSet<String> = login.data().as_object().unwrap().keys().cloned().collect();
        assert_eq!(user, property_names("SessionUser"));
    }
}

fn is_method(key: &str) -> bool {
    matches!(key, "get" | "post" | "put" | "patch" | "delete" | "head" | "options" | "trace")
}

/// The database going away turns health into 503 Unavailable (PostgreSQL: connections are refused).
#[tokio::test]
async fn health_is_unavailable_when_the_database_is_gone() {
    let Some(server) = TestServer::postgres().await else { return };
    server.get("/intwa-api/health").await.data();
    let admin_url = std::env::var(POSTGRES_URL_VAR).unwrap();
    let name = url::Url::parse(&server.database_url).unwrap().path().trim_start_matches('/').to_owned();
    let block = |allow: bool| format!("ALTER DATABASE {name} ALLOW_CONNECTIONS {allow}");
    let mut admin = <sqlx::PgConnection as sqlx::Connection>::connect(&admin_url).await.unwrap();
    sqlx::query(&block(false)).execute(&mut admin).await.unwrap();
    sqlx::query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1")
        .bind(&name)
        .execute(&mut admin)
        .await
        .unwrap();
    let reply = server.get("/intwa-api/health").await;
    reply.assert_error(503, ErrorCode::Unavailable);
    sqlx::query(&block(true)).execute(&mut admin).await.unwrap();
    // It recovers once the database is back.
    let mut healthy = false;
    for _ in 0..50 {
        if server.get("/intwa-api/health").await.status == 200 {
            healthy = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(healthy, "health did not recover");
}
