//! Colour themes: TOML files of named colours, patched over the built-in dark theme.
//!
//! View code never names a colour; it asks the theme for a meaning (`title(focused)`,
//! `section_state(state)`, `selected()`). Built-in themes live in `themes/*.toml` and are
//! embedded; `<config dir>/themes/NAME.toml` overrides or adds one by name. `NO_COLOR` turns
//! every colour off (modifiers such as bold and reverse stay, so selection is still visible);
//! without truecolor, `#rrggbb` values are mapped to the nearest of the 16 ANSI colours.

use crate::plan::SectionState;
use ratatui::style::{Color, Modifier, Style};
use std::path::Path;

mod palette;

use palette::{apply, blank, to_ansi16};
pub use palette::{parse_colour, Palette};

/// The built-in themes, by name; the first is the default.
pub const BUILTIN: &[(&str, &str)] = &[
    ("dark", include_str!("../../../themes/dark.toml")),
    ("light", include_str!("../../../themes/light.toml")),
    (
        "high-contrast",
        include_str!("../../../themes/high-contrast.toml"),
    ),
];

/// Problems loading a theme; the studio shows them and carries on with the default.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ThemeError {
    /// No built-in theme and no file of that name.
    #[error("no theme named {name:?} (built in: dark, light, high-contrast; or put {name}.toml in {dir})")]
    Unknown {
        /// The requested name.
        name: String,
        /// Where user themes are looked for.
        dir: String,
    },
    /// The name is not a plain name (a path, `..`): themes are chosen by name only, so that a
    /// setting cannot load a file from outside the themes folder.
    #[error("{name:?} is not a theme name: give a name (letters, digits, - and _) such as dark, light, high-contrast, or NAME for <config dir>/themes/NAME.toml")]
    BadName {
        /// The requested name.
        name: String,
    },
    /// The file is not TOML or has an unknown key.
    #[error("{file}: {reason}; using the default theme")]
    Parse {
        /// The file.
        file: String,
        /// What is wrong.
        reason: String,
    },
    /// A colour value cannot be read.
    #[error("{file}: [colors] {key} = {value:?} is not a colour (a name like \"cyan\", \"reset\" or \"#rrggbb\"); using the default theme")]
    BadColour {
        /// The file.
        file: String,
        /// The key.
        key: String,
        /// The value.
        value: String,
    },
}

/// A loaded theme.
#[derive(Debug, Clone, PartialEq)]
pub struct Theme {
    /// Its name.
    pub name: String,
    colors: Palette,
    plain: bool,
}

/// How many colours the terminal shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColorSupport {
    /// None (`NO_COLOR`).
    None,
    /// The 16 ANSI colours.
    Ansi16,
    /// 24-bit colour.
    TrueColor,
}

impl ColorSupport {
    /// Reads `NO_COLOR` and `COLORTERM` from the environment.
    pub fn detect() -> Self {
        if std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()) {
            return Self::None;
        }
        match std::env::var("COLORTERM").as_deref() {
            Ok("truecolor") | Ok("24bit") => Self::TrueColor,
            _ => Self::Ansi16,
        }
    }
}

impl Default for Theme {
    fn default() -> Self {
        let mut palette = blank();
        // The embedded default parses by construction; a test checks it.
        let _ = apply(&mut palette, BUILTIN[0].1, "themes/dark.toml");
        Self {
            name: BUILTIN[0].0.to_string(),
            colors: palette,
            plain: false,
        }
    }
}

/// Checks that `name` is a theme name and not a path: letters, digits, `-` and `_` only.
pub fn check_name(name: &str) -> Result<(), ThemeError> {
    let plain = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if plain {
        Ok(())
    } else {
        Err(ThemeError::BadName {
            name: name.to_string(),
        })
    }
}

impl Theme {
    /// Loads theme `name`: `<config_dir>/themes/NAME.toml` first, then the built-ins. On any
    /// problem returns the default theme and the error to show.
    pub fn load(
        name: &str,
        config_dir: Option<&Path>,
        support: ColorSupport,
    ) -> (Self, Option<ThemeError>) {
        let (theme, error) = match Self::try_load(name, config_dir) {
            Ok(theme) => (theme, None),
            Err(e) => (Self::default(), Some(e)),
        };
        (theme.for_terminal(support), error)
    }

