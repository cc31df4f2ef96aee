//! Turning raw entries into a usable [`Plan`]: dropping empty entries,
//! filling missing word counts, rescaling targets so they sum exactly to the
//! requested total, merging sections below the minimum into a neighbour,
//! splitting sections above the maximum into parts, and capping the count at
//! [`MAX_SECTIONS`]. Also the even-split [`fallback_plan`].

use super::text::{derive_title, join_points, mostly_cjk, tidy};
use super::{Plan, PlanError, RawSection, Section, SectionState, MAX_SECTIONS};

/// Words per section in the fallback plan.
const FALLBACK_SECTION_WORDS: usize = 800;
const FALLBACK_ONLY_EN: &str =
    "Cover the whole topic as requested, with a clear opening, a developed middle and a proper ending.";
const FALLBACK_FIRST_EN: &str =
    "Introduce the topic, give the necessary background and set out what the text will cover.";
const FALLBACK_MIDDLE_EN: &str =
    "Develop the next major aspect of the topic in depth, with concrete \
    details and examples, without repeating earlier sections.";
const FALLBACK_LAST_EN: &str =
    "Bring the threads together, restate the key insights and close the text.";
const FALLBACK_ONLY_ZH: &str = "按要求完整展开全文，开头清晰，中间充分展开，结尾收束。";
const FALLBACK_FIRST_ZH: &str = "引出主题，交代必要背景，并说明全文将要讨论的内容。";
const FALLBACK_MIDDLE_ZH: &str =
    "深入展开主题的下一个重要方面，给出具体细节和例子，避免重复前文内容。";
const FALLBACK_LAST_ZH: &str = "总结全文要点，呼应开头，完整收尾。";

/// The most words a section may plan: AgentWrite keeps paragraphs within 200-1,000 words
/// because models write about 2,000 words per request at most; longer texts get more
/// sections, not longer ones.
pub const MAX_SECTION_WORDS: usize = 1000;

/// The (min, max) words per section for a text of `total_words`.
///
/// min = total/100 clamped to 50..=200 (never above the total);
/// max = [`MAX_SECTION_WORDS`], but at least total/(MAX_SECTIONS/2) so that
/// splitting never needs more than 100 extra sections (texts above 100,000
/// words).
pub fn section_bounds(total_words: usize) -> (usize, usize) {
    let min = (total_words / 100).clamp(50, 200).min(total_words).max(1);
    let max = MAX_SECTION_WORDS
        .max(total_words.div_ceil(MAX_SECTIONS / 2))
        .max(min);
    (min, max)
}

/// Validates raw entries and fits them to `total_words`: entries without a
/// main point are dropped, missing targets get the average of the given ones
/// (an even share when none is given), targets are rescaled to sum exactly to
/// `total_words`, sections below the minimum of [`section_bounds`] are merged
/// into their smaller neighbour and sections above the maximum are split into
/// "Title (part k/n)". More than [`MAX_SECTIONS`] usable entries is an error;
/// when splitting would exceed it, the smallest adjacent pairs are merged.
pub fn build_plan(raw: Vec<RawSection>, total_words: usize) -> Result<Plan, PlanError> {
    if total_words == 0 {
        return Err(PlanError::ZeroTotalWords);
    }
    let usable: Vec<(String, String, Option<usize>)> = raw.into_iter().filter_map(usable).collect();
    if usable.is_empty() {
        return Err(PlanError::NoSections {
            excerpt: String::new(),
        });
    }
    if usable.len() > MAX_SECTIONS {
        let found = usable.len();
        return Err(PlanError::TooManySections {
            found,
            max: MAX_SECTIONS,
        });
    }
    let weights = fill_missing(usable.iter().map(|u| u.2));
    let targets = rescale(&weights, total_words);
    let sections = usable
        .into_iter()
        .zip(targets)
        .map(|((title, main_point, _), target_words)| Section {
            title,
            main_point,
            target_words,
            state: SectionState::Planned,
        })
        .collect();
    Ok(Plan {
        sections: fit_bounds(sections, total_words),
        fallback: false,
        chapters: Vec::new(),
    })
}

