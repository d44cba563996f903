//! Which rows are in the DOM: the conversation list shows only the rows in view (plus a few
//! above and below), the thread only a window of messages around where the agent reads. Plain
//! functions of numbers, so tests check them without a browser layout.

use std::ops::Range;

/// Every conversation row is this tall (CSS `.conversation-row` agrees), so the list can place
/// rows without measuring them.
pub const ROW_HEIGHT: f64 = 72.0;
/// Rows kept above and below the visible ones, so a fast scroll shows no gap.
pub const OVERSCAN: usize = 6;

/// The rows of a `count`-row list that are in the DOM when it is scrolled to `scroll_top` in a
/// viewport `viewport_height` tall.
pub fn visible_rows(scroll_top: f64, viewport_height: f64, count: usize) -> Range<usize> {
    let first = (scroll_top.max(0.0) / ROW_HEIGHT).floor() as usize;
    let shown = (viewport_height.max(0.0) / ROW_HEIGHT).ceil() as usize + 1;
    let start = first.saturating_sub(OVERSCAN).min(count);
    let end = (first + shown + OVERSCAN).min(count);
    start..end
}

/// Where to scroll after the rows were reordered (`before` -> `after`, by id), so the row at the
/// top of the view stays there: a conversation moving to the top does not push what the agent is
/// reading down. `None` when the view is at the very top (the agent sees the new row arrive) or
/// the row is gone.
pub fn anchored_scroll_top(before: &[String], after: &[String], scroll_top: f64) -> Option<f64> {
    if scroll_top <= 0.0 {
        return None;
    }
    let index = (scroll_top / ROW_HEIGHT).floor() as usize;
    let anchor = before.get(index)?;
    let offset = scroll_top - index as f64 * ROW_HEIGHT;
    let moved_to = after.iter().position(|id| id == anchor)?;
    (moved_to != index).then_some(moved_to as f64 * ROW_HEIGHT + offset)
}

/// The list is scrolled near its end: time to load the next page.
pub fn near_the_end(scroll_top: f64, viewport_height: f64, count: usize) -> bool {
    scroll_top + viewport_height >= count as f64 * ROW_HEIGHT - ROW_HEIGHT * 5.0
}

/// The most messages of a thread in the DOM at once.
pub const THREAD_WINDOW: usize = 80;
/// How many messages the window moves by when the agent reaches one of its ends.
pub const THREAD_STEP: usize = 30;

/// The window of a thread's messages (by index, oldest first) that is in the DOM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThreadWindow {
    start: usize,
    /// At the newest message: the window follows what arrives.
    follow: bool,
}

impl Default for ThreadWindow {
    fn default() -> ThreadWindow {
        ThreadWindow { start: 0, follow: true }
    }
}

impl ThreadWindow {
    /// The messages shown out of `count`.
    pub fn range(&self, count: usize) -> Range<usize> {
        if self.follow {
            count.saturating_sub(THREAD_WINDOW)..count
        } else {
            let start = self.start.min(count.saturating_sub(1));
            start..(start + THREAD_WINDOW).min(count)
        }
    }

    pub fn follows(&self) -> bool {
        self.follow
    }

    /// The agent scrolled to the top: show older messages. True when the window is at the oldest
    /// loaded message (the next older page must be loaded).
    pub fn scrolled_to_top(&mut self, count: usize) -> bool {
        let start = self.range(count).start;
        if start == 0 {
            return true;
        }
        self.start = start.saturating_sub(THREAD_STEP);
        self.follow = false;
        false
    }

    /// `added` older messages were put before the ones shown (indexes move by as many), and the
    /// window moves up into them.
    pub fn prepended(&mut self, added: usize, count: usize) {
        let start = self.range(count.saturating_sub(added)).start + added;
        self.start = start.saturating_sub(THREAD_STEP);
        self.follow = self.start + THREAD_WINDOW >= count;
    }

    /// The agent scrolled to the bottom of the window: show newer messages, and follow once the
    /// newest is in.
    pub fn scrolled_to_bottom(&mut self, count: usize) {
        let range = self.range(count);
        if range.end >= count {
            self.follow = true;
            return;
        }
        self.start = (range.start + THREAD_STEP).min(count.saturating_sub(THREAD_WINDOW));
        self.follow = self.start + THREAD_WINDOW >= count;
    }

    /// Back to the newest message (jump to newest, a message sent).
    pub fn to_newest(&mut self) {
        self.follow = true;
    }
}
