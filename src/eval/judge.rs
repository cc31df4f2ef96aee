//! The quality score S_q the LongWriter paper's way: a judge model scores six dimensions from 1
//! to 5, each is mapped to (score − 1)·25, and S_q is their mean; S = (S_l + S_q)/2.
//!
//! This module renders the judge's request (`prompts/judge.md`) and parses its reply. A reply
//! that is not the expected JSON is an error the caller re-asks once and then records as
//! missing, never as a number. Pure: the caller sends the request.

use serde::Serialize;

/// The six dimensions, as the judge names them in its JSON.
pub const DIMENSIONS: [&str; 6] = [
    "Relevance",
    "Accuracy",
    "Coherence",
    "Clarity",
    "Breadth and Depth",
    "Reading Experience",
];

/// The judge's request template.
pub const TEMPLATE: &str = include_str!("../../prompts/judge.md");

/// Why a judge reply could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JudgeReplyError {
    /// No JSON object in the reply.
    #[error("the judge's reply holds no JSON object")]
    NoJson,
    /// The JSON does not parse.
    #[error("the judge's JSON does not parse: {0}")]
    BadJson(String),
    /// A dimension is missing or not a whole number from 1 to 5.
    #[error("the judge's score for {dimension:?} is {found}, not a whole number from 1 to 5")]
    BadScore {
        /// The dimension.
        dimension: &'static str,
        /// What was there instead.
        found: String,
    },
}

/// The six scores of one document, 1 to 5, in the order of [`DIMENSIONS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Scores(pub [u8; 6]);

impl Scores {
    /// S_q of this document: the mean of the mapped dimension scores.
    pub fn s_q(&self) -> f64 {
        self.0.iter().map(|&s| mapped(s)).sum::<f64>() / 6.0
    }
}

/// A 1-5 score mapped to 0-100 as the paper does.
pub fn mapped(score: u8) -> f64 {
    (f64::from(score) - 1.0) * 25.0
}

/// The judge's request for one document. The texts are put in as they are: a `{{` in a
/// response is never read as template syntax.
pub fn request(instruction: &str, response: &str) -> String {
    let parts = TEMPLATE
        .split_once("{{ instruction }}")
        .and_then(|(head, rest)| Some((head, rest.split_once("{{ response }}")?)));
    match parts {
        Some((head, (middle, tail))) => format!("{head}{instruction}{middle}{response}{tail}"),
        // Unreachable with the embedded template (a test checks it); kept total anyway.
        None => format!("{TEMPLATE}\n\n{instruction}\n\n{response}"),
    }
}

/// Parses a judge's reply: a JSON object, bare or in a fenced block, possibly after prose.
pub fn parse_reply(reply: &str) -> Result<Scores, JudgeReplyError> {
    let start = reply.find('{').ok_or(JudgeReplyError::NoJson)?;
    let end = reply
        .rfind('}')
        .filter(|&e| e > start)
        .ok_or(JudgeReplyError::NoJson)?;
    let value: serde_json::Value = serde_json::from_str(&reply[start..=end])
        .map_err(|e| JudgeReplyError::BadJson(e.to_string()))?;
    let mut scores = [0u8; 6];
    for (slot, dimension) in scores.iter_mut().zip(DIMENSIONS) {
        let found = value.get(dimension);
        let score = found.and_then(|v| match v {
            serde_json::Value::Number(n) => n.as_u64(),
            serde_json::Value::String(s) => s.trim().parse().ok(),
            _ => None,
        });
        *slot = match score {
            Some(s @ 1..=5) => s as u8,
            _ => {
                return Err(JudgeReplyError::BadScore {
                    dimension,
                    found: found.map_or("missing".into(), |v| v.to_string()),
                })
            }
        };
    }
    Ok(Scores(scores))
}

/// Mean S_q over the documents that have scores; `None` when none has.
pub fn mean_s_q(scores: &[Option<Scores>]) -> Option<f64> {
    let present: Vec<f64> = scores.iter().flatten().map(Scores::s_q).collect();
    (!present.is_empty()).then(|| present.iter().sum::<f64>() / present.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fenced_reply_with_prose_parses() {
        let reply = "Here is my verdict.\n```json\n{\"Analysis\": \"Solid {mostly}.\", \
                     \"Relevance\": 5, \"Accuracy\": \"4\", \"Coherence\": 3, \"Clarity\": 4, \
                     \"Breadth and Depth\": 2, \"Reading Experience\": 3}\n```";
        let scores = parse_reply(reply).unwrap();
        assert_eq!(scores, Scores([5, 4, 3, 4, 2, 3]));
        // (4 + 3 + 2 + 3 + 1 + 2) * 25 / 6
        assert!((scores.s_q() - 375.0 / 6.0).abs() < 1e-9);
    }

    #[test]
    fn bad_replies_are_errors_not_numbers() {
        assert_eq!(parse_reply("I liked it."), Err(JudgeReplyError::NoJson));
        assert!(matches!(
            parse_reply("{\"Relevance\": }"),
            Err(JudgeReplyError::BadJson(_))
        ));
        let missing = parse_reply("{\"Relevance\": 5}").unwrap_err();
        assert!(missing.to_string().contains("\"Accuracy\" is missing"));
        let out_of_range = "{\"Relevance\": 6, \"Accuracy\": 4, \"Coherence\": 3, \
                            \"Clarity\": 4, \"Breadth and Depth\": 2, \"Reading Experience\": 3}";
        assert!(matches!(
            parse_reply(out_of_range),
            Err(JudgeReplyError::BadScore {
                dimension: "Relevance",
                ..
            })
        ));
        let fraction = out_of_range.replace('6', "4.5");
        assert!(parse_reply(&fraction).is_err());
    }

    #[test]
    fn the_mean_skips_missing_documents() {
        let all_fives = Scores([5; 6]);
        let all_ones = Scores([1; 6]);
        assert_eq!(
            mean_s_q(&[Some(all_fives), None, Some(all_ones)]),
            Some(50.0)
        );
        assert_eq!(mean_s_q(&[None]), None);
    }

    #[test]
    fn the_request_carries_instruction_and_response_verbatim() {
        let places = (
            TEMPLATE.find("{{ instruction }}"),
            TEMPLATE.find("{{ response }}"),
        );
        assert!(matches!(places, (Some(i), Some(r)) if i < r), "{places:?}");
        let text = request(
            "Write {{ response }} a poem",
            "Roses {{ instruction }} are red",
        );
        assert!(text.contains("<request>\nWrite {{ response }} a poem\n</request>"));
        assert!(text.contains("<response>\nRoses {{ instruction }} are red\n</response>"));
        for dimension in DIMENSIONS {
            assert!(text.contains(dimension), "{dimension}");
        }
    }
}
