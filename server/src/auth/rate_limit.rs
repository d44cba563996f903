//! Slows down password guessing and mass sign-up. Attempts are counted over sliding windows;
//! past a limit the answer is 429 with how long to wait. In memory, so a restart forgets
//! (acceptable for one server process; several processes would need a shared store).
//!
//! Logins: a login attempt counts as a failure from the moment it starts (so a burst of
//! concurrent guesses cannot all slip past the check before the first one is recorded) until it
//! succeeds. Failures are limited per email and client address (one client cannot lock a user out
//! of every other client), per client address (across emails), and per email across all clients
//! (a ceiling against guessing from many addresses, high enough that locking a user out takes many
//! addresses). Sign-ups are limited per client address and in total.
//!
//! Time comes from a [`Clock`], so tests move it forward instead of sleeping.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Failed logins allowed per email from one client address in one window.
pub const FAILURES_PER_EMAIL_AND_CLIENT: usize = 5;
/// Failed logins allowed per client address in one window, across emails (an office shares one
/// address).
pub const FAILURES_PER_CLIENT: usize = 20;
/// Failed logins allowed per email in one window, across all client addresses.
pub const FAILURES_PER_EMAIL: usize = 50;
/// The login window.
pub const LOGIN_WINDOW: Duration = Duration::from_secs(15 * 60);
/// Sign-ups allowed per client address in one sign-up window.
pub const SIGNUPS_PER_CLIENT: usize = 5;
/// Sign-ups allowed in total (all clients) in one sign-up window.
pub const SIGNUPS_TOTAL: usize = 100;
/// The sign-up window.
pub const SIGNUP_WINDOW: Duration = Duration::from_secs(60 * 60);

/// Beyond this many tracked keys, expired entries are swept (then again at twice the count left),
/// so memory stays bounded by what the limits allow and sweeping stays rare.
const SWEEP_ABOVE_KEYS: usize = 10_000;

/// Where the limiters get the time.
pub trait Clock: Send + Sync {
    fn now(&self) -> Instant;
}

/// The real monotonic clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }
}

/// A clock that moves only when told to (tests).
#[derive(Debug)]
pub struct ManualClock {
    start: Instant,
    elapsed: Mutex<Duration>,
}

impl Default for ManualClock {
    fn default() -> Self {
        ManualClock { start: Instant::now(), elapsed: Mutex::new(Duration::ZERO) }
    }
}

