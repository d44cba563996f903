//! Ids holding NUL (`\u0000` in JSON), which PostgreSQL cannot store or compare: a lookup by one
//! is "not found" (or a validation error), never a 500.

use api_types::ErrorCode;
use serde_json::json;

use crate::both_stores;
use crate::common::*;

both_stores! {
    async fn lookups_by_an_id_holding_nul_are_not_a_500(server) {
        let admin = server.admin_client().await;
        let phone_info = server.post_as(&admin, "/whatsapp/account/phoneInfo", &json!({"accountName": ADMIN_ACCOUNT, "wabaId": "1\u{0}"})).await;
        assert!(phone_info.status.is_client_error(), "{} {}", phone_info.status, phone_info.body);
        let number = server.post_as(&admin, "/whatsapp/numbers/get", &json!({"phoneNumberId": "2\u{0}"})).await;
        assert!(number.status.is_client_error(), "{} {}", number.status, number.body);
        assert_ne!(number.code(), ErrorCode::Internal.code());
    }
}
