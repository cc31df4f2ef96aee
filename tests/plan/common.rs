//! Shared harness for the table tests of realistic plan replies: each case
//! is parsed and built, and the section count, titles, main points, raw word
//! counts, bounds and the total are checked.

use longwriter::plan::{build_plan, parse_plan, section_bounds, Plan, RawSection, SectionState};

/// One plan reply and what should be read from it.
pub struct Case {
    pub name: &'static str,
    pub text: &'static str,
    pub total: usize,
    /// Entries read by `parse_plan`.
    pub raw: usize,
    /// Sections in the built plan.
    pub sections: usize,
    /// Expected titles of the first built sections.
    pub titles: &'static [&'static str],
    /// Text expected inside the main points of the first built sections (continued parts of
    /// a split entry skipped).
    pub points: &'static [&'static str],
    /// Expected raw word counts of the first entries.
    pub counts: &'static [Option<usize>],
}

/// Runs every case and fails with a list of all mismatches.
pub fn run_cases(cases: &[Case]) {
    let mut failures = Vec::new();
    for case in cases {
        if let Err(e) = check(case) {
            failures.push(format!("{}: {e}", case.name));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failing:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn check(case: &Case) -> Result<(), String> {
    let raw = check_raw(case)?;
    let plan = build_plan(raw, case.total).map_err(|e| format!("build: {e}"))?;
    check_plan(case, &plan).map_err(|e| format!("{e}\n{plan:#?}"))
}

/// Parses the case and checks the entry count and raw word counts.
fn check_raw(case: &Case) -> Result<Vec<RawSection>, String> {
    let raw = parse_plan(case.text).map_err(|e| format!("parse: {e}"))?;
    if raw.len() != case.raw {
        return Err(format!(
            "raw entries {} != {}\n{raw:#?}",
            raw.len(),
            case.raw
        ));
    }
    let got: Vec<Option<usize>> = raw.iter().map(|r| r.target_words).collect();
    if !got.starts_with(case.counts) {
        return Err(format!(
            "raw counts {got:?} do not start with {:?}",
            case.counts
        ));
    }
    Ok(raw)
}

/// Checks the built plan: size, total, titles, points, bounds and states.
fn check_plan(case: &Case, plan: &Plan) -> Result<(), String> {
    if plan.len() != case.sections {
        return Err(format!("sections {} != {}", plan.len(), case.sections));
    }
    let total = plan.total_target();
    if total.abs_diff(case.total) * 50 > case.total {
        return Err(format!("total {total} not within 2% of {}", case.total));
    }
    let titles: Vec<&str> = plan.sections.iter().map(|s| s.title.as_str()).collect();
    if !titles.starts_with(case.titles) {
        return Err(format!(
            "titles {titles:?} do not start with {:?}",
            case.titles
        ));
    }
    // Parts after the first of a split entry repeat its point, "(continued)".
    let firsts = plan
        .sections
        .iter()
        .filter(|s| !s.main_point.ends_with("(continued)") && !s.main_point.ends_with("（续）"));
    for (s, want) in firsts.zip(case.points) {
        if !s.main_point.contains(want) {
            return Err(format!("point {:?} lacks {want:?}", s.main_point));
        }
    }
    let (min, max) = section_bounds(case.total);
    let bad = plan
        .sections
        .iter()
        .find(|s| !(min..=max).contains(&s.target_words) || s.state != SectionState::Planned);
    match bad {
        Some(s) => Err(format!(
            "section out of bounds {min}..={max} or not planned: {s:?}"
        )),
        None => Ok(()),
    }
}
