//! How often and how patiently a failed request is tried again.
//!
//! Pure arithmetic: the writer owns the loop (so it can report each retry as an event) and asks
//! this policy for the delay before attempt n.

use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Exponential backoff with a cap, and jitter when seeded.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    /// Delay before the second attempt, in milliseconds.
    pub base_delay_ms: u64,
    /// Longest delay, in milliseconds.
    pub max_delay_ms: u64,
    /// With a seed, each delay is drawn between half and all of the backoff ("equal jitter"),
    /// from this seed and the attempt, so that clients that failed together do not retry
    /// together; `None` waits the plain backoff. The config sets a fresh seed per run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jitter_seed: Option<u64>,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            base_delay_ms: 1_000,
            max_delay_ms: 30_000,
            jitter_seed: None,
        }
    }
}

impl RetryPolicy {
    /// The wait before attempt `attempt` (2 for the first retry), doubling each time, jittered
    /// when seeded.
    pub fn delay(&self, attempt: u32) -> Duration {
        let exponent = attempt.saturating_sub(2).min(20);
        let ms = self
            .base_delay_ms
            .saturating_mul(1u64 << exponent)
            .min(self.max_delay_ms);
        let ms = match self.jitter_seed {
            Some(seed) => {
                let half = ms / 2;
                half + splitmix64(seed ^ u64::from(attempt)) % (ms - half + 1)
            }
            None => ms,
        };
        Duration::from_millis(ms)
    }
}

/// One step of SplitMix64: a well-spread number from `x`.
fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
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
            jitter_seed: None,
        };
        assert_eq!(p.delay(2), Duration::from_millis(100));
        assert_eq!(p.delay(3), Duration::from_millis(200));
        assert_eq!(p.delay(5), Duration::from_millis(800));
        assert_eq!(p.delay(6), Duration::from_millis(1_000));
        assert_eq!(p.delay(60), Duration::from_millis(1_000));
    }

    #[test]
    fn seeded_jitter_is_deterministic_and_within_half_to_all() {
        let p = RetryPolicy {
            max_attempts: 9,
            base_delay_ms: 1_000,
            max_delay_ms: 30_000,
            jitter_seed: Some(42),
        };
        let q = RetryPolicy {
            jitter_seed: Some(43),
            ..p
        };
        let mut differs = false;
        for attempt in 2..8 {
            let plain = RetryPolicy {
                jitter_seed: None,
                ..p
            }
            .delay(attempt);
            let d = p.delay(attempt);
            assert_eq!(d, p.delay(attempt), "same seed, same delay");
            assert!(d >= plain / 2 && d <= plain, "{d:?} vs {plain:?}");
            differs |= d != q.delay(attempt);
        }
        assert!(differs, "another seed gives other delays");
    }
}
