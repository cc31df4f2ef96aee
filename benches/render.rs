//! Drawing one studio frame at 120×40 while the last section of a 100,000-word document
//! streams (target: median ≤ 1 ms), and the update work of one frame's worth of token deltas.

use criterion::{criterion_group, criterion_main, Criterion};
use longwriter::tui::fixtures;
use longwriter::tui::update::update;
use longwriter::tui::view::draw;
use longwriter::tui::{Action, Theme};
use longwriter::writer::JobEvent;
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use std::hint::black_box;

fn frame(c: &mut Criterion) {
    // 40 sections of 2,500 words: 39 done, the last one streaming.
    let mut state = fixtures::writing(40, 2_500, 39, 1_200, (120, 40));
    let theme = Theme::default();
    let keymap = fixtures::keymap();
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).expect("test backend");
    let mut now = 20_000;
    let mut frames = 0u32;
    c.bench_function("draw_frame_120x40_streaming_100k_words", |b| {
        b.iter(|| {
            // Keep the streaming section near its 2,500-word target, as in a real run.
            frames += 1;
            if frames.is_multiple_of(150) {
                restart_last_section(&mut state);
            }
            for _ in 0..7 {
                update(
                    &mut state,
                    Action::Job(JobEvent::Delta {
                        index: 39,
                        text: "light ".into(),
                    }),
                );
            }
            now += 33;
            update(&mut state, Action::Tick(now));
            terminal
                .draw(|f| draw(f, black_box(&state), &theme, &keymap))
                .expect("draw");
        })
    });
}

fn restart_last_section(state: &mut longwriter::tui::State) {
    update(
        state,
        Action::Job(JobEvent::SectionStarted {
            index: 39,
            title: String::new(),
            target_words: 2_500,
        }),
    );
    update(
        state,
        Action::Job(JobEvent::Delta {
            index: 39,
            text: fixtures::prose(1_200),
        }),
    );
}

fn parts(c: &mut Criterion) {
    let mut state = fixtures::writing(40, 2_500, 39, 1_200, (120, 40));
    let theme = Theme::default();
    let keymap = fixtures::keymap();
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).expect("test backend");
    c.bench_function("draw_only_120x40", |b| {
        b.iter(|| {
            terminal
                .draw(|f| draw(f, black_box(&state), &theme, &keymap))
                .expect("draw");
        })
    });
    let mut now = 20_000;
    c.bench_function("tick_only", |b| {
        b.iter(|| {
            now += 33;
            update(&mut state, Action::Tick(now));
        })
    });
}

criterion_group!(benches, frame, parts);
criterion_main!(benches);
