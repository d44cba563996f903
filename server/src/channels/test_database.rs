//! Unit tests' database: a migrated SQLite file of its own, with one account and one bound number.

use std::path::PathBuf;

use api_types::{MessagingLimit, NumberOrigin, NumberStatus, QualityRating, WabaStatus};
use sqlx::{AnyPool, Row};

use super::store::{NewNumber, TenantDb, WabaRow};

pub const ACCOUNT_ID: &str = "account-1";
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
    pub async fn with_number(status: NumberStatus) -> TestDatabase {
        let folder = std::env::temp_dir().join(format!("wadesk-unit-{}", crate::db::new_id()));
        let url = format!("sqlite:{}", folder.join("test.db").display());
        let db = crate::db::connect_and_migrate(&url).await.expect("a test database");
        sqlx::query("INSERT INTO accounts (id, name, name_key, created_at) VALUES ($1, 'Acme', 'acme', 0)")
            .bind(ACCOUNT_ID)
            .execute(&db)
            .await
            .expect("an account");
        let number = NewNumber {
            waba_id: "1000000000000001".to_owned(),
            phone_number_id: NUMBER_ID.to_owned(),
            display_phone_number: "+1 555-0100".to_owned(),
            verified_name: "Acme Trading".to_owned(),
            status,
            quality_rating: QualityRating::Green,
            messaging_limit: MessagingLimit::Tier250,
            origin: NumberOrigin::Cloud,
            pin_sealed: None,
        };
        let tenant = TenantDb::new(&db, ACCOUNT_ID);
        let waba = WabaRow {
            waba_id: "1000000000000001".to_owned(),
            business_id: None,
            name: "Acme".to_owned(),
            status: WabaStatus::Approved,
            token_sealed: None,
        };
        tenant.save_waba(&waba).await.expect("a WABA");
        tenant.insert_number(&number).await.expect("a number");
        TestDatabase { db, folder }
    }

    /// The number's (status, messaging limit).
    pub async fn number_state(&self) -> (NumberStatus, MessagingLimit) {
        let number = self.tenant().find_number(NUMBER_ID).await.unwrap().expect("the number is bound");
        (number.status, number.messaging_limit)
    }

    /// The test account's scoped handle.
    pub fn tenant(&self) -> TenantDb {
        TenantDb::new(&self.db, ACCOUNT_ID)
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
