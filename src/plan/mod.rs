//! TEMPORARY STUB (replaced by the real module before commit).
use serde::{Deserialize, Serialize};
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum SectionState {
    #[default]
    Planned,
    Queued,
    Writing,
    Done,
    Failed,
    Stale,
}
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Section {
    pub title: String,
    pub main_point: String,
    pub target_words: usize,
    #[serde(default)]
    pub state: SectionState,
}
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub sections: Vec<Section>,
    #[serde(default)]
    pub fallback: bool,
}
#[derive(Debug, Clone, PartialEq)]
pub struct RawSection {
    pub title: Option<String>,
    pub main_point: String,
    pub target_words: Option<usize>,
}
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum PlanError {
    #[error("no sections")]
    NoSections,
}
pub const MAX_SECTIONS: usize = 200;
pub fn parse_plan(_reply: &str) -> Result<Vec<RawSection>, PlanError> {
    Err(PlanError::NoSections)
}
pub fn build_plan(_raw: Vec<RawSection>, _t: usize) -> Result<Plan, PlanError> {
    Err(PlanError::NoSections)
}
pub fn fallback_plan(total: usize, _c: bool) -> Plan {
    Plan {
        sections: vec![Section {
            title: "x".into(),
            main_point: "y".into(),
            target_words: total,
            state: SectionState::Planned,
        }],
        fallback: true,
    }
}
impl Plan {
    pub fn total_target(&self) -> usize {
        self.sections.iter().map(|s| s.target_words).sum()
    }
}
