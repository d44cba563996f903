//! The inbox's wall clock (unix milliseconds): the system's, or one a test sets and moves
//! (`Settings::clock`), so time windows such as the typing indicator's are tested without waiting.

use std::fmt;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

#[derive(Clone, Default)]
pub struct WallClock {
    /// `None`: the system clock.
    manual: Option<Arc<AtomicI64>>,
}

impl WallClock {
    /// A clock that stands at `start` (unix ms) until [`WallClock::advance`] moves it.
    pub fn manual(start: i64) -> WallClock {
        WallClock { manual: Some(Arc::new(AtomicI64::new(start))) }
    }

    pub fn now_millis(&self) -> i64 {
        match &self.manual {
            Some(time) => time.load(Ordering::SeqCst),
            None => crate::db::now_millis(),
        }
    }

    /// Move a manual clock on by `millis` (the system clock moves by itself).
    pub fn advance(&self, millis: i64) {
        if let Some(time) = &self.manual {
            time.fetch_add(millis, Ordering::SeqCst);
        }
    }
}

impl fmt::Debug for WallClock {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.manual {
            Some(time) => write!(formatter, "WallClock(manual at {})", time.load(Ordering::SeqCst)),
            None => formatter.write_str("WallClock(system)"),
        }
    }
}
