//! Keys to actions, through data: the defaults in `keymap.toml` (embedded), then the user's
//! `[keys.CONTEXT]` tables from `config.toml`.
//!
//! A bad entry (unknown key name, action or context) is reported by name and skipped; the rest
//! of the map still works. The help overlay is generated from the map in use, so it never lies.

use super::action::Action;
use ratatui_textarea::{Input, Key};
use std::collections::{BTreeMap, HashMap};

/// The default keymap file.
pub const DEFAULT_KEYMAP: &str = include_str!("../../keymap.toml");

/// Where a key is looked up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Context {
    /// Everywhere outside text editors, after the screen's own context.
    Global,
    /// Plan review.
    Plan,
    /// Writing and reading.
    Write,
    /// Text editors: only these keys act; the rest type.
    Editor,
}

impl Context {
    /// Every context, in help order.
    pub const ALL: [Context; 4] = [Self::Global, Self::Plan, Self::Write, Self::Editor];

    /// The table name in the keymap file.
    pub fn name(self) -> &'static str {
        match self {
            Self::Global => "global",
            Self::Plan => "plan",
            Self::Write => "write",
            Self::Editor => "editor",
        }
    }

    fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.name() == name)
    }
}

/// A key with its modifiers, as the map stores it (shift is part of the character for
/// letters and symbols).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Chord {
    key: Key,
    ctrl: bool,
    alt: bool,
    shift: bool,
}

impl From<&Input> for Chord {
    fn from(input: &Input) -> Self {
        let is_char = matches!(input.key, Key::Char(_));
        Self {
            key: input.key,
            ctrl: input.ctrl,
            alt: input.alt,
            shift: input.shift && !is_char,
        }
    }
}

/// A problem in a keymap entry.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum KeymapError {
    /// The key name is not understood.
    #[error("keys: unknown key name {key:?} in [keys.{context}] (e.g. \"j\", \"ctrl-d\", \"enter\", \"f5\"); entry ignored")]
    UnknownKey {
        /// The table.
        context: String,
        /// The key name.
        key: String,
    },
    /// The action name is not understood.
    #[error("keys: unknown action {action:?} for {key:?} in [keys.{context}]; entry ignored")]
    UnknownAction {
        /// The table.
        context: String,
        /// The key name.
        key: String,
        /// The action name.
        action: String,
    },
    /// The table name is not a context.
    #[error("keys: unknown table [keys.{context}] (use global, plan, write or editor); ignored")]
    UnknownContext {
        /// The table.
        context: String,
    },
    /// The file is not TOML.
    #[error("keymap: {0}")]
    Parse(String),
}

/// The keys in use.
#[derive(Debug, Clone, Default)]
pub struct Keymap {
    map: HashMap<(Context, Chord), Action>,
    /// Per context, key names and actions in file order, for the help overlay.
    listing: BTreeMap<Context, Vec<(String, Action)>>,
}

impl Keymap {
    /// The defaults with `overrides` on top, and the problems found.
    pub fn load(
        overrides: &BTreeMap<String, BTreeMap<String, String>>,
    ) -> (Self, Vec<KeymapError>) {
        let mut keymap = Self::default();
        let mut errors = Vec::new();
        match toml::from_str::<BTreeMap<String, toml::Table>>(DEFAULT_KEYMAP) {
            Ok(tables) => {
                for (context, table) in tables {
                    let entries = table
                        .into_iter()
                        .map(|(k, v)| (k, v.as_str().unwrap_or_default().to_string()));
                    keymap.add_table(&context, entries, &mut errors);
                }
            }
            Err(e) => errors.push(KeymapError::Parse(e.to_string())),
        }
        for (context, table) in overrides {
            let entries = table.iter().map(|(k, v)| (k.clone(), v.clone()));
            keymap.add_table(context, entries, &mut errors);
        }
        (keymap, errors)
    }

    fn add_table(
        &mut self,
        context: &str,
        entries: impl Iterator<Item = (String, String)>,
        errors: &mut Vec<KeymapError>,
    ) {
        let Some(ctx) = Context::parse(context) else {
            errors.push(KeymapError::UnknownContext {
                context: context.to_string(),
            });
            return;
        };
        for (key, action_name) in entries {
            let Some(chord) = parse_chord(&key) else {
                errors.push(KeymapError::UnknownKey {
                    context: context.to_string(),
                    key,
                });
                continue;
            };
            let action: Action =
                match serde_json::from_value(serde_json::Value::String(action_name.clone())) {
                    Ok(a) => a,
                    Err(_) => {
                        errors.push(KeymapError::UnknownAction {
                            context: context.to_string(),
                            key,
                            action: action_name,
                        });
                        continue;
                    }
                };
            self.map.insert((ctx, chord), action.clone());
            let listing = self.listing.entry(ctx).or_default();
            listing.retain(|(k, _)| parse_chord(k) != Some(chord));
            listing.push((key, action));
        }
    }

    /// The action for `input` in `context`; outside the editor, `[global]` is the fallback.
    pub fn action(&self, context: Context, input: &Input) -> Option<Action> {
        let chord = Chord::from(input);
        self.map.get(&(context, chord)).cloned().or_else(|| {
            (context != Context::Editor)
                .then(|| self.map.get(&(Context::Global, chord)).cloned())
                .flatten()
        })
    }

