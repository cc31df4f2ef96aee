//! Unit tests of the profile picker on the prompt screen, and a drawing of it on TestBackend.

use super::update;
use crate::tui::action::Action;
use crate::tui::effect::{Effect, Switched};
use crate::tui::fixtures;
use crate::tui::state::{Level, Overlay, ProfileRow, Screen, State};
use crate::tui::theme::Theme;
use crate::tui::translate;
use crate::writer::WriterSettings;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui_textarea::{Input, Key};

fn key(key: Key) -> Action {
    Action::Input(Input {
        key,
        ..Input::default()
    })
}

fn row(name: &str, kind: &str, place: &str) -> ProfileRow {
    ProfileRow {
        name: name.into(),
        kind: kind.into(),
        place: place.into(),
    }
}

/// A prompt screen with three profiles, `laptop` active.
fn with_profiles() -> State {
    let mut s = fixtures::fresh();
    update(&mut s, Action::Resize(100, 30));
    s.profiles = vec![
        row("gpu-box", "openai", "http://10.0.0.2:8000/v1"),
        row("laptop", "ollama", "http://127.0.0.1:11434"),
        row("local", "local", "/models/gemma.gguf"),
    ];
    s.active_profile = Some("laptop".into());
    s.backend = "profile laptop: ollama gemma3 at http://127.0.0.1:11434".into();
    s
}

fn switched(name: &str, temperature: f32) -> Action {
    let mut settings = WriterSettings::default();
    settings.sampling.temperature = temperature;
    Action::ProfileSwitched(Ok(Box::new(Switched {
        name: name.into(),
        label: format!("profile {name}: openai qwen at http://10.0.0.2:8000/v1"),
        settings,
    })))
}

#[test]
fn f3_on_the_prompt_screen_opens_the_picker_on_the_active_profile() {
    let mut s = with_profiles();
    let f3 = Event::Key(KeyEvent::new(KeyCode::F(3), KeyModifiers::NONE));
    let action = translate(&s, &fixtures::keymap(), f3).expect("f3 is bound");
    assert_eq!(action, Action::PickProfile);
    assert!(update(&mut s, action).is_empty());
    assert!(matches!(s.overlay, Overlay::Profiles { selected: 1 }));
    // Keys go to the list, not to the prompt.
    let j = Event::Key(KeyEvent::new(KeyCode::Char('j'), KeyModifiers::NONE));
    let action = translate(&s, &fixtures::keymap(), j).expect("a key");
    update(&mut s, action);
    assert!(matches!(s.overlay, Overlay::Profiles { selected: 2 }));
    assert_eq!(s.prompt_text(), "");
}

#[test]
fn without_profiles_the_key_says_so_and_opens_nothing() {
    let mut s = fixtures::fresh();
    assert!(update(&mut s, Action::PickProfile).is_empty());
    assert!(matches!(s.overlay, Overlay::None));
    let (level, text) = s.message.clone().expect("a message");
    assert_eq!(level, Level::Warning);
    assert!(text.contains("no profiles"), "{text}");
    assert!(text.contains("[profiles.NAME]"), "{text}");
}

#[test]
fn moving_stays_inside_the_list_and_esc_closes_without_a_change() {
    let mut s = with_profiles();
    update(&mut s, Action::PickProfile);
    for _ in 0..5 {
        update(&mut s, key(Key::Down));
    }
    assert!(matches!(s.overlay, Overlay::Profiles { selected: 2 }));
    for _ in 0..5 {
        update(&mut s, key(Key::Char('k')));
    }
    assert!(matches!(s.overlay, Overlay::Profiles { selected: 0 }));
    assert!(update(&mut s, key(Key::Esc)).is_empty());
    assert!(matches!(s.overlay, Overlay::None));
    assert_eq!(s.active_profile.as_deref(), Some("laptop"));
    assert_eq!(s.switching, None);
}

