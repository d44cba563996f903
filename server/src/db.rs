//! The database: one `AnyPool` for SQLite (default) or PostgreSQL, and the migrations in
//! `server/migrations`, which are written once for both (TEXT and BIGINT columns, `$1` placeholders).

use std::path::Path;
use std::time::Duration;

use rand::RngCore;
use sqlx::any::AnyPoolOptions;
use sqlx::AnyConnection;
use sqlx::{AnyPool, Connection as _, Executor as _, Row as _};

/// The migrations, embedded at compile time (`build.rs` rebuilds when one is added).
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// How long a request waits for a pooled connection before the database counts as unavailable.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// Connect to `database_url` and bring the schema up to date. The error is one line for the operator.
pub async fn connect_and_migrate(database_url: &str) -> Result<AnyPool, String> {
    connect_and_migrate_with(database_url, Checkpoints::OnCommit).await
}

/// Who copies a SQLite pool's write-ahead log back into the database file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checkpoints {
    /// SQLite's default: the commit that grows the log past 1,000 pages does it, and waits.
    OnCommit,
    /// Nobody in the pool: [`checkpoint_periodically`] runs beside it (the server's pools).
    /// Measured on the webhook ingest: commits took 5.3 ms instead of 2.3 ms with the copy and
    /// its sync in them, and the single writer is the bottleneck.
    Apart,
}

/// [`connect_and_migrate`], with the WAL checkpointed as `checkpoints` says.
pub async fn connect_and_migrate_with(database_url: &str, checkpoints: Checkpoints) -> Result<AnyPool, String> {
    let pool = connect_with(database_url, checkpoints).await?;
    MIGRATOR
        .run(&pool)
        .await
        .map_err(|cause| format!("cannot migrate the database: {}", one_line(&cause.to_string())))?;
    Ok(pool)
}

/// Open a pool on `sqlite:...` or `postgres://...`. A missing SQLite file (and its folder) is created.
pub async fn connect(database_url: &str) -> Result<AnyPool, String> {
    connect_with(database_url, Checkpoints::OnCommit).await
}