    /// Key names and actions of a context, for the help overlay.
    pub fn bindings(&self, context: Context) -> &[(String, Action)] {
        self.listing.get(&context).map_or(&[], |v| v.as_slice())
    }

    /// The first key bound to `action` in `context` (or global), for hints.
    pub fn key_for(&self, context: Context, action: &Action) -> Option<&str> {
        [context, Context::Global]
            .iter()
            .flat_map(|c| self.bindings(*c))
            .find(|(_, a)| a == action)
            .map(|(k, _)| k.as_str())
    }
}

/// Reads a key name like `j`, `G`, `ctrl-d`, `shift-tab`, `f5`, `space`.
pub fn parse_chord(name: &str) -> Option<Chord> {
    let mut chord = Chord {
        key: Key::Null,
        ctrl: false,
        alt: false,
        shift: false,
    };
    let mut rest = name;
    loop {
        let lower = rest.to_ascii_lowercase();
        if lower.starts_with("ctrl-") && rest.len() > 5 {
            chord.ctrl = true;
        } else if lower.starts_with("alt-") && rest.len() > 4 {
            chord.alt = true;
        } else if lower.starts_with("shift-") && rest.len() > 6 {
            chord.shift = true;
        } else {
            break;
        }
        rest = &rest[rest.find('-').map_or(0, |i| i + 1)..];
    }
    let mut chars = rest.chars();
    chord.key = match (chars.next(), chars.next()) {
        (Some(c), None) => {
            chord.shift = false;
            Key::Char(if chord.ctrl {
                c.to_ascii_lowercase()
            } else {
                c
            })
        }
        _ if rest.eq_ignore_ascii_case("backtab") => {
            chord.shift = true;
            Key::Tab
        }
        _ => named_key(&rest.to_ascii_lowercase())?,
    };
    if chord.key == Key::Char(' ') {
        chord.shift = false;
    }
    Some(chord)
}

fn named_key(name: &str) -> Option<Key> {
    Some(match name {
        "enter" | "return" => Key::Enter,
        "esc" | "escape" => Key::Esc,
        "tab" => Key::Tab,
        "backspace" => Key::Backspace,
        "delete" | "del" => Key::Delete,
        "up" => Key::Up,
        "down" => Key::Down,
        "left" => Key::Left,
        "right" => Key::Right,
        "home" => Key::Home,
        "end" => Key::End,
        "pageup" => Key::PageUp,
        "pagedown" => Key::PageDown,
        "space" => Key::Char(' '),
        f if f.starts_with('f') => Key::F(f[1..].parse().ok().filter(|n| (1..=12).contains(n))?),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(c: char) -> Input {
        Input {
            key: Key::Char(c),
            ..Input::default()
        }
    }

    #[test]
    fn defaults_load_without_errors() {
        let (map, errors) = Keymap::load(&BTreeMap::new());
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(map.action(Context::Plan, &key('j')), Some(Action::Down));
        assert_eq!(
            map.action(Context::Plan, &key('w')),
            Some(Action::StartWriting)
        );
        assert_eq!(map.action(Context::Editor, &key('j')), None);
        let ctrl_d = Input {
            key: Key::Char('d'),
            ctrl: true,
            ..Input::default()
        };
        assert_eq!(map.action(Context::Write, &ctrl_d), Some(Action::PageDown));
        let shift_g = Input {
            key: Key::Char('G'),
            shift: true,
            ..Input::default()
        };
        assert_eq!(map.action(Context::Write, &shift_g), Some(Action::Bottom));
    }

    #[test]
    fn overrides_apply_and_bad_entries_are_named() {
        let mut overrides = BTreeMap::new();
        overrides.insert(
            "write".to_string(),
            BTreeMap::from([
                ("z".to_string(), "pause_resume".to_string()),
                ("hyper-x".to_string(), "quit".to_string()),
                ("y".to_string(), "fly".to_string()),
            ]),
        );
        overrides.insert("nowhere".to_string(), BTreeMap::new());
        let (map, errors) = Keymap::load(&overrides);
        assert_eq!(
            map.action(Context::Write, &key('z')),
            Some(Action::PauseResume)
        );
        assert_eq!(
            map.action(Context::Write, &key('p')),
            Some(Action::PauseResume)
        );
        let text: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
        assert!(text.iter().any(|t| t.contains("hyper-x")), "{text:?}");
        assert!(text.iter().any(|t| t.contains("fly")), "{text:?}");
        assert!(text.iter().any(|t| t.contains("nowhere")), "{text:?}");
        let key = map.key_for(Context::Write, &Action::PauseResume);
        assert!(matches!(key, Some("p" | "space" | "z")), "{key:?}");
    }

    #[test]
    fn chord_names() {
        assert!(parse_chord("ctrl-s").is_some());
        assert!(parse_chord("f5").is_some());
        assert!(parse_chord("f13").is_none());
        assert!(parse_chord("hyper-x").is_none());
        assert!(parse_chord("").is_none());
    }
}