#[test]
fn choosing_a_profile_connects_it_and_the_header_names_it_at_once() {
    let mut s = with_profiles();
    let before = s.backend.clone();
    update(&mut s, Action::PickProfile);
    update(&mut s, key(Key::Up));
    let effects = update(&mut s, key(Key::Enter));
    assert_eq!(effects, vec![Effect::UseProfile("gpu-box".into())]);
    assert!(matches!(s.overlay, Overlay::None));
    assert!(
        s.backend.starts_with("profile gpu-box: openai"),
        "{}",
        s.backend
    );
    assert_eq!(s.switching, Some(("gpu-box".into(), before)));
    // No job starts on a backend that is still connecting.
    fixtures::type_text(&mut s, "A 3000-word essay on tides");
    assert!(update(&mut s, Action::Submit).is_empty());
    assert_eq!(s.screen, Screen::Prompt);
    let (_, text) = s.message.clone().expect("a message");
    assert!(text.contains("still connecting"), "{text}");
    // Connected: the profile is active, its settings are the next job's.
    update(&mut s, switched("gpu-box", 0.3));
    assert_eq!(s.active_profile.as_deref(), Some("gpu-box"));
    assert_eq!(s.switching, None);
    assert!(s.backend.contains("qwen"), "{}", s.backend);
    let effects = update(&mut s, Action::Submit);
    let [Effect::Plan(job)] = effects.as_slice() else {
        panic!("a plan request, got {effects:?}");
    };
    assert_eq!(job.settings.sampling.temperature, 0.3);
}

#[test]
fn choosing_the_active_profile_again_changes_nothing() {
    let mut s = with_profiles();
    update(&mut s, Action::PickProfile);
    assert!(update(&mut s, Action::Submit).is_empty());
    assert_eq!(s.switching, None);
    assert!(s.message.clone().expect("a message").1.contains("already"));
}

#[test]
fn a_profile_that_cannot_connect_is_reported_and_the_old_one_stays() {
    let mut s = with_profiles();
    let before = s.backend.clone();
    update(&mut s, Action::PickProfile);
    update(&mut s, key(Key::Down));
    assert_eq!(
        update(&mut s, key(Key::Enter)),
        vec![Effect::UseProfile("local".into())]
    );
    update(&mut s, Action::ProfileSwitched(Err("no model file".into())));
    assert_eq!(s.backend, before);
    assert_eq!(s.active_profile.as_deref(), Some("laptop"));
    assert_eq!(s.switching, None);
    let Overlay::Error(text) = &s.overlay else {
        panic!("an error dialog, got {:?}", s.overlay);
    };
    assert!(
        text.contains("cannot use profile local: no model file"),
        "{text}"
    );
    assert!(text.contains("keeps profile laptop"), "{text}");
}

#[test]
fn an_answer_for_an_earlier_choice_is_ignored() {
    let mut s = with_profiles();
    update(&mut s, Action::PickProfile);
    update(&mut s, key(Key::Home));
    update(&mut s, key(Key::Enter));
    update(&mut s, Action::PickProfile);
    assert!(matches!(s.overlay, Overlay::Profiles { selected: 0 }));
    update(&mut s, key(Key::End));
    assert_eq!(
        update(&mut s, key(Key::Enter)),
        vec![Effect::UseProfile("local".into())]
    );
    update(&mut s, switched("gpu-box", 0.3));
    assert_eq!(s.active_profile.as_deref(), Some("laptop"));
    assert_eq!(s.switching.as_ref().map(|(n, _)| n.as_str()), Some("local"));
    assert!(
        s.backend.starts_with("profile local: local"),
        "{}",
        s.backend
    );
}

#[test]
fn the_picker_lists_name_kind_and_place_with_the_active_one_marked() {
    let mut s = with_profiles();
    update(&mut s, Action::PickProfile);
    let mut terminal = Terminal::new(TestBackend::new(100, 30)).expect("a test terminal");
    terminal
        .draw(|f| crate::tui::view::draw(f, &s, &Theme::default(), &fixtures::keymap()))
        .expect("a frame");
    let screen = terminal.backend().to_string();
    assert!(screen.contains("Profile for the next job"), "{screen}");
    assert!(
        screen.contains("  gpu-box  openai  http://10.0.0.2:8000/v1"),
        "{screen}"
    );
    assert!(
        screen.contains("* laptop   ollama  http://127.0.0.1:11434"),
        "{screen}"
    );
    assert!(
        screen.contains("  local    local   /models/gemma.gguf"),
        "{screen}"
    );
}

#[test]
fn the_prompt_status_line_hints_the_picker_only_with_profiles() {
    let draw = |s: &State| {
        let mut terminal = Terminal::new(TestBackend::new(100, 30)).expect("a test terminal");
        terminal
            .draw(|f| crate::tui::view::draw(f, s, &Theme::default(), &fixtures::keymap()))
            .expect("a frame");
        terminal.backend().to_string()
    };
    assert!(draw(&with_profiles()).contains("f3 profile"));
    let mut bare = fixtures::fresh();
    update(&mut bare, Action::Resize(100, 30));
    assert!(!draw(&bare).contains("f3 profile"));
}