impl ManualClock {
    pub fn advance(&self, by: Duration) {
        *self.elapsed.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Instant {
        self.start + *self.elapsed.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The numbers behind [`LoginRateLimiter`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginLimits {
    pub per_email_and_client: usize,
    pub per_client: usize,
    pub per_email: usize,
    pub window: Duration,
}

impl Default for LoginLimits {
    fn default() -> Self {
        LoginLimits {
            per_email_and_client: FAILURES_PER_EMAIL_AND_CLIENT,
            per_client: FAILURES_PER_CLIENT,
            per_email: FAILURES_PER_EMAIL,
            window: LOGIN_WINDOW,
        }
    }
}

/// A login attempt that counts as a failure until [`LoginRateLimiter::succeeded`] or
/// [`LoginRateLimiter::cancel`] says otherwise.
#[derive(Debug)]
#[must_use = "an attempt counts as a failure until it is marked succeeded or cancelled"]
pub struct LoginAttempt {
    email: String,
    client: IpAddr,
    at: Instant,
}

pub struct LoginRateLimiter {
    clock: Arc<dyn Clock>,
    windows: Mutex<LoginWindows>,
}

struct LoginWindows {
    by_email_and_client: SlidingWindow<(String, IpAddr)>,
    by_client: SlidingWindow<IpAddr>,
    by_email: SlidingWindow<String>,
}

impl Default for LoginRateLimiter {
    fn default() -> Self {
        LoginRateLimiter::new(LoginLimits::default(), Arc::new(SystemClock))
    }
}

impl LoginRateLimiter {
    pub fn new(limits: LoginLimits, clock: Arc<dyn Clock>) -> Self {
        let windows = LoginWindows {
            by_email_and_client: SlidingWindow::new(limits.per_email_and_client, limits.window),
            by_client: SlidingWindow::new(limits.per_client, limits.window),
            by_email: SlidingWindow::new(limits.per_email, limits.window),
        };
        LoginRateLimiter { clock, windows: Mutex::new(windows) }
    }

    fn lock(&self) -> MutexGuard<'_, LoginWindows> {
        // A panic while holding the lock leaves only counters behind: keep using them.
        self.windows.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Start a login attempt for `email` (lowercased) from `client`: `Err(seconds to wait)` when
    /// a limit is reached, otherwise the attempt, counted as a failure from now on.
    pub fn begin(&self, email: &str, client: IpAddr) -> Result<LoginAttempt, u64> {
        let now = self.clock.now();
        let mut windows = self.lock();
        let pair = (email.to_owned(), client);
        let waits = [
            windows.by_email_and_client.wait(&pair, now),
            windows.by_client.wait(&client, now),
            windows.by_email.wait(email, now),
        ];
        if let Some(wait) = waits.into_iter().flatten().max() {
            return Err(whole_seconds(wait));
        }
        windows.by_email_and_client.record(pair, now);
        windows.by_client.record(client, now);
        windows.by_email.record(email.to_owned(), now);
        Ok(LoginAttempt { email: email.to_owned(), client, at: now })
    }

    /// The right password: the attempt is not a failure, and this email's failures from this
    /// client start over. The client's count across emails and the email's ceiling keep their
    /// earlier failures (one known account must not reset the counters while guessing others).
    pub fn succeeded(&self, attempt: LoginAttempt) {
        let mut windows = self.lock();
        windows.by_email_and_client.forget(&(attempt.email.clone(), attempt.client));
        windows.by_client.remove_one(&attempt.client, attempt.at);
        windows.by_email.remove_one(attempt.email.as_str(), attempt.at);
    }

    /// The attempt could not be decided (the database failed): it does not count.
    pub fn cancel(&self, attempt: LoginAttempt) {
        let mut windows = self.lock();
        let LoginAttempt { email, client, at } = attempt;
        windows.by_client.remove_one(&client, at);
        windows.by_email.remove_one(email.as_str(), at);
        windows.by_email_and_client.remove_one(&(email, client), at);
    }
}

/// The numbers behind [`SignupRateLimiter`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignupLimits {
    pub per_client: usize,
    pub total: usize,
    pub window: Duration,
}

impl Default for SignupLimits {
    fn default() -> Self {
        SignupLimits { per_client: SIGNUPS_PER_CLIENT, total: SIGNUPS_TOTAL, window: SIGNUP_WINDOW }
    }
}

pub struct SignupRateLimiter {
    clock: Arc<dyn Clock>,
    windows: Mutex<(SlidingWindow<IpAddr>, SlidingWindow<()>)>,
}

impl Default for SignupRateLimiter {
    fn default() -> Self {
        SignupRateLimiter::new(SignupLimits::default(), Arc::new(SystemClock))
    }
}

impl SignupRateLimiter {
    pub fn new(limits: SignupLimits, clock: Arc<dyn Clock>) -> Self {
        let windows = (SlidingWindow::new(limits.per_client, limits.window), SlidingWindow::new(limits.total, limits.window));
        SignupRateLimiter { clock, windows: Mutex::new(windows) }
    }

    /// Count a sign-up attempt from `client`, or `Err(seconds to wait)` when a limit is reached.
    /// Every valid attempt counts, whether or not the account is then created: each costs a
    /// password hash or tells whether a name or email is taken.
    pub fn attempt(&self, client: IpAddr) -> Result<(), u64> {
        let now = self.clock.now();
        let mut windows = self.windows.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let (by_client, total) = &mut *windows;
        if let Some(wait) = [by_client.wait(&client, now), total.wait(&(), now)].into_iter().flatten().max() {
            return Err(whole_seconds(wait));
        }
        by_client.record(client, now);
        total.record((), now);
        Ok(())
    }
}

/// Seconds to wait, rounded up, at least 1 (a `Retry-After: 0` would invite an instant retry).
fn whole_seconds(wait: Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
}

/// When each key's recent events happened, at most `limit` per key.
struct SlidingWindow<K> {
    limit: usize,
    window: Duration,
    events: HashMap<K, VecDeque<Instant>>,
    sweep_above: usize,
}

impl<K: Hash + Eq> SlidingWindow<K> {
    fn new(limit: usize, window: Duration) -> Self {
        SlidingWindow { limit, window, events: HashMap::new(), sweep_above: SWEEP_ABOVE_KEYS }
    }

    /// How long `key` must wait before one more event fits, if it must.
    fn wait<Q>(&mut self, key: &Q, now: Instant) -> Option<Duration>
    where
        K: std::borrow::Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let window = self.window;
        if self.limit == 0 {
            return Some(window);
        }
        let times = self.events.get_mut(key)?;
        drop_expired(times, now, window);
        if times.len() < self.limit {
            return None;
        }
        let oldest_that_counts = times[times.len() - self.limit];
        Some(window.saturating_sub(now.saturating_duration_since(oldest_that_counts)).max(Duration::from_nanos(1)))
    }

    fn record(&mut self, key: K, now: Instant) {
        if self.events.len() > self.sweep_above {
            let window = self.window;
            self.events.retain(|_, times| {
                drop_expired(times, now, window);
                !times.is_empty()
            });
            self.sweep_above = SWEEP_ABOVE_KEYS.max(self.events.len() * 2);
        }
        let times = self.events.entry(key).or_default();
        drop_expired(times, now, self.window);
        times.push_back(now);
        // Only the last `limit` events matter for the wait.
        while times.len() > self.limit.max(1) {
            times.pop_front();
        }
    }

    /// Take back one event recorded at `at` (if it is still there).
    fn remove_one<Q>(&mut self, key: &Q, at: Instant)
    where
        K: std::borrow::Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        if let Some(times) = self.events.get_mut(key) {
            if let Some(index) = times.iter().rposition(|time| *time == at) {
                times.remove(index);
            }
            if times.is_empty() {
                self.events.remove(key);
            }
        }
    }

    fn forget<Q>(&mut self, key: &Q)
    where
        K: std::borrow::Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.events.remove(key);
    }
}

