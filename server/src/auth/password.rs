//! Password hashing with Argon2id (the crate's defaults: 19 MiB, 2 passes). Hashing is slow on
//! purpose, so it runs on the blocking pool, never on the async workers. Request handlers hash
//! through [`PasswordHashing`], which lets only a few hashes run at once: a burst of logins or
//! sign-ups then waits its turn instead of taking 19 MiB each and every core. The free functions
//! [`hash`] and [`verify`] have no such limit (first-run setup and tests).

use std::sync::{Arc, LazyLock};

use tokio::sync::Semaphore;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

use crate::web::error::ApiError;

/// A hash of a random password, checked when the email is unknown so that "no such user" takes as
/// long as "wrong password" and the timing does not tell which emails exist.
static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| {
    let random_password = crate::db::new_id();
    hash_now(&random_password).unwrap_or_default()
});

/// At most this many hashes at a time: the CPU count, and at least 2.
pub fn default_concurrency() -> usize {
    std::thread::available_parallelism().map(usize::from).unwrap_or(1).max(2)
}

/// Hashing with a concurrency limit; one per server (in the app state).
#[derive(Debug)]
pub struct PasswordHashing {
    permits: Arc<Semaphore>,
}

impl Default for PasswordHashing {
    fn default() -> Self {
        PasswordHashing::new(default_concurrency())
    }
}

impl PasswordHashing {
    /// `concurrency` hashes at a time (at least one).
    pub fn new(concurrency: usize) -> Self {
        PasswordHashing { permits: Arc::new(Semaphore::new(concurrency.max(1))) }
    }

    pub async fn hash(&self, password: String) -> Result<String, ApiError> {
        self.run(move || hash_now(&password)).await?.map_err(ApiError::internal)
    }

    /// Check `password` against `stored_hash`, or against a dummy hash when there is no user.
    pub async fn verify(&self, password: String, stored_hash: Option<String>) -> bool {
        self.run(move || verify_now_or_dummy(&password, stored_hash)).await.unwrap_or(false)
    }

    /// Wait for a permit, then run `work` on the blocking pool. The permit goes with the work, so
    /// it is held until the hash is done even when the request is dropped meanwhile.
    async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Result<T, ApiError> {
        let permit = self.permits.clone().acquire_owned().await.map_err(ApiError::internal)?;
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            work()
        })
        .await
        .map_err(ApiError::internal)
    }
}

/// Hash without a concurrency limit (first-run setup, tests); handlers use [`PasswordHashing`].
pub async fn hash(password: String) -> Result<String, ApiError> {
    tokio::task::spawn_blocking(move || hash_now(&password))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)
}

/// [`PasswordHashing::verify`] without a concurrency limit (tests).
pub async fn verify(password: String, stored_hash: Option<String>) -> bool {
    tokio::task::spawn_blocking(move || verify_now_or_dummy(&password, stored_hash)).await.unwrap_or(false)
}

fn verify_now_or_dummy(password: &str, stored_hash: Option<String>) -> bool {
    let known_user = stored_hash.is_some();
    let hash = stored_hash.unwrap_or_else(|| DUMMY_HASH.clone());
    verify_now(password, &hash) && known_user
}

fn hash_now(password: &str) -> Result<String, argon2::password_hash::Error> {
    let salt = SaltString::generate(&mut OsRng);
    Ok(Argon2::default().hash_password(password.as_bytes(), &salt)?.to_string())
}

fn verify_now(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_its_password_only() {
        let stored = hash("correct horse battery".to_owned()).await.unwrap();
        assert!(stored.starts_with("$argon2id$"));
        assert!(verify("correct horse battery".to_owned(), Some(stored.clone())).await);
        assert!(!verify("wrong horse battery".to_owned(), Some(stored)).await);
        assert!(!verify("anything".to_owned(), None).await);
    }

    #[tokio::test]
    async fn limited_hashing_verifies_like_the_free_functions() {
        let hashing = PasswordHashing::new(1);
        let stored = hashing.hash("correct horse battery".to_owned()).await.unwrap();
        assert!(hashing.verify("correct horse battery".to_owned(), Some(stored.clone())).await);
        assert!(!hashing.verify("wrong horse battery".to_owned(), Some(stored)).await);
        assert!(!hashing.verify("anything".to_owned(), None).await);
        assert!(default_concurrency() >= 2);
    }

    #[tokio::test]
    async fn no_more_hashes_run_at_once_than_there_are_permits() {
        let hashing = Arc::new(PasswordHashing::new(2));
        let running = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let most = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let (hashing, running, most) = (hashing.clone(), running.clone(), most.clone());
                tokio::spawn(async move {
                    hashing
                        .run(move || {
                            use std::sync::atomic::Ordering::SeqCst;
                            let now = running.fetch_add(1, SeqCst) + 1;
                            most.fetch_max(now, SeqCst);
                            // Real work, as long as a hash, so the tasks overlap.
                            let _ = hash_now("some password");
                            running.fetch_sub(1, SeqCst);
                        })
                        .await
                        .unwrap()
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        let most = most.load(std::sync::atomic::Ordering::SeqCst);
        assert!((1..=2).contains(&most), "{most} at once");
    }
}
