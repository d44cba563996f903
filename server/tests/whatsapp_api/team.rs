//! `/intwa-api/team/users/list`: the users the inbox assigns conversations to, of the caller's
//! account only.

use serde_json::json;

use crate::both_stores;
use crate::common::*;
use crate::support::*;

both_stores! {
    async fn the_team_list_shows_the_callers_account_to_admins_and_agents_alike(server) {
        let admin = server.admin_client().await;
        let agent = agent_client(&server).await;
        let (bravo, _) = server.signup("bravo", "owner@bravo.example").await;
        for client in [&admin, &agent] {
            let listed = server.post_as(client, "/team/users/list", &json!({})).await;
            assert_eq!(listed.code(), 0, "{}", listed.body);
            let items = listed.data()["items"].as_array().unwrap().clone();
            let emails: Vec<&str> = items.iter().map(|item| item["email"].as_str().unwrap()).collect();
            assert_eq!(emails, [ADMIN_EMAIL, "agent@wadesk.local"], "by name: Admin, then Agent");
            let roles: Vec<&str> = items.iter().map(|item| item["role"].as_str().unwrap()).collect();
            assert_eq!(roles, ["admin", "agent"]);
            assert_eq!(keys(&items[0]), ["email", "id", "name", "role"], "no password hash, nothing else");
        }
        let theirs = server.post_as(&bravo, "/team/users/list", &json!({})).await;
        let emails: Vec<String> =
            theirs.data()["items"].as_array().unwrap().iter().map(|item| item["email"].as_str().unwrap().to_owned()).collect();
        assert_eq!(emails, ["owner@bravo.example"], "another account's users are not listed");
        server.post_as(&new_client(), "/team/users/list", &json!({})).await.assert_error(401, api_types::ErrorCode::Unauthorized);
        let document = server.get("/intwa-api/openapi.json").await;
        assert!(document.body["paths"].get("/intwa-api/team/users/list").is_some(), "documented");
    }
}