/// (title, main point, target) of an entry with text; the title is derived when absent.
pub(crate) fn usable(r: RawSection) -> Option<(String, String, Option<usize>)> {
    let title = r.title.as_deref().map(tidy).filter(|t| !t.is_empty());
    let point = Some(tidy(&r.main_point))
        .filter(|p| !p.is_empty())
        .or_else(|| title.clone())?;
    let title = title.unwrap_or_else(|| derive_title(&point));
    Some((title, point, r.target_words.filter(|t| *t > 0)))
}

/// Missing targets become the average of the given ones; all 1 when none is given.
pub(crate) fn fill_missing(targets: impl Iterator<Item = Option<usize>> + Clone) -> Vec<usize> {
    let given: Vec<usize> = targets.clone().flatten().collect();
    let avg = match given.len() {
        0 => 1,
        n => (given.iter().map(|t| *t as u128).sum::<u128>() / n as u128).max(1) as usize,
    };
    targets.map(|t| t.unwrap_or(avg)).collect()
}

/// Scales `weights` to whole numbers summing exactly to `total` (largest
/// remainder), each at least 1 when `total` allows.
pub(crate) fn rescale(weights: &[usize], total: usize) -> Vec<usize> {
    let n = weights.len();
    let mut w: Vec<u128> = weights.iter().map(|x| *x as u128).collect();
    if w.iter().sum::<u128>() == 0 {
        w = vec![1; n];
    }
    let sum: u128 = w.iter().sum();
    let mut out = Vec::with_capacity(n);
    let mut rems = Vec::with_capacity(n);
    for (i, x) in w.iter().enumerate() {
        let exact = total as u128 * x;
        out.push((exact / sum) as usize);
        rems.push((exact % sum, i));
    }
    let mut left = total.saturating_sub(out.iter().sum());
    rems.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for (_, i) in rems {
        if left == 0 {
            break;
        }
        out[i] += 1;
        left -= 1;
    }
    if total >= n {
        lift_zeros(&mut out);
    }
    out
}

/// Gives every zero target 1 word, taken from the largest target.
fn lift_zeros(targets: &mut [usize]) {
    while let Some(z) = targets.iter().position(|t| *t == 0) {
        let Some((big, _)) = targets.iter().enumerate().max_by_key(|(_, t)| **t) else {
            return;
        };
        if targets[big] < 2 {
            return;
        }
        targets[big] -= 1;
        targets[z] = 1;
    }
}

/// Merges small sections, splits large ones, caps the count, and rescales.
fn fit_bounds(mut sections: Vec<Section>, total: usize) -> Vec<Section> {
    let (min, max) = section_bounds(total);
    merge_small(&mut sections, min);
    let mut sections = split_large(sections, max);
    cap_count(&mut sections);
    let weights: Vec<usize> = sections.iter().map(|s| s.target_words).collect();
    for (s, t) in sections.iter_mut().zip(rescale(&weights, total)) {
        s.target_words = t;
        s.state = SectionState::Planned;
    }
    sections
}

/// Merges the smallest section below `min` into its smaller neighbour, until none is left.
fn merge_small(sections: &mut Vec<Section>, min: usize) {
    while sections.len() > 1 {
        let small = sections
            .iter()
            .enumerate()
            .filter(|(_, s)| s.target_words < min)
            .min_by_key(|(_, s)| s.target_words)
            .map(|(i, _)| i);
        let Some(i) = small else {
            break;
        };
        let left = i
            .checked_sub(1)
            .and_then(|j| sections.get(j))
            .map(|s| s.target_words);
        let right = sections.get(i + 1).map(|s| s.target_words);
        let first = match (left, right) {
            (Some(l), Some(r)) if l <= r => i - 1,
            (Some(_), None) => i - 1,
            _ => i,
        };
        merge_pair(sections, first);
    }
}

