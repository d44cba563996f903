//! The database: one `AnyPool` for SQLite (default) or PostgreSQL, and the migrations in
//! `server/migrations`, which are written once for both (TEXT and BIGINT columns, `$1` placeholders).

use std::path::Path;
use std::time::Duration;

use rand::RngCore;
use sqlx::any::AnyPoolOptions;
use sqlx::AnyConnection;
use sqlx::{AnyPool, Connection as _, Executor as _};

/// The migrations, embedded at compile time (`build.rs` rebuilds when one is added).
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// How long a request waits for a pooled connection before the database counts as unavailable.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// Connect to `database_url` and bring the schema up to date. The error is one line for the operator.
pub async fn connect_and_migrate(database_url: &str) -> Result<AnyPool, String> {
    let pool = connect(database_url).await?;
    MIGRATOR
        .run(&pool)
        .await
        .map_err(|cause| format!("cannot migrate the database: {}", one_line(&cause.to_string())))?;
    Ok(pool)
}

/// Open a pool on `sqlite:...` or `postgres://...`. A missing SQLite file (and its folder) is created.
pub async fn connect(database_url: &str) -> Result<AnyPool, String> {
    sqlx::any::install_default_drivers();
    let is_sqlite = database_url.starts_with("sqlite:");
    let url = if is_sqlite { prepare_sqlite_url(database_url)? } else { database_url.to_owned() };
    let options = AnyPoolOptions::new().acquire_timeout(ACQUIRE_TIMEOUT);
    let options = if is_sqlite {
        // One writer at a time in SQLite: WAL lets readers go on while it writes, and the busy
        // timeout makes a second writer wait instead of failing at once.
        options.after_connect(|connection: &mut AnyConnection, _meta| {
            Box::pin(async move {
                connection
                    .execute("PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;")
                    .await?;
                Ok(())
            })
        })
    } else {
        options
    };
    options
        .connect(&url)
        .await
        .map_err(|cause| format!("cannot open the database {}: {}", redact_url(database_url), one_line(&cause.to_string())))
}

/// `$first, $first+1, ...`: `count` numbered placeholders, for `IN (...)`.
pub fn placeholders(first: usize, count: usize) -> String {
    (first..first + count).map(|n| format!("${n}")).collect::<Vec<_>>().join(", ")
}

/// `($1, ..., $columns), ($columns+1, ...), ...`: `rows` rows of numbered placeholders, for a
/// multi-row `VALUES`.
pub fn value_rows(rows: usize, columns: usize) -> String {
    (0..rows).map(|row| format!("({})", placeholders(row * columns + 1, columns))).collect::<Vec<_>>().join(", ")
}

/// Connections at most in the [`connect_for_redoable_work`] pool.
const REDOABLE_WORK_CONNECTIONS: u32 = 4;

/// A second pool on the same database for work that is redone from durable rows when its commit
/// is lost: webhook processing, which is rebuilt from the stored deliveries. Its commits do not
/// wait for the disk (SQLite `synchronous = NORMAL` in WAL mode; PostgreSQL
/// `synchronous_commit = off`). Both logs are written in commit order, so a power cut loses only
/// the last commits, never one without those before it; and every delivery's receipt was
/// committed with the wait (through the main pool), which also flushes every commit before it.
/// So what survives is always a state the queue reached, and what it lost is processed again.
/// A crash of the server process alone loses nothing either way. `None` for an in-memory SQLite
/// database (a second pool would be another database): use the main pool there.
pub async fn connect_for_redoable_work(database_url: &str) -> Result<Option<AnyPool>, String> {
    sqlx::any::install_default_drivers();
    let is_sqlite = database_url.starts_with("sqlite:");
    if is_sqlite && (database_url.contains(":memory:") || database_url.contains("mode=memory")) {
        return Ok(None);
    }
    let url = if is_sqlite { prepare_sqlite_url(database_url)? } else { database_url.to_owned() };
    let options = AnyPoolOptions::new().acquire_timeout(ACQUIRE_TIMEOUT).max_connections(REDOABLE_WORK_CONNECTIONS);
    let options = options.after_connect(move |connection: &mut AnyConnection, _meta| {
        Box::pin(async move {
            let settings = if is_sqlite {
                "PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000; PRAGMA synchronous = NORMAL;"
            } else {
                "SET synchronous_commit = off"
            };
            connection.execute(settings).await?;
            Ok(())
        })
    });
    options
        .connect(&url)
        .await
        .map(Some)
        .map_err(|cause| format!("cannot open the database {}: {}", redact_url(database_url), one_line(&cause.to_string())))
}

