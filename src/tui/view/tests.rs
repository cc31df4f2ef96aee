//! Snapshot tests of every screen at 80×24 and 120×40 (insta; `INSTA_UPDATE=no` in CI), and a
//! sweep of every terminal size from 0×0 to 40×15 through every screen without a panic.

use super::draw;
use crate::tui::action::Action;
use crate::tui::fixtures;
use crate::tui::state::{Overlay, State};
use crate::tui::theme::Theme;
use crate::tui::update::update;
use ratatui::backend::TestBackend;
use ratatui::Terminal;

const SIZES: [(u16, u16); 2] = [(80, 24), (120, 40)];

fn render(state: &mut State, (w, h): (u16, u16)) -> String {
    update(state, Action::Resize(w, h));
    update(state, Action::Tick(13_000));
    let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
    terminal
        .draw(|f| draw(f, state, &Theme::default(), &fixtures::keymap()))
        .unwrap();
    if w == 0 || h == 0 {
        // TestBackend cannot print an empty buffer; drawing it is what is tested.
        return String::new();
    }
    terminal.backend().to_string()
}

fn screens(size: (u16, u16)) -> Vec<(&'static str, State)> {
    let mut prompt = fixtures::fresh();
    update(&mut prompt, Action::Resize(size.0, size.1));
    fixtures::type_text(
        &mut prompt,
        "Write a 5000-word history of a lighthouse\nin five parts.",
    );
    let review = fixtures::review(5, 1000, size);
    let writing = fixtures::writing(5, 1000, 2, 430, size);
    let mut help = fixtures::writing(5, 1000, 2, 430, size);
    update(&mut help, Action::Help);
    let mut error = fixtures::writing(5, 1000, 2, 430, size);
    update(
        &mut error,
        Action::Exported(Err(
            "cannot write /nope/doc.md: No such file or directory".into()
        )),
    );
    assert!(matches!(error.overlay, Overlay::Error(_)));
    let dashboard = dashboard(size);
    let chapters = dashboard_chapters(size);
    vec![
        ("prompt", prompt),
        ("plan_review", review),
        ("writing", writing),
        ("help", help),
        ("error", error),
        ("dashboard", dashboard),
        ("dashboard_chapters", chapters),
    ]
}

/// The dashboard over a writing studio, with this studio's run and two others.
fn dashboard(size: (u16, u16)) -> State {
    use crate::tui::state::RunRow;
    let mut state = fixtures::writing(5, 1000, 2, 430, size);
    state.project = Some("mfx2k9qa01".into());
    update(&mut state, Action::Dashboard);
    let row = |id: &str, title: &str, section, words, tok: f64, eta, st: &str| RunRow {
        id: id.into(),
        title: title.into(),
        chapter: None,
        section,
        sections: 5,
        words,
        target: 5000,
        tok_per_s: tok,
        eta_s: eta,
        state: st.into(),
    };
    let rows = vec![
        row(
            "mfx2k9qa01",
            "A history of a lighthouse",
            3,
            2430,
            41.0,
            Some(380),
            "writing",
        ),
        row(
            "mfx31bc7zz",
            "Letters from the Breton coast, 1890–1914",
            1,
            212,
            0.0,
            None,
            "writing",
        ),
        row(
            "mfx40aa0k3",
            "Field guide to tide pools",
            5,
            4610,
            97.4,
            Some(9),
            "writing",
        ),
    ];
    update(&mut state, Action::Runs(rows));
    update(&mut state, Action::Down);
    state
}

/// The dashboard with runs in chapters: one mid-chapter, one planning its next chapter, one
/// flat beside them.
fn dashboard_chapters(size: (u16, u16)) -> State {
    let mut state = dashboard(size);
    let mut rows = state.runs.rows.clone();
    (rows[0].chapter, rows[0].section, rows[0].sections) = (Some((2, 5)), 3, 6);
    (rows[1].chapter, rows[1].section, rows[1].sections) = (Some((12, 20)), 0, 0);
    rows[1].target = 100_000;
    update(&mut state, Action::Runs(rows));
    state
}

#[test]
fn every_screen_at_both_sizes() {
    for size in SIZES {
        for (name, mut state) in screens(size) {
            let text = render(&mut state, size);
            insta::assert_snapshot!(format!("{name}_{}x{}", size.0, size.1), text);
        }
    }
}

#[test]
fn every_small_size_draws_without_panic() {
    for (_, base) in screens((80, 24)) {
        for w in 0..=40 {
            for h in 0..=15 {
                let mut state = base.clone();
                render(&mut state, (w, h));
            }
        }
    }
}