    fn try_load(name: &str, config_dir: Option<&Path>) -> Result<Self, ThemeError> {
        check_name(name)?;
        let mut palette = Self::default().colors;
        let user = config_dir.map(|d| d.join("themes").join(format!("{name}.toml")));
        let builtin = BUILTIN.iter().find(|(n, _)| *n == name);
        if let Some(path) = user.as_ref().filter(|p| p.is_file()) {
            let file = path.display().to_string();
            let text = std::fs::read_to_string(path).map_err(|e| ThemeError::Parse {
                file: file.clone(),
                reason: e.to_string(),
            })?;
            if let Some((n, builtin_text)) = builtin {
                apply(&mut palette, builtin_text, &format!("themes/{n}.toml"))?;
            }
            apply(&mut palette, &text, &file)?;
        } else if let Some((n, text)) = builtin {
            apply(&mut palette, text, &format!("themes/{n}.toml"))?;
        } else {
            return Err(ThemeError::Unknown {
                name: name.to_string(),
                dir: config_dir.map_or("<config dir>/themes".into(), |d| {
                    d.join("themes").display().to_string()
                }),
            });
        }
        Ok(Self {
            name: name.to_string(),
            colors: palette,
            plain: false,
        })
    }

    /// This theme as the terminal can show it.
    pub fn for_terminal(mut self, support: ColorSupport) -> Self {
        match support {
            ColorSupport::None => {
                self.colors = self.colors.map(|_| Color::Reset);
                self.plain = true;
            }
            ColorSupport::Ansi16 => self.colors = self.colors.map(to_ansi16),
            ColorSupport::TrueColor => {}
        }
        self
    }

