//! Slows down password guessing: failed logins are counted per email and per client address over
//! a sliding window; past the limit, logins answer 429 with how long to wait. In memory, so a
//! restart forgets (acceptable for one server process; several processes would need a shared store).

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failed logins allowed per email in one window.
pub const FAILURES_PER_EMAIL: usize = 5;
/// Failed logins allowed per client address in one window (an office shares one address).
pub const FAILURES_PER_ADDRESS: usize = 20;
/// The sliding window.
pub const WINDOW: Duration = Duration::from_secs(15 * 60);

/// Beyond this many tracked keys, empty entries are dropped so memory stays bounded.
const PRUNE_ABOVE_KEYS: usize = 10_000;

pub struct LoginRateLimiter {
    by_email: FailureWindow,
    by_address: FailureWindow,
}

impl Default for LoginRateLimiter {
    fn default() -> Self {
        LoginRateLimiter::new(FAILURES_PER_EMAIL, FAILURES_PER_ADDRESS, WINDOW)
    }
}

impl LoginRateLimiter {
    pub fn new(per_email: usize, per_address: usize, window: Duration) -> Self {
        LoginRateLimiter {
            by_email: FailureWindow::new(per_email, window),
            by_address: FailureWindow::new(per_address, window),
        }
    }

    /// `Err(seconds)` when this email or this address must wait before trying again.
    pub fn check(&self, email: &str, address: IpAddr) -> Result<(), u64> {
        let now = Instant::now();
        let waits = [self.by_email.wait(email, now), self.by_address.wait(&address.to_string(), now)];
        match waits.into_iter().flatten().max() {
            Some(wait) => Err(wait.as_secs_f64().ceil().max(1.0) as u64),
            None => Ok(()),
        }
    }

    pub fn record_failure(&self, email: &str, address: IpAddr) {
        let now = Instant::now();
        self.by_email.record(email, now);
        self.by_address.record(&address.to_string(), now);
    }

    /// The right password for this email: its count starts over (the address count stays, so one
    /// known account cannot be used to reset the counter while guessing others).
    pub fn record_success(&self, email: &str) {
        self.by_email.forget(email);
    }
}

struct FailureWindow {
    limit: usize,
    window: Duration,
    failures: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl FailureWindow {
    fn new(limit: usize, window: Duration) -> Self {
        FailureWindow { limit, window, failures: Mutex::new(HashMap::new()) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, VecDeque<Instant>>> {
        // A panic while holding the lock leaves only counters behind: keep using them.
        self.failures.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn wait(&self, key: &str, now: Instant) -> Option<Duration> {
        let mut failures = self.lock();
        let times = failures.get_mut(key)?;
        drop_expired(times, now, self.window);
        if times.len() < self.limit {
            return None;
        }
        let oldest_that_counts = times[times.len() - self.limit];
        Some(self.window.saturating_sub(now.duration_since(oldest_that_counts)))
    }

    fn record(&self, key: &str, now: Instant) {
        let mut failures = self.lock();
        if failures.len() > PRUNE_ABOVE_KEYS {
            let window = self.window;
            failures.retain(|_, times| {
                drop_expired(times, now, window);
                !times.is_empty()
            });
        }
        let times = failures.entry(key.to_owned()).or_default();
        drop_expired(times, now, self.window);
        times.push_back(now);
        // Only the last `limit` failures matter for the wait.
        while times.len() > self.limit {
            times.pop_front();
        }
    }

    fn forget(&self, key: &str) {
        self.lock().remove(key);
    }
}

fn drop_expired(times: &mut VecDeque<Instant>, now: Instant, window: Duration) {
    while times.front().is_some_and(|first| now.duration_since(*first) >= window) {
        times.pop_front();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOME: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

    #[test]
    fn the_email_limit_blocks_then_a_success_resets_it() {
        let limiter = LoginRateLimiter::new(3, 100, Duration::from_secs(60));
        for _ in 0..3 {
            assert!(limiter.check("a@x.io", HOME).is_ok());
            limiter.record_failure("a@x.io", HOME);
        }
        let wait = limiter.check("a@x.io", HOME).unwrap_err();
        assert!((59..=60).contains(&wait), "{wait}");
        assert!(limiter.check("b@x.io", HOME).is_ok(), "other emails are not blocked");
        limiter.record_success("a@x.io");
        assert!(limiter.check("a@x.io", HOME).is_ok());
    }

    #[test]
    fn the_address_limit_spans_emails() {
        let limiter = LoginRateLimiter::new(100, 2, Duration::from_secs(60));
        limiter.record_failure("a@x.io", HOME);
        limiter.record_failure("b@x.io", HOME);
        assert!(limiter.check("c@x.io", HOME).is_err());
        assert!(limiter.check("c@x.io", "10.0.0.1".parse().unwrap()).is_ok());
    }

    #[test]
    fn failures_expire_with_the_window() {
        let limiter = LoginRateLimiter::new(1, 100, Duration::from_millis(20));
        limiter.record_failure("a@x.io", HOME);
        assert!(limiter.check("a@x.io", HOME).is_err());
        std::thread::sleep(Duration::from_millis(30));
        assert!(limiter.check("a@x.io", HOME).is_ok());
    }
}
