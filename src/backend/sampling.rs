//! Sampling values that check themselves: a `Temperature` in 0..=2 and a `TopP` in (0, 1].
//!
//! Each is checked once where it is made, whether it comes from a flag (clap parses it with
//! `FromStr`), from `config.toml` (serde goes through `TryFrom<f32>`) or from an HTTP body, so
//! every entry point refuses the same values with the same words. `Sampling` keeps plain
//! numbers: past the boundary a value is known to be in range.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A sampling value out of its range, or not a number.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SamplingValueError {
    /// Not a number at all.
    #[error("{0:?} is not a number")]
    NotANumber(String),
    /// A temperature outside 0..=2.
    #[error("temperature {0} is outside 0..=2 (0 is greedy, 1 the model's own distribution)")]
    Temperature(f32),
    /// A top-p outside (0, 1].
    #[error("top-p {0} is outside (0, 1] (1 keeps every token)")]
    TopP(f32),
}

/// Softmax temperature, 0..=2; 0 means greedy where the server supports it.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize, Deserialize)]
#[serde(try_from = "f32", into = "f32")]
pub struct Temperature(f32);

impl Temperature {
    /// The highest temperature accepted.
    pub const MAX: f32 = 2.0;

    /// The value.
    pub fn get(self) -> f32 {
        self.0
    }
}

impl TryFrom<f32> for Temperature {
    type Error = SamplingValueError;

    fn try_from(t: f32) -> Result<Self, Self::Error> {
        if (0.0..=Self::MAX).contains(&t) {
            Ok(Self(t))
        } else {
            Err(SamplingValueError::Temperature(t))
        }
    }
}

impl From<Temperature> for f32 {
    fn from(t: Temperature) -> f32 {
        t.0
    }
}

impl FromStr for Temperature {
    type Err = SamplingValueError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::try_from(number(s)?)
    }
}

impl fmt::Display for Temperature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Nucleus sampling mass, in (0, 1].
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize, Deserialize)]
#[serde(try_from = "f32", into = "f32")]
pub struct TopP(f32);

impl TopP {
    /// The value.
    pub fn get(self) -> f32 {
        self.0
    }
}

impl TryFrom<f32> for TopP {
    type Error = SamplingValueError;

    fn try_from(p: f32) -> Result<Self, Self::Error> {
        if p > 0.0 && p <= 1.0 {
            Ok(Self(p))
        } else {
            Err(SamplingValueError::TopP(p))
        }
    }
}

impl From<TopP> for f32 {
    fn from(p: TopP) -> f32 {
        p.0
    }
}

impl FromStr for TopP {
    type Err = SamplingValueError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::try_from(number(s)?)
    }
}

impl fmt::Display for TopP {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

fn number(s: &str) -> Result<f32, SamplingValueError> {
    s.trim()
        .parse::<f32>()
        .map_err(|_| SamplingValueError::NotANumber(s.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temperature_range_is_closed() {
        assert_eq!("0".parse::<Temperature>().map(Temperature::get), Ok(0.0));
        assert_eq!("2".parse::<Temperature>().map(Temperature::get), Ok(2.0));
        assert_eq!(
            "2.5".parse::<Temperature>(),
            Err(SamplingValueError::Temperature(2.5))
        );
        assert!("-0.1".parse::<Temperature>().is_err());
        assert!("NaN".parse::<Temperature>().is_err());
        assert!(matches!(
            "hot".parse::<Temperature>(),
            Err(SamplingValueError::NotANumber(_))
        ));
    }

    #[test]
    fn top_p_excludes_zero() {
        assert!("0".parse::<TopP>().is_err());
        assert!("1.01".parse::<TopP>().is_err());
        assert_eq!("1".parse::<TopP>().map(TopP::get), Ok(1.0));
        assert_eq!(TopP::try_from(0.5).map(f32::from), Ok(0.5));
    }

    #[test]
    fn serde_checks_the_range_too() {
        #[derive(Deserialize)]
        struct Both {
            t: Temperature,
            p: TopP,
        }
        let ok: Both = serde_json::from_str(r#"{"t": 0.7, "p": 0.9}"#).unwrap();
        assert_eq!((ok.t.get(), ok.p.get()), (0.7, 0.9));
        let err = serde_json::from_str::<Both>(r#"{"t": 3, "p": 0.9}"#)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("outside 0..=2"), "{err}");
        assert!(serde_json::from_str::<Both>(r#"{"t": 1, "p": 0}"#).is_err());
    }
}