async fn connect_with(database_url: &str, checkpoints: Checkpoints) -> Result<AnyPool, String> {
    sqlx::any::install_default_drivers();
    let is_sqlite = database_url.starts_with("sqlite:");
    let url = if is_sqlite { prepare_sqlite_url(database_url)? } else { database_url.to_owned() };
    let options = AnyPoolOptions::new().acquire_timeout(ACQUIRE_TIMEOUT);
    let options = if is_sqlite {
        // One writer at a time in SQLite: WAL lets readers go on while it writes, and the busy
        // timeout makes a second writer wait instead of failing at once.
        options.after_connect(move |connection: &mut AnyConnection, _meta| {
            Box::pin(async move {
                connection
                    .execute("PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;")
                    .await?;
                if checkpoints == Checkpoints::Apart {
                    // The log file is cut back to 64 MB when it starts over.
                    connection.execute("PRAGMA wal_autocheckpoint = 0; PRAGMA journal_size_limit = 67108864;").await?;
                }
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

/// `sql` as `backend` (`AnyConnection::backend_name`) binds it fastest: on SQLite, numbered
/// placeholders that appear in order (`$1`, `$2`, ... each once) become anonymous `?`, bound in
/// the same order. SQLite finds a numbered parameter's name by walking the statement's list of
/// them, so binding n of them costs n² (measured: binding a 200-row insert took longer than the
/// insert). Anything else is returned as it is.
pub fn for_backend(backend: &str, sql: String) -> String {
    if backend != "SQLite" {
        return sql;
    }
    let bytes = sql.as_bytes();
    let mut anonymous = String::with_capacity(sql.len());
    let (mut expected, mut copied, mut at) = (1usize, 0, 0);
    while at < bytes.len() {
        if bytes[at] == b'\'' {
            // A literal: no placeholder inside.
            match sql[at + 1..].find('\'') {
                Some(end) => at += end + 2,
                None => return sql,
            }
            continue;
        }
        if bytes[at] != b'$' {
            at += 1;
            continue;
        }
        let digits = bytes[at + 1..].iter().take_while(|byte| byte.is_ascii_digit()).count();
        if sql[at + 1..at + 1 + digits].parse::<usize>().ok() != Some(expected) {
            return sql;
        }
        anonymous.push_str(&sql[copied..at]);
        anonymous.push('?');
        expected += 1;
        at += 1 + digits;
        copied = at;
    }
    anonymous.push_str(&sql[copied..]);
    anonymous
}

/// The backend name of `pool`'s connections (as `AnyConnection::backend_name` says it).
pub fn backend_of(pool: &AnyPool) -> &'static str {
    if pool.connect_options().database_url.scheme().starts_with("postgres") { "PostgreSQL" } else { "SQLite" }
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
/// A crash of the server process alone loses nothing either way. On SQLite its WAL is
/// checkpointed apart ([`Checkpoints::Apart`]): run [`checkpoint_periodically`] beside it. `None` for an in-memory SQLite
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
                "PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000; PRAGMA synchronous = NORMAL; PRAGMA wal_autocheckpoint = 0; PRAGMA journal_size_limit = 67108864;"
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

/// How often [`checkpoint_periodically`] copies the WAL back.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(200);

/// On a SQLite file, copy the write-ahead log back into the database every
/// [`CHECKPOINT_EVERY`], from a connection of its own, for pools opened with
/// [`Checkpoints::Apart`]: a passive checkpoint waits for no writer and no writer waits for it
/// (the copy and its sync run beside the commits, on another core). Never returns; nothing to
/// do on PostgreSQL or an in-memory database.
pub async fn checkpoint_periodically(database_url: String) {
    if !database_url.starts_with("sqlite:") || database_url.contains(":memory:") || database_url.contains("mode=memory") {
        return std::future::pending().await;
    }
    let pool = match prepare_sqlite_url(&database_url) {
        Ok(url) => AnyPoolOptions::new().max_connections(1).min_connections(0).connect_lazy(&url),
        Err(cause) => {
            tracing::error!(%cause, "cannot checkpoint the database");
            return std::future::pending().await;
        }
    };
    let Ok(pool) = pool else {
        tracing::error!("cannot open a connection to checkpoint the database");
        return std::future::pending().await;
    };
    let mut every = tokio::time::interval(CHECKPOINT_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        // Busy (another checkpoint, a database being restored) is fine: the next tick tries again.
        let log_pages = match sqlx::query("PRAGMA wal_checkpoint(PASSIVE)").fetch_one(&pool).await {
            Ok(row) => row.try_get::<i64, _>(1).unwrap_or(0),
            Err(cause) => {
                tracing::debug!(%cause, "the WAL checkpoint did not run");
                continue;
            }
        };
        // Under writes without a pause the log is never all copied at the moment a writer starts,
        // which is when SQLite starts it over: past a bound, make it start over (writers wait
        // for this one copy, as they would for SQLite's own checkpoint).
        if log_pages >= WAL_RESTART_PAGES {
            if let Err(cause) = sqlx::query("PRAGMA wal_checkpoint(RESTART)").execute(&pool).await {
                tracing::debug!(%cause, "the WAL restart did not run");
            }
        }
    }
}

/// The WAL size (4 KB pages) past which [`checkpoint_periodically`] starts it over: 32 MB.
const WAL_RESTART_PAGES: i64 = 8192;

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
    fn sqlite_gets_anonymous_placeholders_only_when_they_are_in_order() {
        let sql = "INSERT INTO t (a, b) VALUES ($1, '$9 and $1'), ($2, $3)".to_owned();
        assert_eq!(for_backend("SQLite", sql.clone()), "INSERT INTO t (a, b) VALUES (?, '$9 and $1'), (?, ?)");
        assert_eq!(for_backend("PostgreSQL", sql.clone()), sql);
        for unordered in ["SELECT $2, $1", "SELECT $1, $1", "SELECT $1, $3", "SELECT $x", "SELECT '$1"] {
            assert_eq!(for_backend("SQLite", unordered.to_owned()), unordered);
        }
        assert_eq!(for_backend("SQLite", "SELECT 1".to_owned()), "SELECT 1");
    }

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
