//! How often and how patiently a failed request is tried again.
//!
//! Pure arithmetic: the writer owns the loop (so it can report each retry as an event) and asks
//! this policy for the delay before attempt n.

use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Exponential backoff with a cap.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    /// Delay before the second attempt, in milliseconds.
    pub base_delay_ms: u64,
    /// Longest delay, in milliseconds.
    pub max_delay_ms: u64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            base_delay_ms: 1_000,
            max_delay_ms: 30_000,
        }
    }
}

impl RetryPolicy {
    /// The wait before attempt `attempt` (2 for the first retry), doubling each time.
    pub fn delay(&self, attempt: u32) -> Duration {
        let exponent = attempt.saturating_sub(2).min(20);
        let ms = self.base_delay_ms.saturating_mul(1u64 << exponent);
        Duration::from_millis(ms.min(self.max_delay_ms))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_and_caps() {
        let p = RetryPolicy {
            max_attempts: 9,
            base_delay_ms: 100,
            max_delay_ms: 1_000,
        };
        assert_eq!(p.delay(2), Duration::from_millis(100));
        assert_eq!(p.delay(3), Duration::from_millis(200));
        assert_eq!(p.delay(5), Duration::from_millis(800));
        assert_eq!(p.delay(6), Duration::from_millis(1_000));
        assert_eq!(p.delay(60), Duration::from_millis(1_000));
    }
}
