//! Machine-level test dependencies from Debian: Chromium with its driver for browser tests, and a
//! PostgreSQL server so the server's tests run against both databases it supports.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::process::{Cmd, Outcome};

pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// The role the tests connect as; it may create the throwaway databases each test uses.
const TEST_ROLE: &str = "wadesk";

/// Install the Debian packages that are missing (one `apt-get update`, one install).
pub fn ensure_packages() -> Outcome {
    let mut missing = Vec::new();
    if !Path::new(CHROMIUM).exists() {
        missing.push("chromium");
    }
    if !Path::new(CHROMEDRIVER).exists() {
        missing.push("chromium-driver");
    }
    if Cmd::new("pg_ctlcluster").arg("--help").probe().is_none() && !Path::new("/usr/bin/pg_ctlcluster").exists() {
        missing.push("postgresql");
    }
    if missing.is_empty() {
        println!("    ok: chromium, chromium-driver, postgresql");
        return Ok(());
    }
    if !is_root() {
        return Err(format!("missing Debian packages; as root run: apt-get install -y {}", missing.join(" ")));
    }
    Cmd::new("apt-get").arg("update").env("DEBIAN_FRONTEND", "noninteractive").run()?;
    Cmd::new("apt-get")
        .args(["install", "-y"])
        .args(&missing)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .run()
}

fn is_root() -> bool {
    Cmd::new("id").arg("-u").probe().is_some_and(|uid| uid.trim() == "0")
}

/// A cluster as `pg_lsclusters` lists it.
#[derive(Debug, PartialEq, Eq)]
pub struct Cluster {
    pub version: String,
    pub name: String,
    pub port: u16,
    pub online: bool,
}

/// Parse `pg_lsclusters --no-header` (`15 main 5432 online postgres /var/lib/... log`).
pub fn parse_clusters(listing: &str) -> Vec<Cluster> {
    listing
        .lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let [version, name, port, status, ..] = fields.as_slice() else { return None };
            Some(Cluster {
                version: (*version).to_owned(),
                name: (*name).to_owned(),
                port: port.parse().ok()?,
                online: status.starts_with("online"),
            })
        })
        .collect()
}

/// Start PostgreSQL when needed, make sure the test role exists, and return the URL the tests
/// use. A `WADESK_TEST_POSTGRES_URL` already in the environment is used as it is.
pub fn ensure_postgres() -> Outcome<String> {
    if let Ok(url) = std::env::var("WADESK_TEST_POSTGRES_URL") {
        if !url.trim().is_empty() {
            println!("    using WADESK_TEST_POSTGRES_URL from the environment");
            return Ok(url);
        }
    }
    let listing = Cmd::new("pg_lsclusters").arg("--no-header").capture()?;
    let clusters = parse_clusters(&listing);
    // The newest installed major version, when several are.
    let cluster = match clusters.into_iter().max_by_key(|cluster| major_version(&cluster.version)) {
        Some(cluster) => cluster,
        None => create_cluster()?,
    };
    if cluster.online {
        println!("    ok: PostgreSQL {} ({}) is running on port {}", cluster.version, cluster.name, cluster.port);
    } else {
        Cmd::new("pg_ctlcluster").args([&cluster.version, &cluster.name, "start"]).run()?;
    }
    wait_until_ready(cluster.port)?;
    ensure_test_role(cluster.port)?;
    Ok(format!("postgres://{TEST_ROLE}:{TEST_ROLE}@127.0.0.1:{}/postgres", cluster.port))
}

fn major_version(version: &str) -> u32 {
    version.split('.').next().and_then(|major| major.parse().ok()).unwrap_or(0)
}

/// Installing the package normally creates `main`; make one if it did not.
fn create_cluster() -> Outcome<Cluster> {
    let installed = std::fs::read_dir("/usr/lib/postgresql")
        .map_err(|error| format!("PostgreSQL is not installed (/usr/lib/postgresql: {error})"))?
        .flatten()
        .filter_map(|entry| entry.file_name().to_str().map(str::to_owned))
        .max_by_key(|version| major_version(version))
        .ok_or("PostgreSQL is not installed (/usr/lib/postgresql is empty)")?;
    Cmd::new("pg_createcluster").args([installed.as_str(), "main", "--start"]).run()?;
    let listing = Cmd::new("pg_lsclusters").arg("--no-header").capture()?;
    parse_clusters(&listing)
        .into_iter()
        .find(|cluster| cluster.version == installed && cluster.name == "main")
        .ok_or_else(|| "pg_createcluster did not create a cluster".to_owned())
}

fn wait_until_ready(port: u16) -> Outcome {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let ready = Cmd::new("pg_isready").args(["-q", "-h", "127.0.0.1", "-p", &port.to_string()]).probe();
        if ready.is_some() {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!("PostgreSQL on port {port} did not accept connections within 60 s"));
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

fn psql_as_postgres(port: u16, sql: &str) -> Outcome<String> {
    Cmd::new("runuser")
        .args(["-u", "postgres", "--", "psql", "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-p"])
        .arg(port.to_string())
        .args(["-c", sql])
        .current_dir(Path::new("/"))
        .capture()
}

fn ensure_test_role(port: u16) -> Outcome {
    if !is_root() {
        println!("    not root: assuming role {TEST_ROLE} exists (CREATE ROLE {TEST_ROLE} LOGIN CREATEDB PASSWORD '{TEST_ROLE}')");
        return Ok(());
    }
    let exists = psql_as_postgres(port, &format!("SELECT 1 FROM pg_roles WHERE rolname = '{TEST_ROLE}'"))?;
    if exists.trim() == "1" {
        println!("    ok: role {TEST_ROLE}");
        return Ok(());
    }
    println!("    creating role {TEST_ROLE} (LOGIN CREATEDB)");
    psql_as_postgres(port, &format!("CREATE ROLE {TEST_ROLE} WITH LOGIN CREATEDB PASSWORD '{TEST_ROLE}'"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_pg_lsclusters_lines() {
        let listing = "15 main 5432 down   postgres /var/lib/postgresql/15/main /var/log/postgresql/postgresql-15-main.log\n\
                       16 test 5433 online postgres /var/lib/postgresql/16/test /var/log/postgresql/postgresql-16-test.log\n\
                       garbage\n";
        let clusters = parse_clusters(listing);
        assert_eq!(
            clusters,
            vec![
                Cluster { version: "15".into(), name: "main".into(), port: 5432, online: false },
                Cluster { version: "16".into(), name: "test".into(), port: 5433, online: true },
            ]
        );
    }

    #[test]
    fn compares_major_versions_numerically() {
        assert!(major_version("16") > major_version("9.6"));
        assert_eq!(major_version("not-a-version"), 0);
    }
}
