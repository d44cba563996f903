//! The account's numbers as the pages show them (Numbers, and the Inbox's number filter): loaded
//! by a page, then kept current by `number` and `numberRemoved` events.

use api_types::NumberDetails;
use leptos::prelude::*;

/// `Copy`; shared through the realtime context.
#[derive(Debug, Clone, Copy)]
pub struct NumbersStore {
    /// `None` until a page has loaded the list.
    pub numbers: RwSignal<Option<Vec<NumberDetails>>>,
}

impl NumbersStore {
    pub fn new() -> NumbersStore {
        NumbersStore { numbers: RwSignal::new(None) }
    }

    /// The list as the server answered it.
    pub fn replace(&self, numbers: Vec<NumberDetails>) {
        self.numbers.set(Some(numbers));
    }

    /// A number as it is now: updated where it is shown, or added after the others. Before the
    /// first load there is no list to change (the load brings it).
    pub fn apply_number(&self, number: NumberDetails) {
        self.numbers.update(|numbers| {
            if let Some(numbers) = numbers {
                match numbers.iter_mut().find(|shown| shown.phone_number_id == number.phone_number_id) {
                    Some(shown) => *shown = number,
                    None => numbers.push(number),
                }
            }
        });
    }

    pub fn apply_removed(&self, phone_number_id: &str) {
        self.numbers.update(|numbers| {
            if let Some(numbers) = numbers {
                numbers.retain(|shown| shown.phone_number_id != phone_number_id);
            }
        });
    }

    /// One number (reactive).
    pub fn get(&self, phone_number_id: &str) -> Option<NumberDetails> {
        self.numbers.with(|numbers| numbers.as_ref()?.iter().find(|shown| shown.phone_number_id == phone_number_id).cloned())
    }
}

impl Default for NumbersStore {
    fn default() -> NumbersStore {
        NumbersStore::new()
    }
}