/// Merges sections `i` and `i + 1`; the larger one's title is kept.
fn merge_pair(sections: &mut Vec<Section>, i: usize) {
    if i + 1 >= sections.len() {
        return;
    }
    let b = sections.remove(i + 1);
    let Some(a) = sections.get_mut(i) else {
        return;
    };
    if b.target_words > a.target_words {
        a.title = b.title;
    }
    a.main_point = join_points(&a.main_point, &b.main_point);
    a.target_words += b.target_words;
}

/// Splits every section above `max` into equal parts.
fn split_large(sections: Vec<Section>, max: usize) -> Vec<Section> {
    let mut out = Vec::with_capacity(sections.len());
    for s in sections {
        if s.target_words <= max {
            out.push(s);
            continue;
        }
        let parts = s.target_words.div_ceil(max);
        let cjk = mostly_cjk(&s.title) || mostly_cjk(&s.main_point);
        for k in 0..parts {
            let extra = usize::from(k < s.target_words % parts);
            out.push(Section {
                title: part_title(&s.title, k + 1, parts, cjk),
                main_point: continued(&s.main_point, k, cjk),
                target_words: s.target_words / parts + extra,
                state: SectionState::Planned,
            });
        }
    }
    out
}

fn part_title(title: &str, k: usize, n: usize, cjk: bool) -> String {
    if cjk {
        format!("{title}（第{k}/{n}部分）")
    } else {
        format!("{title} (part {k}/{n})")
    }
}

/// The main point of part `k` (0-based): parts after the first are marked as continued.
fn continued(point: &str, k: usize, cjk: bool) -> String {
    match (k, cjk) {
        (0, _) => point.to_string(),
        (_, true) => format!("{point}（续）"),
        (_, false) => format!("{point} (continued)"),
    }
}

/// Merges the adjacent pair with the smallest sum until at most [`MAX_SECTIONS`] remain.
fn cap_count(sections: &mut Vec<Section>) {
    while sections.len() > MAX_SECTIONS {
        let pair = sections
            .windows(2)
            .enumerate()
            .min_by_key(|(_, w)| w[0].target_words + w[1].target_words)
            .map(|(i, _)| i);
        match pair {
            Some(i) => merge_pair(sections, i),
            None => break,
        }
    }
}

/// An even split of `total_words` (0 counts as 1) into sections of about
/// 800 words with generic main points, marked `fallback`.
pub fn fallback_plan(total_words: usize, chinese: bool) -> Plan {
    let total = total_words.max(1);
    let n = total
        .div_ceil(FALLBACK_SECTION_WORDS)
        .clamp(1, MAX_SECTIONS);
    let targets = rescale(&vec![1; n], total);
    let sections = targets
        .into_iter()
        .enumerate()
        .map(|(i, target_words)| {
            let (title, main_point) = generic_section(i, n, chinese);
            Section {
                title,
                main_point,
                target_words,
                state: SectionState::Planned,
            }
        })
        .collect();
    Plan {
        sections,
        chapters: Vec::new(),
        fallback: true,
    }
}

/// Title and main point of fallback section `i` of `n`.
fn generic_section(i: usize, n: usize, chinese: bool) -> (String, String) {
    let (title, point) = match (n, i, chinese) {
        (1, _, false) => ("Main text".to_string(), FALLBACK_ONLY_EN),
        (1, _, true) => ("正文".to_string(), FALLBACK_ONLY_ZH),
        (_, 0, false) => ("Introduction".to_string(), FALLBACK_FIRST_EN),
        (_, 0, true) => ("引言".to_string(), FALLBACK_FIRST_ZH),
        (_, i, false) if i + 1 == n => ("Conclusion".to_string(), FALLBACK_LAST_EN),
        (_, i, true) if i + 1 == n => ("结语".to_string(), FALLBACK_LAST_ZH),
        (_, i, false) => (format!("Part {i}"), FALLBACK_MIDDLE_EN),
        (_, i, true) => (format!("第{i}部分"), FALLBACK_MIDDLE_ZH),
    };
    (title, point.to_string())
}
