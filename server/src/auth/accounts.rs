//! Creating a business account (tenant) with its first admin: used by sign-up and by the
//! first-run setup.

use api_types::{FieldError, Role};
use sqlx::AnyPool;

use crate::db::{is_unique_violation, new_id, now_millis};
use crate::web::error::ApiError;

/// A new account and its admin, as created.
#[derive(Debug, Clone)]
pub struct CreatedAccount {
    pub account_id: String,
    pub account_name: String,
    pub user_id: String,
    pub email: String,
    pub name: String,
}

/// Why an account could not be created.
#[derive(Debug)]
pub enum CreateAccountError {
    /// The account name or email is in use; one `taken` field error each.
    Taken(Vec<FieldError>),
    Database(sqlx::Error),
}

impl From<CreateAccountError> for ApiError {
    fn from(error: CreateAccountError) -> Self {
        match error {
            CreateAccountError::Taken(field_errors) => ApiError::conflict_fields(field_errors),
            CreateAccountError::Database(cause) => cause.into(),
        }
    }
}

impl From<sqlx::Error> for CreateAccountError {
    fn from(cause: sqlx::Error) -> Self {
        CreateAccountError::Database(cause)
    }
}

/// Create the account and its admin in one transaction. `email` must be lowercased already.
pub async fn create_with_admin(
    db: &AnyPool,
    account_name: &str,
    email: &str,
    name: &str,
    password_hash: &str,
) -> Result<CreatedAccount, CreateAccountError> {
    let taken = taken_fields(db, account_name, email).await?;
    if !taken.is_empty() {
        return Err(CreateAccountError::Taken(taken));
    }
    let created = CreatedAccount {
        account_id: new_id(),
        account_name: account_name.to_owned(),
        user_id: new_id(),
        email: email.to_owned(),
        name: name.to_owned(),
    };
    let now = now_millis();
    let inserted: Result<(), sqlx::Error> = async {
        let mut transaction = db.begin().await?;
        sqlx::query("INSERT INTO accounts (id, name, name_key, created_at) VALUES ($1, $2, $3, $4)")
            .bind(&created.account_id)
            .bind(account_name)
            .bind(account_name.to_lowercase())
            .bind(now)
            .execute(&mut *transaction)
            .await?;
        sqlx::query(
            "INSERT INTO users (id, account_id, email, name, role, password_hash, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&created.user_id)
        .bind(&created.account_id)
        .bind(email)
        .bind(name)
        .bind(Role::Admin.as_str())
        .bind(password_hash)
        .bind(now)
        .execute(&mut *transaction)
        .await?;
        transaction.commit().await
    }
    .await;
    match inserted {
        Ok(()) => Ok(created),
        // Another sign-up took the name or email between the check and the insert.
        Err(cause) if is_unique_violation(&cause) => {
            let taken = taken_fields(db, account_name, email).await?;
            Err(if taken.is_empty() { CreateAccountError::Database(cause) } else { CreateAccountError::Taken(taken) })
        }
        Err(cause) => Err(cause.into()),
    }
}

/// A `taken` field error for the account name and for the email, each when in use (`email`
/// lowercased already).
pub async fn taken_fields(db: &AnyPool, account_name: &str, email: &str) -> Result<Vec<FieldError>, sqlx::Error> {
    let mut taken = Vec::new();
    let account_exists = sqlx::query("SELECT id FROM accounts WHERE name_key = $1")
        .bind(account_name.to_lowercase())
        .fetch_optional(db)
        .await?
        .is_some();
    if account_exists {
        taken.push(FieldError::new("accountName", "taken", "This account name is taken"));
    }
    let email_exists = sqlx::query("SELECT id FROM users WHERE email = $1").bind(email).fetch_optional(db).await?.is_some();
    if email_exists {
        taken.push(FieldError::new("email", "taken", "An account with this email exists already"));
    }
    Ok(taken)
}

/// True when no user exists yet (the server's first run).
pub async fn no_user_exists(db: &AnyPool) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query("SELECT id FROM users LIMIT 1").fetch_optional(db).await?.is_none())
}
