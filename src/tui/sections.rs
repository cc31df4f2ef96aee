//! The document as the studio shows it: `State::document` is the one owner of every
//! section's text (streamed text included, appended to the section's draft as it arrives);
//! the panes read it through `State::text`. Word counts and change counters are a cache
//! derived from the drafts, changed only by the section methods here, never kept or edited
//! beside the document.

use super::state::State;
use crate::backend::{ChatMessage, Role};
use crate::plan::Section;
use crate::writer::{Document, SectionDraft};
use std::borrow::Cow;

/// Per section: words and a change counter, derived from the document's drafts.
#[derive(Debug, Clone, Default)]
pub struct SectionCache {
    /// Words per section, as of the last recount.
    words: Vec<usize>,
    /// Bumped when a section's text changes other than by appending (for the wrap cache).
    revisions: Vec<u64>,
}

impl SectionCache {
    fn of(document: Option<&Document>) -> Self {
        let drafts = document.map_or(&[][..], |d| d.drafts.as_slice());
        Self {
            words: drafts.iter().map(SectionDraft::words).collect(),
            revisions: vec![0; drafts.len()],
        }
    }
}

/// The text of a draft: its assistant turns, borrowed when there is only one.
pub(crate) fn text_of(draft: &SectionDraft) -> Cow<'_, str> {
    let mut turns = draft.turns.iter().filter(|t| t.role == Role::Assistant);
    match (turns.next(), turns.next()) {
        (None, _) => Cow::Borrowed(""),
        (Some(only), None) => Cow::Borrowed(only.content.as_str()),
        _ => Cow::Owned(draft.text()),
    }
}

impl State {
    /// Section `i`'s text as shown (empty when there is no such section).
    pub fn text(&self, i: usize) -> Cow<'_, str> {
        self.document
            .as_ref()
            .and_then(|d| d.drafts.get(i))
            .map_or(Cow::Borrowed(""), text_of)
    }

    /// Section `i`'s words.
    pub fn words_of(&self, i: usize) -> usize {
        self.sections.words.get(i).copied().unwrap_or(0)
    }

    /// Section `i`'s change counter: it changes when the text changes other than by appending.
    pub fn revision(&self, i: usize) -> u64 {
        self.sections.revisions.get(i).copied().unwrap_or(0)
    }

    /// Total words written.
    pub fn total_written(&self) -> usize {
        self.sections.words.iter().sum()
    }

    /// Replaces the document (a new plan, a project opened, a run handed back).
    pub(crate) fn set_document(&mut self, document: Option<Document>) {
        let old = std::mem::take(&mut self.sections.revisions);
        self.sections = SectionCache::of(document.as_ref());
        // Counters only grow, so that a wrap cache never mistakes new text for old.
        for (i, r) in self.sections.revisions.iter_mut().enumerate() {
            *r = old.get(i).map_or(0, |o| o + 1);
        }
        self.document = document;
    }

    /// Appends streamed text to section `i` (words are recounted on the next tick).
    pub(crate) fn append(&mut self, i: usize, text: &str) {
        let Some(draft) = self.document.as_mut().and_then(|d| d.drafts.get_mut(i)) else {
            return;
        };
        match draft.turns.last_mut() {
            Some(last) if last.role == Role::Assistant => last.content.push_str(text),
            _ => draft.turns.push(ChatMessage::assistant(text)),
        }
    }

    /// Recounts section `i`'s words.
    pub(crate) fn recount(&mut self, i: usize) {
        let words = self
            .document
            .as_ref()
            .and_then(|d| d.drafts.get(i))
            .map_or(0, SectionDraft::words);
        if let Some(w) = self.sections.words.get_mut(i) {
            *w = words;
        }
    }

    /// Sets section `i`'s text, keeping its request turns (the writer's step turn).
    pub(crate) fn set_text(&mut self, i: usize, text: &str) {
        let Some(draft) = self.document.as_mut().and_then(|d| d.drafts.get_mut(i)) else {
            return;
        };
        draft.turns.retain(|t| t.role != Role::Assistant);
        if !text.is_empty() {
            draft.turns.push(ChatMessage::assistant(text));
        }
        self.changed(i);
    }

    /// Replaces section `i`'s draft.
    pub(crate) fn set_draft(&mut self, i: usize, draft: SectionDraft) {
        if let Some(d) = self.document.as_mut().and_then(|d| d.drafts.get_mut(i)) {
            *d = draft;
            self.changed(i);
        }
    }

    fn changed(&mut self, i: usize) {
        self.recount(i);
        if let Some(r) = self.sections.revisions.get_mut(i) {
            *r += 1;
        }
    }

    /// Whether the document's plan is in chapters.
    pub(crate) fn has_chapters(&self) -> bool {
        self.document
            .as_ref()
            .is_some_and(|d| d.plan.has_chapters())
    }

    /// Inserts a section with no text at `at`.
    pub(crate) fn insert_section(&mut self, at: usize, section: Section) {
        let Some(doc) = self.document.as_mut() else {
            return;
        };
        let at = at.min(doc.plan.sections.len());
        doc.plan.sections.insert(at, section);
        doc.drafts.insert(at, SectionDraft::default());
        self.sections.words.insert(at, 0);
        self.sections.revisions.insert(at, 0);
        for r in &mut self.sections.revisions[at..] {
            *r += 1;
        }
    }

    /// Removes section `i` and its text; returns it.
    pub(crate) fn remove_section(&mut self, i: usize) -> Option<Section> {
        let doc = self.document.as_mut()?;
        if i >= doc.plan.sections.len() {
            return None;
        }
        doc.drafts.remove(i);
        self.sections.words.remove(i);
        self.sections.revisions.remove(i);
        for r in &mut self.sections.revisions[i..] {
            *r += 1;
        }
        Some(doc.plan.sections.remove(i))
    }

    /// Swaps sections `a` and `b` with their texts.
    pub(crate) fn swap_sections(&mut self, a: usize, b: usize) {
        let Some(doc) = self.document.as_mut() else {
            return;
        };
        let n = doc.plan.sections.len();
        if a >= n || b >= n {
            return;
        }
        doc.plan.sections.swap(a, b);
        doc.drafts.swap(a, b);
        self.sections.words.swap(a, b);
        for i in [a, b] {
            self.sections.revisions[i] += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::tui::fixtures;

    #[test]
    fn the_document_is_the_one_owner_of_text_and_the_cache_follows_it() {
        let mut s = fixtures::review(3, 100, (80, 24));
        s.append(1, "one two");
        s.append(1, " three");
        assert_eq!(s.text(1), "one two three");
        assert_eq!(s.words_of(1), 0, "recounted on the tick");
        s.recount(1);
        assert_eq!((s.words_of(1), s.total_written()), (3, 3));
        let before = s.revision(1);
        s.set_text(1, "four");
        assert_eq!((s.text(1).as_ref(), s.words_of(1)), ("four", 1));
        assert!(s.revision(1) > before);
        s.swap_sections(0, 1);
        assert_eq!(s.text(0), "four");
        s.remove_section(0);
        assert_eq!((s.text(0).as_ref(), s.total_written()), ("", 0));
        assert_eq!(s.document.as_ref().unwrap().drafts.len(), 2);
    }
}