#[test]
fn resize_storm_keeps_the_tail_in_view() {
    let mut state = fixtures::writing(3, 800, 1, 500, (120, 40));
    for i in 0..500u16 {
        update(&mut state, Action::Resize(20 + i % 150, 5 + i % 60));
    }
    let text = render(&mut state, (100, 30));
    assert!(text.contains("following"), "{text}");
}

#[test]
fn every_theme_draws() {
    for (name, _) in crate::tui::theme::BUILTIN {
        let (theme, err) = Theme::load(name, None, crate::tui::theme::ColorSupport::TrueColor);
        assert!(err.is_none());
        let state = fixtures::writing(3, 500, 1, 200, (80, 24));
        let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
        terminal
            .draw(|f| draw(f, &state, &theme, &fixtures::keymap()))
            .unwrap();
    }
}

/// The status line (the last row) of `state` at 80×24.
fn status_line(state: &mut State) -> String {
    let text = render(state, (80, 24));
    text.lines().nth(23).unwrap_or_default().to_string()
}

#[test]
fn status_lines_at_80_columns_show_the_message_before_the_hints() {
    use crate::tui::state::JobState;
    let mut lines = Vec::new();
    let mut empty = fixtures::fresh();
    update(&mut empty, Action::Resize(80, 24));
    fixtures::type_text(&mut empty, "  ");
    update(&mut empty, Action::Submit);
    assert!(
        matches!(empty.overlay, Overlay::Error(_)),
        "too long: in a dialog"
    );
    let mut writing = fixtures::writing(5, 1000, 2, 430, (80, 24));
    lines.push(("writing", status_line(&mut writing)));
    update(
        &mut writing,
        Action::Exported(Ok("/home/ann/lighthouse.md".into())),
    );
    lines.push(("exported", status_line(&mut writing)));
    let mut stopped = fixtures::writing(5, 1000, 2, 430, (80, 24));
    update(&mut stopped, Action::Stop);
    let document = Box::new(stopped.document.clone().unwrap());
    update(
        &mut stopped,
        Action::WriteFinished {
            document,
            error: Some("stopped by the user".into()),
            cancelled: true,
        },
    );
    assert_eq!(stopped.job_state, JobState::Stopped);
    lines.push(("stopped", status_line(&mut stopped)));
    stopped.message = None;
    lines.push(("stopped, no message", status_line(&mut stopped)));
    let mut done = fixtures::writing(2, 100, 2, 0, (80, 24));
    let document = Box::new(done.document.clone().unwrap());
    update(
        &mut done,
        Action::WriteFinished {
            document,
            error: None,
            cancelled: false,
        },
    );
    lines.push(("done", status_line(&mut done)));
    let text: Vec<String> = lines
        .iter()
        .map(|(name, line)| format!("{name:>18}: {line}"))
        .collect();
    insta::assert_snapshot!("status_lines_80x24", text.join("\n"));
    assert!(lines[1].1.contains("exported to /home/ann/lighthouse.md"));
    assert!(!lines[3].1.contains("pause"), "{}", lines[3].1);
}

#[test]
fn help_at_80x24_scrolls_to_every_binding() {
    let mut state = fixtures::writing(5, 1000, 2, 430, (80, 24));
    update(&mut state, Action::Help);
    let first = render(&mut state, (80, 24));
    insta::assert_snapshot!("help_top_80x24", first);
    // As far as it goes (the event loop limits it to what the size needs; so does drawing).
    update(&mut state, Action::HelpTo(usize::MAX));
    let last = render(&mut state, (80, 24));
    insta::assert_snapshot!("help_bottom_80x24", last);
    let seen = format!("{first}\n{last}");
    for context in crate::tui::keymap::Context::ALL {
        for (_, action) in fixtures::keymap().bindings(context) {
            assert!(
                seen.contains(action.describe()),
                "{:?} missing from the help",
                action
            );
        }
    }
}

#[test]
fn a_question_names_what_would_be_lost() {
    let mut state = fixtures::writing(3, 200, 3, 0, (80, 24));
    let document = Box::new(state.document.clone().unwrap());
    update(
        &mut state,
        Action::ExportWouldReplace(Box::new(crate::tui::effect::ExportRequest {
            path: "/home/ann/story.md".into(),
            format: crate::export::ExportFormat::Md,
            document: *document,
            meta: crate::tui::fixtures::export_meta(),
        })),
    );
    insta::assert_snapshot!("confirm_export_80x24", render(&mut state, (80, 24)));
}