    /// The name of the built-in theme after `name`, for the cycle key.
    pub fn next_name(name: &str) -> &'static str {
        let at = BUILTIN.iter().position(|(n, _)| *n == name);
        BUILTIN[at.map_or(0, |i| (i + 1) % BUILTIN.len())].0
    }

    /// Body text.
    pub fn text(&self) -> Style {
        Style::default().fg(self.colors.text)
    }

    /// Secondary text: hints, counts, main points.
    pub fn dim(&self) -> Style {
        Style::default().fg(self.colors.dim)
    }

    /// Emphasis: headings and key names.
    pub fn accent(&self) -> Style {
        Style::default()
            .fg(self.colors.accent)
            .add_modifier(Modifier::BOLD)
    }

    /// A pane's border.
    pub fn border(&self, focused: bool) -> Style {
        let c = if focused {
            self.colors.border_focused
        } else {
            self.colors.border
        };
        Style::default().fg(c)
    }

    /// A pane's border lines: thick when it has the focus.
    pub fn border_type(&self, focused: bool) -> ratatui::widgets::BorderType {
        // Shape as well as colour, so that focus shows in any theme and without colour.
        if focused {
            ratatui::widgets::BorderType::Thick
        } else {
            ratatui::widgets::BorderType::Plain
        }
    }

    /// A pane's title: bold, and underlined when focused.
    pub fn title(&self, focused: bool) -> Style {
        let style = self.border(focused).add_modifier(Modifier::BOLD);
        if focused {
            style.add_modifier(Modifier::UNDERLINED)
        } else {
            style
        }
    }

    /// The selected row of a list.
    pub fn selected(&self) -> Style {
        let style = Style::default()
            .fg(self.colors.selected_fg)
            .bg(self.colors.selected_bg)
            .add_modifier(Modifier::BOLD);
        if self.plain {
            style.add_modifier(Modifier::REVERSED)
        } else {
            style
        }
    }

    /// The colour of a section's state icon and counts.
    pub fn section_state(&self, state: SectionState) -> Style {
        let c = match state {
            SectionState::Planned => self.colors.planned,
            SectionState::Queued => self.colors.queued,
            SectionState::Writing => self.colors.writing,
            SectionState::Done => self.colors.done,
            SectionState::Failed => self.colors.failed,
            SectionState::Stale => self.colors.stale,
        };
        Style::default().fg(c)
    }

    /// Error text.
    pub fn error(&self) -> Style {
        Style::default()
            .fg(self.colors.error)
            .add_modifier(Modifier::BOLD)
    }

    /// Warnings and retry notices.
    pub fn warning(&self) -> Style {
        Style::default().fg(self.colors.warning)
    }

    /// A gauge's filled part and track.
    pub fn gauge(&self) -> Style {
        Style::default()
            .fg(self.colors.gauge)
            .bg(self.colors.gauge_track)
    }

    /// The filled part of a text bar.
    pub fn bar(&self) -> Style {
        Style::default().fg(self.colors.gauge)
    }

    /// The empty part of a text bar.
    pub fn bar_track(&self) -> Style {
        Style::default().fg(self.colors.gauge_track)
    }

    /// The status line.
    pub fn status(&self) -> Style {
        Style::default()
            .fg(self.colors.status_fg)
            .bg(self.colors.status_bg)
    }

    /// A search match in the stream.
    pub fn search_match(&self) -> Style {
        let style = Style::default()
            .fg(self.colors.match_fg)
            .bg(self.colors.match_bg);
        if self.plain {
            style.add_modifier(Modifier::REVERSED)
        } else {
            style
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn theme_names_that_are_paths_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("config");
        std::fs::create_dir_all(config.join("themes")).unwrap();
        // A valid theme file outside the themes folder, reachable with `../`.
        std::fs::write(
            dir.path().join("outside.toml"),
            "[colors]\naccent = \"red\"\n",
        )
        .unwrap();
        std::fs::write(config.join("outside.toml"), "[colors]\naccent = \"red\"\n").unwrap();
        for name in [
            "../outside",
            "../../outside",
            "/etc/passwd",
            "a/b",
            "..",
            "",
            "x.toml",
        ] {
            let (theme, err) = Theme::load(name, Some(&config), ColorSupport::TrueColor);
            assert!(
                matches!(err, Some(ThemeError::BadName { .. })),
                "{name:?}: {err:?}"
            );
            assert_eq!(theme.name, "dark", "{name:?}: the default theme is used");
        }
        std::fs::write(
            config.join("themes/mine.toml"),
            "[colors]\naccent = \"red\"\n",
        )
        .unwrap();
        let (theme, err) = Theme::load("mine", Some(&config), ColorSupport::TrueColor);
        assert!(err.is_none(), "{err:?}");
        assert_eq!(theme.name, "mine");
    }

    #[test]
    fn every_builtin_parses() {
        for (name, text) in BUILTIN {
            let mut p = blank();
            apply(&mut p, text, name).unwrap_or_else(|e| panic!("{name}: {e}"));
            let (t, err) = Theme::load(name, None, ColorSupport::TrueColor);
            assert!(err.is_none(), "{name}");
            assert_eq!(t.name, *name);
        }
    }

    #[test]
    fn bad_colour_names_file_key_and_value_and_falls_back() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("themes")).unwrap();
        std::fs::write(
            dir.path().join("themes/mine.toml"),
            "[colors]\ndone = \"greenish\"\n",
        )
        .unwrap();
        let (theme, err) = Theme::load("mine", Some(dir.path()), ColorSupport::TrueColor);
        let text = err.unwrap().to_string();
        assert!(
            text.contains("mine.toml") && text.contains("done") && text.contains("greenish"),
            "{text}"
        );
        assert_eq!(theme, Theme::default());
    }

    #[test]
    fn user_theme_patches_and_unknown_name_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("themes")).unwrap();
        std::fs::write(
            dir.path().join("themes/mine.toml"),
            "[colors]\ndone = \"#00ff00\"\n",
        )
        .unwrap();
        let (theme, err) = Theme::load("mine", Some(dir.path()), ColorSupport::TrueColor);
        assert!(err.is_none());
        assert_eq!(theme.colors.done, Color::Rgb(0, 255, 0));
        assert_eq!(theme.colors.failed, Theme::default().colors.failed);
        let (_, err) = Theme::load("nope", Some(dir.path()), ColorSupport::TrueColor);
        assert!(matches!(err, Some(ThemeError::Unknown { .. })));
    }

    #[test]
    fn no_color_and_ansi16() {
        let t = Theme::default().for_terminal(ColorSupport::None);
        assert_eq!(t.section_state(SectionState::Done).fg, Some(Color::Reset));
        assert!(t.selected().add_modifier.contains(Modifier::REVERSED));
        let (t, _) = Theme::load("light", None, ColorSupport::Ansi16);
        assert!(!matches!(t.colors.done, Color::Rgb(..)));
        assert_eq!(Theme::next_name("dark"), "light");
        assert_eq!(Theme::next_name("high-contrast"), "dark");
        assert_eq!(Theme::next_name("custom"), "dark");
    }
}
