//! Unit tests' database: a migrated SQLite file of its own, with one account and one bound number.

use std::path::PathBuf;

use api_types::NumberOrigin;
use sqlx::{AnyPool, Row};

use super::store::{self, NewNumber};

pub const NUMBER_ID: &str = "2000000000000001";
/// The number's display digits, as Meta's quality webhooks name it.
pub const NUMBER_DIGITS: &str = "15550100";

/// Removes its folder when dropped.
pub struct TestDatabase {
    pub db: AnyPool,
    folder: PathBuf,
}

impl TestDatabase {
    /// A fresh database holding [`NUMBER_ID`] with the given status.
    pub async fn with_number(status: &str) -> TestDatabase {
        let folder = std::env::temp_dir().join(format!("wadesk-unit-{}", crate::db::new_id()));
        let url = format!("sqlite:{}", folder.join("test.db").display());
        let db = crate::db::connect_and_migrate(&url).await.expect("a test database");
        sqlx::query("INSERT INTO accounts (id, name, name_key, created_at) VALUES ('account-1', 'Acme', 'acme', 0)")
            .execute(&db)
            .await
            .expect("an account");
        let number = NewNumber {
            account_id: "account-1".to_owned(),
            waba_id: "1000000000000001".to_owned(),
            phone_number_id: NUMBER_ID.to_owned(),
            display_phone_number: "+1 555-0100".to_owned(),
            verified_name: "Acme Trading".to_owned(),
            status: status.to_owned(),
            quality_rating: "GREEN".to_owned(),
            messaging_limit: "TIER_250".to_owned(),
            origin: NumberOrigin::Cloud,
            pin_sealed: None,
        };
        store::insert_number(&db, &number).await.expect("a number");
        TestDatabase { db, folder }
    }

    /// The number's (status, messaging limit).
    pub async fn number_state(&self) -> (String, String) {
        let number = store::find_number_anywhere(&self.db, NUMBER_ID).await.unwrap().expect("the number is bound");
        (number.status, number.messaging_limit)
    }

    /// How many stored deliveries are in `state`.
    pub async fn deliveries_in(&self, state: &str) -> i64 {
        sqlx::query("SELECT COUNT(*) AS total FROM webhook_events WHERE state = $1")
            .bind(state)
            .fetch_one(&self.db)
            .await
            .unwrap()
            .try_get("total")
            .unwrap()
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.folder);
    }
}
