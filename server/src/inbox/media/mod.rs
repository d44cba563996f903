//! Media files of the inbox: what agents upload to send, and what customers sent (downloaded from
//! the upstream by [`download`]). The bytes live in a [`MediaStore`] (a local directory by
//! default, or an S3-compatible bucket); `media_files` says whose each file is and what it is.
//! Files are served by [`routes`] to users of the owning account only.

pub mod download;
mod local;
mod object;
pub mod routes;
pub mod sniff;

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use sha2::{Digest, Sha256};
use sqlx::{AnyConnection, Row};

pub use local::LocalMediaStore;
pub use object::ObjectMediaStore;

use crate::channels::store::DbResult;
use crate::db::new_id;
use crate::settings::{MediaStoreKind, Settings};

/// Why the store could not do what was asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaStoreError {
    pub store: &'static str,
    pub cause: String,
}

impl fmt::Display for MediaStoreError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "the {} media store failed: {}", self.store, self.cause)
    }
}

impl std::error::Error for MediaStoreError {}

pub type MediaStoreResult<T> = Result<T, MediaStoreError>;

/// Where media bytes are kept, by key (`{account_id}/{media_file_id}`). Putting a key again
/// replaces it; getting or deleting a key that is not there is not an error.
#[async_trait::async_trait]
pub trait MediaStore: Send + Sync {
    /// `local`, `s3` or `memory`, for logs and errors.
    fn name(&self) -> &'static str;

    async fn put(&self, key: &str, bytes: Bytes) -> MediaStoreResult<()>;

    /// The bytes, or `None` when nothing is stored under `key`.
    async fn get(&self, key: &str) -> MediaStoreResult<Option<Bytes>>;

    async fn delete(&self, key: &str) -> MediaStoreResult<()>;
}

/// The store the settings ask for. The S3 one reads its credentials from the environment.
pub fn store_from_settings(settings: &Settings) -> Result<Arc<dyn MediaStore>, String> {
    match settings.media_store {
        MediaStoreKind::Local => Ok(Arc::new(LocalMediaStore::new(settings.media_directory()))),
        MediaStoreKind::S3 => Ok(Arc::new(ObjectMediaStore::s3_from_settings(settings)?)),
    }
}

/// Keys are made here only, from ids we minted: no path tricks can come from outside.
pub fn storage_key(account_id: &str, media_file_id: &str) -> String {
    format!("{account_id}/{media_file_id}")
}

/// Whether a key has the shape [`storage_key`] makes (letters, digits, `-`, `_`, one `/`).
fn key_is_safe(key: &str) -> bool {
    let parts: Vec<&str> = key.split('/').collect();
    parts.len() == 2
        && parts.iter().all(|part| !part.is_empty() && part.bytes().all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_'))
}

/// Where a file came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaOrigin {
    /// An agent uploaded it to send.
    Upload,
    /// A customer sent it; downloaded from the upstream.
    Inbound,
}

impl MediaOrigin {
    pub fn as_str(self) -> &'static str {
        match self {
            MediaOrigin::Upload => "upload",
            MediaOrigin::Inbound => "inbound",
        }
    }
}

/// One row of `media_files`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaFileRow {
    pub id: String,
    pub account_id: String,
    pub storage_key: String,
    pub mime_type: String,
    pub file_name: Option<String>,
    pub size_bytes: u64,
    pub sha256: String,
}

/// A file about to be kept: its bytes and what they are.
pub struct NewMediaFile<'a> {
    pub account_id: &'a str,
    pub bytes: Bytes,
    pub mime_type: String,
    pub file_name: Option<String>,
    pub origin: MediaOrigin,
    pub upstream_media_id: Option<String>,
}

/// Put the bytes in the store under a new id; the row is written by [`insert_file`] (in the
/// caller's transaction) once they are safely there.
pub async fn put_bytes(store: &dyn MediaStore, file: &NewMediaFile<'_>) -> MediaStoreResult<MediaFileRow> {
    let id = new_id();
    let key = storage_key(file.account_id, &id);
    store.put(&key, file.bytes.clone()).await?;
    Ok(MediaFileRow {
        id,
        account_id: file.account_id.to_owned(),
        storage_key: key,
        mime_type: file.mime_type.clone(),
        file_name: file.file_name.clone(),
        size_bytes: file.bytes.len() as u64,
        sha256: hex::encode(Sha256::digest(&file.bytes)),
    })
}

pub async fn insert_file(connection: &mut AnyConnection, row: &MediaFileRow, file: &NewMediaFile<'_>, now: i64) -> DbResult<()> {
    sqlx::query(
        "INSERT INTO media_files (id, account_id, storage_key, mime_type, file_name, size_bytes, sha256, origin, \
         upstream_media_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(&row.id)
    .bind(&row.account_id)
    .bind(&row.storage_key)
    .bind(&row.mime_type)
    .bind(&row.file_name)
    .bind(i64::try_from(row.size_bytes).unwrap_or(i64::MAX))
    .bind(&row.sha256)
    .bind(file.origin.as_str())
    .bind(&file.upstream_media_id)
    .bind(now)
    .execute(connection)
    .await?;
    Ok(())
}

/// The account's file `id`; `None` for another account's (or nobody's).
pub async fn find_file(connection: &mut AnyConnection, account_id: &str, id: &str) -> DbResult<Option<MediaFileRow>> {
    if id.contains('\0') {
        return Ok(None);
    }
    let row = sqlx::query(
        "SELECT id, account_id, storage_key, mime_type, file_name, size_bytes, sha256 FROM media_files WHERE id = $1 AND account_id = $2",
    )
    .bind(id)
    .bind(account_id)
    .fetch_optional(connection)
    .await?;
    row.map(|row| {
        Ok(MediaFileRow {
            id: row.try_get("id")?,
            account_id: row.try_get("account_id")?,
            storage_key: row.try_get("storage_key")?,
            mime_type: row.try_get("mime_type")?,
            file_name: row.try_get("file_name")?,
            size_bytes: u64::try_from(row.try_get::<i64, _>("size_bytes")?).unwrap_or(0),
            sha256: row.try_get("sha256")?,
        })
    })
    .transpose()
}

/// A file name as a sender gave it, made safe to keep and show: the last path segment, without
/// control characters, at most 240 characters. Accents and every other letter stay as they are.
pub fn clean_file_name(name: &str) -> Option<String> {
    let last = name.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = last.chars().filter(|character| !character.is_control()).take(240).collect();
    let cleaned = cleaned.trim().to_owned();
    (!cleaned.is_empty() && cleaned != "." && cleaned != "..").then_some(cleaned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_ours_only() {
        assert!(key_is_safe(&storage_key("acc-1", "file_2")));
        for bad in ["../etc/passwd", "a/../b", "a/b/c", "a", "/a", "a/", "a/b.c", "a\\b/c"] {
            assert!(!key_is_safe(bad), "{bad}");
        }
    }

    #[test]
    fn file_names_keep_their_letters_and_lose_paths_and_controls() {
        assert_eq!(clean_file_name("Relevé – Crème brûlée.pdf").as_deref(), Some("Relevé – Crème brûlée.pdf"));
        assert_eq!(clean_file_name("C:\\Users\\x\\report.pdf").as_deref(), Some("report.pdf"));
        assert_eq!(clean_file_name("../../a\u{0}b\nc.txt").as_deref(), Some("abc.txt"));
        assert_eq!(clean_file_name(".."), None);
        assert_eq!(clean_file_name("   "), None);
    }
}