/// `sqlite://data/x.db` -> the same URL with `mode=rwc`, after creating `data/`.
fn prepare_sqlite_url(database_url: &str) -> Result<String, String> {
    let rest = database_url.strip_prefix("sqlite://").or_else(|| database_url.strip_prefix("sqlite:")).unwrap_or("");
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    if path.is_empty() {
        return Err(format!("--database-url {database_url:?} names no SQLite file"));
    }
    if path != ":memory:" {
        if let Some(folder) = Path::new(path).parent().filter(|folder| !folder.as_os_str().is_empty()) {
            std::fs::create_dir_all(folder)
                .map_err(|cause| format!("cannot create the database folder {}: {cause}", folder.display()))?;
        }
    }
    let has_mode = query.split('&').any(|pair| pair.starts_with("mode="));
    Ok(match (query.is_empty(), has_mode) {
        (_, true) => database_url.to_owned(),
        (true, false) => format!("{database_url}?mode=rwc"),
        (false, false) => format!("{database_url}&mode=rwc"),
    })
}

/// The URL without its password, for messages.
fn redact_url(database_url: &str) -> String {
    match url::Url::parse(database_url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => database_url.to_owned(),
    }
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// True when the database answers (`SELECT 1`) within a few seconds.
pub async fn is_healthy(pool: &AnyPool) -> bool {
    let probe = async {
        let mut connection = pool.acquire().await?;
        connection.ping().await?;
        sqlx::query("SELECT 1").execute(&mut *connection).await
    };
    matches!(tokio::time::timeout(Duration::from_secs(3), probe).await, Ok(Ok(_)))
}

/// Now, in unix milliseconds (how every timestamp is stored).
pub fn now_millis() -> i64 {
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX)
}

/// A fresh random id (128 bits, hex): ids are made here, not by the database, so SQLite and
/// PostgreSQL behave the same.
pub fn new_id() -> String {
    let mut bytes = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// A fresh id that sorts after every id this process made before (16 hex digits of milliseconds
/// and a counter, then 16 random): messages get these, so two messages in the same second (WhatsApp's
/// timestamps are whole seconds) list in the order they were stored. Never for secrets: use [`new_id`].
pub fn ordered_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static LAST: AtomicU64 = AtomicU64::new(0);
    let now = u64::try_from(now_millis()).unwrap_or(0) << 16;
    let previous = LAST.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |last| Some(now.max(last + 1))).unwrap_or(0);
    let mut random = [0u8; 8];
    rand::thread_rng().fill_bytes(&mut random);
    format!("{:016x}{}", now.max(previous + 1), hex::encode(random))
}

/// True when the error is a UNIQUE constraint failing (a race lost to another insert).
pub fn is_unique_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(database_error) if database_error.is_unique_violation())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_number_on_from_the_first() {
        assert_eq!(placeholders(2, 3), "$2, $3, $4");
        assert_eq!(value_rows(2, 3), "($1, $2, $3), ($4, $5, $6)");
    }

    #[test]
    fn sqlite_urls_get_create_mode() {
        let folder = std::env::temp_dir().join(format!("wadesk-db-url-{}", new_id()));
        let url = format!("sqlite://{}/x.db", folder.display());
        assert_eq!(prepare_sqlite_url(&url).unwrap(), format!("{url}?mode=rwc"));
        assert!(folder.is_dir());
        assert_eq!(prepare_sqlite_url("sqlite::memory:?cache=shared").unwrap(), "sqlite::memory:?cache=shared&mode=rwc");
        assert_eq!(prepare_sqlite_url("sqlite://a.db?mode=ro").unwrap(), "sqlite://a.db?mode=ro");
        std::fs::remove_dir_all(folder).unwrap();
    }

    #[test]
    fn ordered_ids_sort_in_the_order_they_were_made() {
        let ids: Vec<String> = (0..1000).map(|_| ordered_id()).collect();
        let mut sorted = ids.clone();
        sorted.sort();
        assert_eq!(ids, sorted);
        assert_eq!(ids[0].len(), 32);
    }

    #[test]
    fn passwords_are_not_repeated_in_messages() {
        assert_eq!(redact_url("postgres://u:secret@h/db"), "postgres://u:***@h/db");
    }
}
