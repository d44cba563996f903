//! What the OpenAPI document says beyond the routes themselves: the table of error codes, and
//! references instead of inlined copies of named schemas. Partners implement their own backend from
//! this document, so the table comes from `api_types::ErrorCode` and cannot drift from what the server sends.

use api_types::ErrorCode;
use serde_json::{json, Value};

/// The API description, ending with the table of error codes and their HTTP statuses.
pub fn api_description() -> String {
    let mut text = String::from(
        "The wadesk backend API. Every route is POST with a JSON body (except `GET health` and \
         `GET openapi.json`); every answer is the envelope `{code, message, data}`: `code` 0 and \
         `message` `Success` with the route's `data` on success, otherwise an `ErrorEnvelope` whose \
         `code` below fixes the HTTP status. Field names are camelCase. Requests that need a login \
         carry the `wadesk_session` cookie set by `auth/login` or `auth/signup`. Any route may also \
         answer 500 (code 50000) or 503 (code 50300).\n\n\
         The SPA reads `GET {base}/config.json` (schema `RuntimeConfig`) before it starts.\n\n\
         ## Error codes\n\n\
         | code | HTTP status | meaning |\n|---|---|---|\n",
    );
    for code in ErrorCode::ALL {
        text.push_str(&format!("| {} | {} | {} |\n", code.code(), code.http_status(), code.meaning()));
    }
    text
}

/// utoipa 5 inlines the type argument of a generic schema, so `Envelope_SessionUser.data` would
/// repeat `SessionUser` in full. Replace every such copy inside another schema with a `$ref` to the
/// named schema, so code generators see one `SessionUser` type.
pub fn reference_inlined_schemas(document: &mut Value) {
    let Some(schemas) = document.pointer_mut("/components/schemas").and_then(Value::as_object_mut) else {
        return;
    };
    let named: Vec<(String, Value)> = schemas.iter().map(|(name, schema)| (name.clone(), schema.clone())).collect();
    for (owner, schema) in schemas.iter_mut() {
        replace_copies(schema, owner, &named, true);
    }
    // Shared responses (`web::openapi::NotLoggedIn`) inline their body in each path too.
    if let Some(paths) = document.pointer_mut("/paths") {
        replace_copies(paths, "", &named, true);
    }
}

fn replace_copies(value: &mut Value, owner: &str, named: &[(String, Value)], is_root: bool) {
    if !is_root {
        if let Some((name, _)) = named.iter().find(|(name, schema)| name != owner && schema == value) {
            *value = json!({ "$ref": format!("#/components/schemas/{name}") });
            return;
        }
    }
    match value {
        Value::Object(members) => members.values_mut().for_each(|member| replace_copies(member, owner, named, false)),
        Value::Array(items) => items.iter_mut().for_each(|item| replace_copies(item, owner, named, false)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inlined_copies_of_named_schemas_become_references() {
        let user = json!({ "type": "object", "properties": { "id": { "type": "string" } } });
        let mut document = json!({ "components": { "schemas": {
            "SessionUser": user,
            "Envelope_SessionUser": { "type": "object", "properties": { "code": { "type": "integer" }, "data": user } },
            "Envelope_Vec_SessionUser": { "type": "object", "properties": { "data": { "type": "array", "items": user } } },
        } } });
        reference_inlined_schemas(&mut document);
        let schemas = &document["components"]["schemas"];
        assert_eq!(schemas["SessionUser"], user, "a schema never refers to itself");
        assert_eq!(schemas["Envelope_SessionUser"]["properties"]["data"]["$ref"], "#/components/schemas/SessionUser");
        assert_eq!(schemas["Envelope_SessionUser"]["properties"]["code"]["type"], "integer");
        assert_eq!(schemas["Envelope_Vec_SessionUser"]["properties"]["data"]["items"]["$ref"], "#/components/schemas/SessionUser");
    }

    #[test]
    fn the_description_lists_every_error_code_with_its_status() {
        let description = api_description();
        for code in ErrorCode::ALL {
            let row = format!("| {} | {} |", code.code(), code.http_status());
            assert!(description.contains(&row), "missing {row}");
        }
    }
}
