//! The length score S_l of the LongWriter paper, and its summary per length bucket.
//!
//! x is the required length, y the output's length counted as LongBench-Write counts it (CJK
//! characters plus English words, `text::count_words`). For y > x the score is
//! 100·max(0, 1 − (y/x − 1)/3), else 100·max(0, 1 − (x/y − 1)/2): writing too little costs more
//! than writing too much. An empty or failed output scores 0 (the paper's formula divides by
//! zero there) and is listed as such by the report.

use serde::Serialize;

/// The paper's length buckets of required lengths.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Bucket {
    /// [0, 500)
    #[serde(rename = "[0,500)")]
    Short,
    /// [500, 2k)
    #[serde(rename = "[500,2k)")]
    Medium,
    /// [2k, 4k)
    #[serde(rename = "[2k,4k)")]
    Long,
    /// [4k, 20k] (and anything longer, for LongWrite-Ruler)
    #[serde(rename = "[4k,20k]")]
    VeryLong,
}

impl Bucket {
    /// Every bucket, shortest first.
    pub const ALL: [Bucket; 4] = [Self::Short, Self::Medium, Self::Long, Self::VeryLong];

    /// The bucket of a required length. Lengths above 20,000 (LongWrite-Ruler's) fall in the
    /// last bucket.
    pub fn of(length: usize) -> Self {
        match length {
            0..500 => Self::Short,
            500..2000 => Self::Medium,
            2000..4000 => Self::Long,
            _ => Self::VeryLong,
        }
    }

    /// Whether `length` falls in this bucket.
    pub fn contains(self, length: usize) -> bool {
        Self::of(length) == self
    }

    /// The label used in tables and on the command line.
    pub fn label(self) -> &'static str {
        match self {
            Self::Short => "0-500",
            Self::Medium => "500-2k",
            Self::Long => "2k-4k",
            Self::VeryLong => "4k-20k",
        }
    }
}

impl std::str::FromStr for Bucket {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let unknown =
            || format!("unknown length bucket {s:?}: use one of 0-500, 500-2k, 2k-4k, 4k-20k");
        let key = s
            .trim()
            .to_ascii_lowercase()
            .replace(['[', '(', ')', ']', ' '], "");
        let (lo, hi) = key.split_once(['-', ',']).ok_or_else(unknown)?;
        let number = |t: &str| match t.strip_suffix('k') {
            Some(k) => k.parse::<usize>().ok().map(|n| n * 1000),
            None => t.parse::<usize>().ok(),
        };
        let bounds = (
            number(lo).ok_or_else(unknown)?,
            number(hi).ok_or_else(unknown)?,
        );
        Self::ALL
            .into_iter()
            .find(|b| b.bounds() == bounds)
            .ok_or_else(unknown)
    }
}

impl Bucket {
    /// The lower and upper bound of the bucket, as the paper writes them.
    fn bounds(self) -> (usize, usize) {
        match self {
            Self::Short => (0, 500),
            Self::Medium => (500, 2000),
            Self::Long => (2000, 4000),
            Self::VeryLong => (4000, 20_000),
        }
    }
}

/// S_l of one output: `required` is x, `written` is y. An empty output scores 0.
pub fn length_score(required: usize, written: usize) -> f64 {
    if written == 0 || required == 0 {
        return 0.0;
    }
    let (x, y) = (required as f64, written as f64);
    if y > x {
        100.0 * (1.0 - (y / x - 1.0) / 3.0).max(0.0)
    } else {
        100.0 * (1.0 - (x / y - 1.0) / 2.0).max(0.0)
    }
}

/// Mean S_l of a bucket (or of all documents).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BucketScore {
    /// The bucket's label, or `overall`.
    pub bucket: String,
    /// Documents scored in it.
    pub documents: usize,
    /// Their mean S_l; `None` when there are none.
    pub s_l: Option<f64>,
}

/// Mean S_l per bucket (only buckets with documents) and overall, from `(required, written)`
/// pairs. A failed document is passed with `written = 0`.
pub fn summarize(pairs: &[(usize, usize)]) -> (Vec<BucketScore>, BucketScore) {
    let mean = |scores: &[f64]| {
        (!scores.is_empty()).then(|| scores.iter().sum::<f64>() / scores.len() as f64)
    };
    let all: Vec<f64> = pairs.iter().map(|&(x, y)| length_score(x, y)).collect();
    let buckets = Bucket::ALL
        .iter()
        .filter_map(|&bucket| {
            let scores: Vec<f64> = pairs
                .iter()
                .zip(&all)
                .filter(|((x, _), _)| bucket.contains(*x))
                .map(|(_, &s)| s)
                .collect();
            (!scores.is_empty()).then(|| BucketScore {
                bucket: bucket.label().to_string(),
                documents: scores.len(),
                s_l: mean(&scores),
            })
        })
        .collect();
    let overall = BucketScore {
        bucket: "overall".to_string(),
        documents: all.len(),
        s_l: mean(&all),
    };
    (buckets, overall)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn the_papers_formula() {
        assert!(close(length_score(1000, 1000), 100.0));
        // Too long: 1,500 of 1,000 loses (0.5)/3.
        assert!(close(length_score(1000, 1500), 100.0 * (1.0 - 0.5 / 3.0)));
        // Too short: 500 of 1,000 loses (2 - 1)/2.
        assert!(close(length_score(1000, 500), 50.0));
        assert!(close(length_score(1000, 4000), 0.0));
        assert!(close(length_score(1000, 333), 0.0));
        assert!(close(length_score(1000, 0), 0.0));
    }

    #[test]
    fn buckets_by_required_length() {
        assert_eq!(Bucket::of(499), Bucket::Short);
        assert_eq!(Bucket::of(500), Bucket::Medium);
        assert_eq!(Bucket::of(2000), Bucket::Long);
        assert_eq!(Bucket::of(4000), Bucket::VeryLong);
        assert_eq!(Bucket::of(30_000), Bucket::VeryLong);
        for b in Bucket::ALL {
            assert_eq!(b.label().parse::<Bucket>(), Ok(b));
        }
        assert_eq!("[2000,4000)".parse::<Bucket>(), Ok(Bucket::Long));
        assert_eq!("4000-20000".parse::<Bucket>(), Ok(Bucket::VeryLong));
        assert!("1k-2k"
            .parse::<Bucket>()
            .unwrap_err()
            .contains("0-500, 500-2k"));
    }

    #[test]
    fn summary_per_bucket_and_overall() {
        let pairs = [(100, 100), (300, 150), (1000, 1500), (5000, 0)];
        let (buckets, overall) = summarize(&pairs);
        let labels: Vec<_> = buckets.iter().map(|b| b.bucket.as_str()).collect();
        assert_eq!(labels, ["0-500", "500-2k", "4k-20k"]);
        assert!(close(buckets[0].s_l.unwrap(), 75.0));
        assert_eq!(buckets[0].documents, 2);
        assert!(close(buckets[2].s_l.unwrap(), 0.0));
        let expected = (100.0 + 50.0 + 100.0 * (1.0 - 0.5 / 3.0) + 0.0) / 4.0;
        assert!(close(overall.s_l.unwrap(), expected));
        assert_eq!(summarize(&[]).1.s_l, None);
    }
}
