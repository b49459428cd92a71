//! One number's texts go one after another, across rounds too.
//!
//! A round's texts to one number already go in turn (one task per number).
//! Rounds now overlap, the next starting while the last texts of the one
//! before are out, so a number in both waits for its turn: a text is never
//! at the provider while another to the same number is, and what the first
//! one's answer implies (an opt-out, the count towards the cap) is known
//! before the next is checked and sent.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::{Mutex as Turn, OwnedMutexGuard};

use crate::domain::PhoneNumber;

#[derive(Default)]
pub struct NumberTurns {
    waiting: Mutex<HashMap<PhoneNumber, Arc<Turn<()>>>>,
}

/// A number's turn, held while its texts go; ends when dropped.
pub struct Held {
    turns: Arc<NumberTurns>,
    mobile: PhoneNumber,
    guard: Option<OwnedMutexGuard<()>>,
}

impl NumberTurns {
    /// Wait until no other task is sending to `mobile`, then hold its turn.
    pub async fn take(self: &Arc<Self>, mobile: &PhoneNumber) -> Held {
        let turn = self
            .lock()
            .entry(mobile.clone())
            .or_insert_with(|| Arc::new(Turn::new(())))
            .clone();
        Held {
            turns: self.clone(),
            mobile: mobile.clone(),
            guard: Some(turn.lock_owned().await),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<PhoneNumber, Arc<Turn<()>>>> {
        self.waiting.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        drop(self.guard.take());
        let mut waiting = self.turns.lock();
        // Forget the number once nobody holds or waits for its turn.
        if waiting
            .get(&self.mobile)
            .is_some_and(|turn| Arc::strong_count(turn) == 1)
        {
            waiting.remove(&self.mobile);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn number(digits: &str) -> PhoneNumber {
        PhoneNumber::parse(digits).unwrap()
    }

    #[tokio::test]
    async fn a_number_waits_for_its_turn_and_is_forgotten_when_nobody_waits() {
        let turns = Arc::new(NumberTurns::default());
        let (a, b) = (number("+447400123456"), number("+447400123457"));
        let first = turns.take(&a).await;
        let _other = turns.take(&b).await;
        let waiting = tokio::spawn({
            let (turns, a) = (turns.clone(), a.clone());
            async move { turns.take(&a).await }
        });
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished(), "the second text to a number waits");
        drop(first);
        let second = waiting.await.unwrap();
        assert_eq!(turns.lock().len(), 2);
        drop(second);
        assert_eq!(turns.lock().len(), 1, "only the number still held is kept");
    }
}
