//! The report of an `eval` run: one record per document and the summary the paper gives (S_l
//! per length bucket and overall; S_q and S where a judge scored), printed as a table and
//! written as JSON. Pure: the runner fills it, `main` prints it.

use super::judge::{self, Scores};
use super::proxies::{Echo, Repetition};
use super::score::{self, Bucket, BucketScore};
use serde::Serialize;

/// What became of one document.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Outcome {
    /// Written to its end.
    Finished,
    /// Not written to its end; what was written is scored, and the reason listed.
    Failed {
        /// Why it stopped.
        reason: String,
    },
}

/// The judge's verdict on one document.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "judge", rename_all = "snake_case")]
pub enum Verdict {
    /// No judge was configured.
    NotJudged,
    /// The six scores.
    Scored {
        /// 1-5 per dimension, in the order of `judge::DIMENSIONS`.
        scores: Scores,
        /// This document's S_q.
        s_q: f64,
    },
    /// The judge was asked and gave no usable answer.
    Missing {
        /// Why.
        reason: String,
    },
}

/// One document's results.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DocumentResult {
    /// The prompt's id.
    pub id: String,
    /// The project that holds the document.
    pub project: String,
    /// The required length x.
    pub required: usize,
    /// The output's length y (CJK characters plus English words).
    pub written: usize,
    /// Its length bucket.
    pub bucket: Bucket,
    /// Its S_l.
    pub s_l: f64,
    /// Finished or failed.
    #[serde(flatten)]
    pub outcome: Outcome,
    /// Repeated 4-grams, measured within each section.
    pub repetition: Repetition,
    /// Output sentences that reproduce the writer's own prompts.
    pub echo: Echo,
    /// Sections that ended below half or above twice their target.
    pub sections_off_target: usize,
    /// Sections in the plan.
    pub sections: usize,
    /// The judge's scores, if any.
    #[serde(flatten)]
    pub verdict: Verdict,
    /// The text scored (section headings and text); it stays in its project, not the report.
    #[serde(skip)]
    pub response: String,
}

/// The whole run's summary.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// Which prompts: the suite's name, or the user's file.
    pub source: String,
    /// Every document, in prompt order.
    pub documents: Vec<DocumentResult>,
    /// Mean S_l per length bucket (only buckets with documents).
    pub buckets: Vec<BucketScore>,
    /// Mean S_l overall.
    pub overall: BucketScore,
    /// Mean S_q over judged documents; `None` without a judge or when every verdict is missing.
    pub s_q: Option<f64>,
    /// (S_l + S_q)/2, where both exist.
    pub s: Option<f64>,
    /// Documents whose verdict is missing though a judge was asked.
    pub judge_missing: usize,
    /// Share of repeated 4-grams over all documents.
    pub repetition: f64,
    /// Share of echoed sentences over all documents.
    pub echo: f64,
    /// Prompt lines skipped as unusable, with the reason.
    pub skipped_lines: Vec<String>,
}

impl Report {
    /// Summarises the documents.
    pub fn new(source: String, documents: Vec<DocumentResult>, skipped: Vec<String>) -> Self {
        let pairs: Vec<_> = documents.iter().map(|d| (d.required, d.written)).collect();
        let (buckets, overall) = score::summarize(&pairs);
        let verdicts: Vec<Option<Scores>> = documents
            .iter()
            .map(|d| match d.verdict {
                Verdict::Scored { scores, .. } => Some(scores),
                _ => None,
            })
            .collect();
        let s_q = judge::mean_s_q(&verdicts);
        let repetition = documents
            .iter()
            .fold(Repetition::default(), |a, d| a + d.repetition);
        let echo = documents.iter().fold(Echo::default(), |a, d| a + d.echo);
        Self {
            source,
            s: s_q.zip(overall.s_l).map(|(q, l)| (q + l) / 2.0),
            s_q,
            judge_missing: documents
                .iter()
                .filter(|d| matches!(d.verdict, Verdict::Missing { .. }))
                .count(),
            repetition: repetition.share(),
            echo: echo.share(),
            buckets,
            overall,
            documents,
            skipped_lines: skipped,
        }
    }

    /// Documents that failed, with their reasons.
    pub fn failures(&self) -> impl Iterator<Item = (&str, &str)> {
        self.documents.iter().filter_map(|d| match &d.outcome {
            Outcome::Failed { reason } => Some((d.id.as_str(), reason.as_str())),
            Outcome::Finished => None,
        })
    }

    /// The summary as a plain-text table.
    pub fn table(&self) -> String {
        let mut out = format!("{}\n", self.source);
        out += "bucket      docs     S_l\n";
        for b in self.buckets.iter().chain(std::iter::once(&self.overall)) {
            let s_l = b.s_l.map_or("-".to_string(), |s| format!("{s:.1}"));
            out += &format!("{:<10} {:>5} {:>7}\n", b.bucket, b.documents, s_l);
        }
        match (self.s_q, self.s) {
            (Some(q), Some(s)) => out += &format!("S_q {q:.1}   S {s:.1}\n"),
            _ if self.judge_missing > 0 => {
                out += &format!("S_q missing ({} verdicts missing)\n", self.judge_missing)
            }
            _ => out += "S_q not measured (no judge: --judge-base-url)\n",
        }
        out += &format!(
            "repeated 4-grams {:.1}%   echoed sentences {:.1}%\n",
            100.0 * self.repetition,
            100.0 * self.echo
        );
        for (id, reason) in self.failures() {
            out += &format!("failed {id}: {reason}\n");
        }
        for line in &self.skipped_lines {
            out += &format!("skipped {line}\n");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(id: &str, required: usize, written: usize, verdict: Verdict) -> DocumentResult {
        DocumentResult {
            id: id.into(),
            project: format!("p-{id}"),
            required,
            written,
            bucket: Bucket::of(required),
            s_l: score::length_score(required, written),
            outcome: if written == 0 {
                Outcome::Failed {
                    reason: "server gone".into(),
                }
            } else {
                Outcome::Finished
            },
            repetition: Repetition {
                ngrams: 100,
                repeated: 10,
            },
            echo: Echo {
                sentences: 10,
                echoed: 1,
            },
            sections_off_target: 0,
            sections: 3,
            verdict,
            response: String::new(),
        }
    }

    #[test]
    fn summary_table_and_json() {
        let scored = Verdict::Scored {
            scores: Scores([5; 6]),
            s_q: 100.0,
        };
        let missing = Verdict::Missing {
            reason: "not JSON".into(),
        };
        let report = Report::new(
            "longbench-write".into(),
            vec![doc("a", 1000, 1000, scored), doc("b", 3000, 0, missing)],
            vec!["line 3: not a JSON object".into()],
        );
        assert_eq!(report.overall.s_l, Some(50.0));
        assert_eq!(report.s_q, Some(100.0));
        assert_eq!(report.s, Some(75.0));
        assert_eq!(report.judge_missing, 1);
        assert!((report.repetition - 0.1).abs() < 1e-9);
        let table = report.table();
        assert!(table.contains("500-2k         1   100.0"), "{table}");
        assert!(table.contains("overall        2    50.0"), "{table}");
        assert!(table.contains("failed b: server gone"));
        assert!(table.contains("skipped line 3"));
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["documents"][1]["status"], "failed");
        assert_eq!(json["documents"][1]["judge"], "missing");
        assert_eq!(json["documents"][0]["bucket"], "[500,2k)");
    }
}