fn drop_expired(times: &mut VecDeque<Instant>, now: Instant, window: Duration) {
    while times.front().is_some_and(|first| now.saturating_duration_since(*first) >= window) {
        times.pop_front();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOME: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);
    const AWAY: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(203, 0, 113, 9));
    const MINUTE: Duration = Duration::from_secs(60);

    fn login_limiter(per_email_and_client: usize, per_client: usize, per_email: usize) -> (LoginRateLimiter, Arc<ManualClock>) {
        let clock = Arc::new(ManualClock::default());
        let limits = LoginLimits { per_email_and_client, per_client, per_email, window: MINUTE };
        (LoginRateLimiter::new(limits, clock.clone()), clock)
    }

    fn fail(limiter: &LoginRateLimiter, email: &str, client: IpAddr, times: usize) {
        for _ in 0..times {
            let _failed = limiter.begin(email, client).expect("not limited yet");
        }
    }

    #[test]
    fn the_email_and_client_limit_blocks_that_client_only_and_a_success_resets_it() {
        let (limiter, clock) = login_limiter(3, 100, 100);
        fail(&limiter, "a@x.io", HOME, 3);
        clock.advance(Duration::from_millis(500));
        assert_eq!(limiter.begin("a@x.io", HOME).unwrap_err(), 60, "59.5 s round up");
        assert!(limiter.begin("b@x.io", HOME).is_ok(), "other emails are not blocked");
        let elsewhere = limiter.begin("a@x.io", AWAY).expect("the user logs in from elsewhere");
        limiter.succeeded(elsewhere);
        assert!(limiter.begin("a@x.io", HOME).is_err(), "a success elsewhere does not unblock this client");
    }

    #[test]
    fn a_success_takes_back_its_own_attempt_and_resets_the_pair() {
        let (limiter, _clock) = login_limiter(3, 4, 100);
        fail(&limiter, "a@x.io", HOME, 2);
        let right = limiter.begin("a@x.io", HOME).unwrap();
        limiter.succeeded(right);
        fail(&limiter, "a@x.io", HOME, 2);
        // 4 failures from HOME in all: the client limit is reached, the success did not count.
        assert!(limiter.begin("b@x.io", HOME).is_err());
    }

    #[test]
    fn concurrent_attempts_count_before_they_finish() {
        let (limiter, _clock) = login_limiter(3, 100, 100);
        let pending: Vec<LoginAttempt> = (0..3).map(|_| limiter.begin("a@x.io", HOME).unwrap()).collect();
        assert!(limiter.begin("a@x.io", HOME).is_err(), "three guesses in flight already");
        for attempt in pending {
            limiter.cancel(attempt);
        }
        assert!(limiter.begin("a@x.io", HOME).is_ok(), "cancelled attempts do not count");
    }

    #[test]
    fn the_client_limit_spans_emails() {
        let (limiter, _clock) = login_limiter(100, 2, 100);
        fail(&limiter, "a@x.io", HOME, 1);
        fail(&limiter, "b@x.io", HOME, 1);
        assert!(limiter.begin("c@x.io", HOME).is_err());
        assert!(limiter.begin("c@x.io", AWAY).is_ok());
    }

    #[test]
    fn the_email_ceiling_spans_clients() {
        let (limiter, clock) = login_limiter(2, 100, 6);
        for client in 1..=3u8 {
            fail(&limiter, "a@x.io", IpAddr::V4(std::net::Ipv4Addr::new(198, 51, 100, client)), 2);
            clock.advance(Duration::from_secs(10));
        }
        // Six failures for the email from three clients; the first two were 30 s ago.
        assert_eq!(limiter.begin("a@x.io", AWAY).unwrap_err(), 30);
        assert!(limiter.begin("b@x.io", AWAY).is_ok());
        clock.advance(Duration::from_secs(30));
        assert!(limiter.begin("a@x.io", AWAY).is_ok(), "the oldest two expired");
    }

    #[test]
    fn failures_expire_with_the_window() {
        let (limiter, clock) = login_limiter(1, 100, 100);
        fail(&limiter, "a@x.io", HOME, 1);
        assert!(limiter.begin("a@x.io", HOME).is_err());
        clock.advance(MINUTE - Duration::from_millis(1));
        assert_eq!(limiter.begin("a@x.io", HOME).unwrap_err(), 1, "a millisecond rounds up to a second");
        clock.advance(Duration::from_millis(1));
        assert!(limiter.begin("a@x.io", HOME).is_ok());
    }

    #[test]
    fn many_keys_are_swept_once_expired() {
        let (limiter, clock) = login_limiter(5, 5, 5);
        for n in 0..=(SWEEP_ABOVE_KEYS as u32) {
            fail(&limiter, &format!("user{n}@x.io"), IpAddr::V4(n.into()), 1);
        }
        clock.advance(MINUTE);
        fail(&limiter, "late@x.io", HOME, 1);
        let windows = limiter.lock();
        assert_eq!(windows.by_email.events.len(), 1);
        assert_eq!(windows.by_client.events.len(), 1);
        assert_eq!(windows.by_email_and_client.events.len(), 1);
    }

    #[test]
    fn signups_are_limited_per_client_and_in_total() {
        let clock = Arc::new(ManualClock::default());
        let limiter = SignupRateLimiter::new(SignupLimits { per_client: 2, total: 3, window: MINUTE }, clock.clone());
        limiter.attempt(HOME).unwrap();
        clock.advance(Duration::from_secs(15));
        limiter.attempt(HOME).unwrap();
        assert_eq!(limiter.attempt(HOME).unwrap_err(), 45);
        limiter.attempt(AWAY).unwrap();
        let third = IpAddr::V4(std::net::Ipv4Addr::new(198, 51, 100, 1));
        assert_eq!(limiter.attempt(third).unwrap_err(), 45, "the total is reached");
        clock.advance(Duration::from_secs(45));
        limiter.attempt(third).unwrap();
        // HOME has one sign-up left in its window, but the total is reached again until 15 s on.
        assert_eq!(limiter.attempt(HOME).unwrap_err(), 15);
    }

    #[test]
    fn a_zero_limit_refuses_everything_without_panicking() {
        let clock = Arc::new(ManualClock::default());
        let limiter = SignupRateLimiter::new(SignupLimits { per_client: 0, total: 0, window: MINUTE }, clock);
        assert!(limiter.attempt(HOME).is_err());
    }
}
