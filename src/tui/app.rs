//! The event loop: terminal events, job events, effect results and signals become actions;
//! `update` turns them into effects; the runner performs those; `draw` runs on a frame timer.
//!
//! Job events are drained in bursts and only mark the frame dirty, so a fast token stream
//! costs one draw per frame, and the writer's task never waits on drawing (its channel is
//! unbounded and read here between frames).

use super::action::Action;
use super::effect::Effect;
use super::keymap::{Context, Keymap};
use super::runner::Runner;
use super::state::{Overlay, Screen, State};
use super::terminal;
use super::theme::{ColorSupport, Theme};
use super::update::update;
use super::view;
use super::{Exit, Studio, TuiError};
use crate::writer::JobEvent;
use futures::StreamExt;
use ratatui::crossterm::event::{Event, EventStream, KeyEventKind, MouseEventKind};
use ratatui::DefaultTerminal;
use ratatui_textarea::{Input, Key};
use std::time::{Duration, Instant};
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};

/// Frame period: 25 frames per second at most, which keeps a 200 tok/s stream near 5% of a core.
const FRAME: Duration = Duration::from_millis(40);
/// How long a hang-up waits for the writer to flush and release the project.
const HANGUP_FLUSH: Duration = Duration::from_millis(1000);
/// How long quitting waits for the same.
const QUIT_FLUSH: Duration = Duration::from_secs(5);
/// More terminal events than this in one second means a dead terminal spinning (crossterm
/// issue 1110): leave instead of burning a core.
const SPIN_LIMIT: u32 = 5_000;

/// Runs the studio until the user quits or a signal ends it; `first` are effects to run at
/// once (following a project opened by name).
pub async fn run(
    studio: Studio,
    mut state: State,
    (mut theme, keymap): (Theme, Keymap),
    first: Vec<Effect>,
) -> Result<Exit, TuiError> {
    let mut terminal = terminal::enter().map_err(TuiError::Terminal)?;
    let (actions, mut action_rx) = unbounded_channel();
    let (job_events, mut job_rx) = unbounded_channel();
    let mut runner = Runner::new(studio, actions, job_events);
    for effect in first {
        runner.run(effect);
    }
    let result = event_loop(
        &mut terminal,
        &mut state,
        (&mut theme, &keymap),
        &mut runner,
        &mut action_rx,
        &mut job_rx,
    )
    .await;
    let hung_up = matches!(result, Ok(Exit::HungUp));
    if !hung_up {
        terminal::leave();
    }
    // The journal already holds every streamed chunk (one write per delta); this waits for the
    // final fsync, the manifest's state and the lock's release, briefly after a hang-up.
    let bound = if hung_up { HANGUP_FLUSH } else { QUIT_FLUSH };
    runner.shut_down(bound).await;
    result
}

async fn event_loop(
    terminal: &mut DefaultTerminal,
    state: &mut State,
    (theme, keymap): (&mut Theme, &Keymap),
    runner: &mut Runner,
    action_rx: &mut UnboundedReceiver<Action>,
    job_rx: &mut UnboundedReceiver<JobEvent>,
) -> Result<Exit, TuiError> {
    let mut events = EventStream::new();
    let mut frame = tokio::time::interval(FRAME);
    frame.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut sigterm = signal(SignalKind::terminate()).map_err(TuiError::Terminal)?;
    let mut sighup = signal(SignalKind::hangup()).map_err(TuiError::Terminal)?;
    let start = Instant::now();
    let (mut dirty, mut last_draw) = (true, 0u64);
    let (mut spin_window, mut spin_count) = (0u64, 0u32);
    if let Ok(size) = terminal.size() {
        update(state, Action::Resize(size.width, size.height));
    }
    loop {
        let mut actions = Vec::new();
        tokio::select! {
            event = events.next() => match event {
                Some(Ok(event)) => {
                    let now = start.elapsed().as_secs();
                    if now != spin_window {
                        (spin_window, spin_count) = (now, 0);
                    }
                    spin_count += 1;
                    if spin_count > SPIN_LIMIT {
                        return Ok(Exit::TerminalLost);
                    }
                    actions.extend(translate(state, keymap, event));
                }
                Some(Err(_)) | None => return Ok(Exit::TerminalLost),
            },
            Some(event) = job_rx.recv() => {
                actions.push(Action::Job(event));
                while let Ok(more) = job_rx.try_recv() {
                    actions.push(Action::Job(more));
                }
            }
            Some(action) = action_rx.recv() => actions.push(action),
            _ = frame.tick() => {
                let now = start.elapsed().as_millis() as u64;
                if dirty || now >= last_draw + 1000 {
                    update(state, Action::Tick(now));
                    terminal
                        .draw(|f| view::draw(f, state, theme, keymap))
                        .map_err(TuiError::Terminal)?;
                    (dirty, last_draw) = (false, now);
                }
            }
            _ = sigterm.recv() => actions.push(Action::Terminate),
            _ = sighup.recv() => return Ok(Exit::HungUp),
        }
        for action in actions {
            dirty = true;
            for effect in update(state, action) {
                let Some(effect) = runner.run(effect) else {
                    continue;
                };
                match effect {
                    Effect::Quit => return Ok(Exit::Normal),
                    Effect::Save(request) => {
                        // Synchronous: the edit is on disk before the next key is read.
                        let saved = runner.save(request).await;
                        update(state, saved);
                    }
                    Effect::SetTheme(name) => {
                        let dir = runner.studio.config_dir.clone();
                        let (t, err) = Theme::load(&name, dir.as_deref(), ColorSupport::detect());
                        *theme = t;
                        state.theme_name = theme.name.clone();
                        let text = err.map_or(format!("theme: {}", theme.name), |e| e.to_string());
                        update(state, Action::Job(JobEvent::Warning { message: text }));
                    }
                    Effect::ExternalEdit { index, text } => {
                        drop(events);
                        let edited = external_edit(&text);
                        if let Err(e) = terminal::resume(terminal) {
                            terminal::leave();
                            return Err(TuiError::Terminal(e));
                        }
                        events = EventStream::new();
                        let _ = runner.actions.send(Action::ExternallyEdited {
                            index,
                            text: edited,
                        });
                    }
                    _ => {}
                }
            }
        }
    }
}

