//! Sampling values that check themselves: a `Temperature` in 0..=2, a `TopP` in (0, 1], a
//! `TopK` of at least 1, a `MinP` in 0..=1, a `RepetitionPenalty` in (0, 2] and the OpenAI
//! frequency and presence penalties (`Penalty`) in -2..=2.
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
    /// A top-k that is not a whole number of at least 1.
    #[error(
        "top-k {0:?} is not a whole number of at least 1 (leave it out for the server's default)"
    )]
    TopK(String),
    /// A min-p outside 0..=1.
    #[error("min-p {0} is outside 0..=1 (0 keeps every token; 0.05 is a common choice)")]
    MinP(f32),
    /// A repetition penalty outside (0, 2].
    #[error("repetition penalty {0} is outside (0, 2] (1 is off; 1.1 to 1.3 discourages loops)")]
    RepetitionPenalty(f32),
    /// A frequency or presence penalty outside -2..=2.
    #[error("{name} {value} is outside -2..=2 (0 is off; 0.3 to 1 discourages repeats)")]
    Penalty {
        /// Which penalty.
        name: &'static str,
        /// The value given.
        value: f32,
    },
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

/// Keep only the k most likely tokens; at least 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "u32")]
pub struct TopK(u32);

impl TopK {
    /// The value.
    pub fn get(self) -> u32 {
        self.0
    }
}

impl TryFrom<i64> for TopK {
    type Error = SamplingValueError;

    fn try_from(k: i64) -> Result<Self, Self::Error> {
        match u32::try_from(k) {
            Ok(k) if k >= 1 => Ok(Self(k)),
            _ => Err(SamplingValueError::TopK(k.to_string())),
        }
    }
}

impl From<TopK> for u32 {
    fn from(k: TopK) -> u32 {
        k.0
    }
}

impl FromStr for TopK {
    type Err = SamplingValueError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let k: i64 = s
            .trim()
            .parse()
            .map_err(|_| SamplingValueError::TopK(s.to_string()))?;
        Self::try_from(k)
    }
}

impl fmt::Display for TopK {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A float sampling value checked by `$check` once, wherever it comes from.
macro_rules! checked_f32 {
    ($(#[$doc:meta])* $name:ident, $check:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize, Deserialize)]
        #[serde(try_from = "f32", into = "f32")]
        pub struct $name(f32);

        impl $name {
            /// The value.
            pub fn get(self) -> f32 {
                self.0
            }
        }

        impl TryFrom<f32> for $name {
            type Error = SamplingValueError;

            fn try_from(v: f32) -> Result<Self, Self::Error> {
                let check: fn(f32) -> Result<(), SamplingValueError> = $check;
                check(v).map(|()| Self(v))
            }
        }

        impl From<$name> for f32 {
            fn from(v: $name) -> f32 {
                v.0
            }
        }

        impl FromStr for $name {
            type Err = SamplingValueError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::try_from(number(s)?)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

checked_f32!(
    /// Minimum probability relative to the most likely token, in 0..=1.
    MinP,
    |p| {
        if (0.0..=1.0).contains(&p) {
            Ok(())
        } else {
            Err(SamplingValueError::MinP(p))
        }
    }
);

checked_f32!(
    /// Multiplicative penalty on recent tokens (llama.cpp's `repeat_penalty`, vLLM's
    /// `repetition_penalty`), in (0, 2]; 1 is off.
    RepetitionPenalty,
    |r| {
        if r > 0.0 && r <= 2.0 {
            Ok(())
        } else {
            Err(SamplingValueError::RepetitionPenalty(r))
        }
    }
);

checked_f32!(
    /// OpenAI's frequency penalty, in -2..=2; 0 is off.
    FrequencyPenalty,
    |v| penalty("frequency penalty", v)
);

checked_f32!(
    /// OpenAI's presence penalty, in -2..=2; 0 is off.
    PresencePenalty,
    |v| penalty("presence penalty", v)
);

fn penalty(name: &'static str, value: f32) -> Result<(), SamplingValueError> {
    if (-2.0..=2.0).contains(&value) {
        Ok(())
    } else {
        Err(SamplingValueError::Penalty { name, value })
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
    fn new_controls_check_their_ranges() {
        assert_eq!("40".parse::<TopK>().map(TopK::get), Ok(40));
        assert!(matches!(
            "0".parse::<TopK>(),
            Err(SamplingValueError::TopK(_))
        ));
        assert!("2.5".parse::<TopK>().is_err());
        assert!("-3".parse::<TopK>().is_err());
        assert_eq!("0".parse::<MinP>().map(MinP::get), Ok(0.0));
        assert_eq!("1.5".parse::<MinP>(), Err(SamplingValueError::MinP(1.5)));
        assert_eq!("1.1".parse::<RepetitionPenalty>().map(f32::from), Ok(1.1));
        assert!("0".parse::<RepetitionPenalty>().is_err());
        assert!("2.1".parse::<RepetitionPenalty>().is_err());
        assert_eq!("-2".parse::<FrequencyPenalty>().map(f32::from), Ok(-2.0));
        let err = "2.5"
            .parse::<PresencePenalty>()
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some("presence penalty 2.5 is outside -2..=2 (0 is off; 0.3 to 1 discourages repeats)")
        );
        assert!("NaN".parse::<FrequencyPenalty>().is_err());
        #[derive(Deserialize)]
        struct K {
            k: TopK,
        }
        assert!(serde_json::from_str::<K>(r#"{"k": 0}"#).is_err());
        assert!(serde_json::from_str::<K>(r#"{"k": 1.5}"#).is_err());
        assert_eq!(
            serde_json::from_str::<K>(r#"{"k": 20}"#)
                .map(|k| k.k.get())
                .ok(),
            Some(20)
        );
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
