//! The limits of a job, checked where they are defined: `TargetWords` (1 to `MAX_WORDS`),
//! parsed the same way from a flag (clap's `FromStr`), a stored value (serde's `TryFrom`) or
//! the studio's field, and `Job::new`, the one constructor that checks a new job.

use super::{Job, WriterSettings};
use crate::text::{detect_language, target_length_or_default};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Largest total length accepted: the product's range tops out at 100,000 words; this leaves
/// room while refusing typos like an extra zero.
pub const MAX_WORDS: usize = 200_000;

/// Why a job or a length was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JobError {
    /// The instruction is empty or only spaces.
    #[error("the instruction is empty; say what to write, e.g. \"A 3000-word history of tea\"")]
    EmptyInstruction,
    /// A length of 0 or over `MAX_WORDS`.
    #[error("{0} is out of range: give a length between 1 and {MAX_WORDS}")]
    OutOfRange(usize),
    /// Not a whole number.
    #[error("{0:?} is not a number of words: give a length between 1 and {MAX_WORDS}")]
    NotANumber(String),
}

/// A target length in words (字 for Chinese), 1 to `MAX_WORDS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "usize", into = "usize")]
pub struct TargetWords(usize);

impl TargetWords {
    /// The number of words.
    pub fn get(self) -> usize {
        self.0
    }
}

impl TryFrom<usize> for TargetWords {
    type Error = JobError;

    fn try_from(n: usize) -> Result<Self, Self::Error> {
        if (1..=MAX_WORDS).contains(&n) {
            Ok(Self(n))
        } else {
            Err(JobError::OutOfRange(n))
        }
    }
}

impl From<TargetWords> for usize {
    fn from(n: TargetWords) -> usize {
        n.0
    }
}

/// Reads "3000", "3,000" or "3_000".
impl FromStr for TargetWords {
    type Err = JobError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let digits = s.trim().replace([',', '_'], "");
        match digits.parse::<u128>() {
            // Anything past usize is out of range anyway.
            Ok(n) => Self::try_from(usize::try_from(n).unwrap_or(usize::MAX)),
            Err(_) => Err(JobError::NotANumber(s.to_string())),
        }
    }
}

impl fmt::Display for TargetWords {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl Job {
    /// A new job: the instruction trimmed and not empty, the length `words` or else the one the
    /// instruction asks for (the default when it names none), within 1 to `MAX_WORDS`, and the
    /// language read from the instruction.
    pub fn new(
        instruction: &str,
        words: Option<TargetWords>,
        settings: WriterSettings,
    ) -> Result<Self, JobError> {
        let instruction = instruction.trim();
        if instruction.is_empty() {
            return Err(JobError::EmptyInstruction);
        }
        let target_words = match words {
            Some(n) => n,
            None => TargetWords::try_from(target_length_or_default(instruction))?,
        };
        Ok(Self {
            instruction: instruction.to_string(),
            target_words: target_words.get(),
            language: detect_language(instruction),
            settings,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_outside_the_range_are_refused() {
        assert_eq!(TargetWords::try_from(0), Err(JobError::OutOfRange(0)));
        assert_eq!(
            TargetWords::try_from(MAX_WORDS + 1),
            Err(JobError::OutOfRange(MAX_WORDS + 1))
        );
        assert_eq!(
            TargetWords::try_from(MAX_WORDS).map(usize::from),
            Ok(MAX_WORDS)
        );
        assert_eq!(
            "3,000".parse::<TargetWords>().map(TargetWords::get),
            Ok(3000)
        );
        assert!(matches!(
            "-3".parse::<TargetWords>(),
            Err(JobError::NotANumber(_))
        ));
        assert!(matches!(
            "99999999999999999999999".parse::<TargetWords>(),
            Err(JobError::OutOfRange(_))
        ));
        let err = "0".parse::<TargetWords>().unwrap_err().to_string();
        assert!(
            err.contains("out of range") && err.contains("200000"),
            "{err}"
        );
    }

    #[test]
    fn a_job_owns_its_checks() {
        let settings = WriterSettings::default();
        assert_eq!(
            Job::new("  ", None, settings.clone()),
            Err(JobError::EmptyInstruction)
        );
        let job = Job::new(" Write 3000 words on tea ", None, settings.clone()).unwrap();
        assert_eq!(
            (job.instruction.as_str(), job.target_words),
            ("Write 3000 words on tea", 3000)
        );
        let words = TargetWords::try_from(500).ok();
        assert_eq!(Job::new("x", words, settings).unwrap().target_words, 500);
    }
}