/// Suspends the terminal and runs `$VISUAL`/`$EDITOR` (default `vi`) on a temp file.
fn external_edit(text: &str) -> Result<String, String> {
    terminal::suspend().map_err(|e| e.to_string())?;
    let path = std::env::temp_dir().join(format!("longwriter-edit-{}.md", std::process::id()));
    std::fs::write(&path, text).map_err(|e| e.to_string())?;
    let _cleanup = RemoveOnDrop(path.clone());
    let editor = std::env::var("VISUAL")
        .or_else(|_| std::env::var("EDITOR"))
        .unwrap_or_else(|_| "vi".into());
    let mut parts = editor.split_whitespace();
    let program = parts.next().unwrap_or("vi");
    let status = tokio::task::block_in_place(|| {
        std::process::Command::new(program)
            .args(parts)
            .arg(&path)
            .status()
    })
    .map_err(|e| format!("cannot run {editor:?}: {e}"))?;
    if !status.success() {
        return Err(format!("{editor} exited with {status}; text unchanged"));
    }
    let edited = std::fs::read_to_string(&path).map_err(|e| e.to_string())?;
    Ok(edited.trim_end_matches('\n').to_string())
}

/// Removes the editor's temp file however the edit ends.
struct RemoveOnDrop(std::path::PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// The keymap context of the current screen and overlay.
pub fn context(state: &State) -> Context {
    match (&state.overlay, state.screen) {
        (Overlay::Input { .. } | Overlay::Editor { .. }, _) => Context::Editor,
        (_, Screen::Prompt) => Context::Editor,
        (_, Screen::Review) => Context::Plan,
        (_, Screen::Writing | Screen::Dashboard) => Context::Write,
        (_, Screen::Planning) => Context::Global,
    }
}

/// Turns a terminal event into actions through the keymap.
pub fn translate(state: &State, keymap: &Keymap, event: Event) -> Option<Action> {
    match event {
        Event::Resize(w, h) => Some(Action::Resize(w, h)),
        Event::Key(key) if key.kind != KeyEventKind::Release => {
            let input = Input::from(key);
            if matches!(
                state.overlay,
                Overlay::Confirm { .. } | Overlay::Profiles { .. }
            ) {
                // A question (or the profile list) takes one key, whatever the keymap says.
                return Some(Action::Input(input));
            }
            if let Overlay::Help { top } = state.overlay {
                return Some(help_key(state, keymap, top, &input));
            }
            if matches!(state.overlay, Overlay::Error(_)) {
                let quit = input.ctrl && input.key == Key::Char('c');
                return Some(if quit { Action::Quit } else { Action::Cancel });
            }
            let context = context(state);
            keymap
                .action(context, &input)
                .or_else(|| (context == Context::Editor).then_some(Action::Input(input)))
        }
        Event::Mouse(m) => match m.kind {
            MouseEventKind::ScrollUp => Some(Action::Up),
            MouseEventKind::ScrollDown => Some(Action::Down),
            _ => None,
        },
        _ => None,
    }
}

/// Keys in the help overlay: scrolling keys scroll it (as far as the terminal's size needs),
/// ctrl-c quits, any other key closes it.
fn help_key(state: &State, keymap: &Keymap, top: usize, input: &Input) -> Action {
    let area = ratatui::layout::Rect::new(0, 0, state.size.0, state.size.1);
    let max_top = view::help_scroll_limit(state, keymap, area);
    let to = |top: usize| Action::HelpTo(top.min(max_top));
    match (input.key, input.ctrl) {
        (Key::Char('c'), true) => Action::Quit,
        (Key::Char('d'), true) | (Key::PageDown, _) | (Key::Char(' '), false) => to(top + 10),
        (Key::Char('u'), true) | (Key::PageUp, _) => to(top.saturating_sub(10)),
        (Key::Char('j'), false) | (Key::Down, _) => to(top + 1),
        (Key::Char('k'), false) | (Key::Up, _) => to(top.saturating_sub(1)),
        (Key::Char('g'), false) | (Key::Home, _) => to(0),
        (Key::Char('G'), false) | (Key::End, _) => to(max_top),
        _ => Action::Cancel,
    }
}
