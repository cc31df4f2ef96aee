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

/// The built-in themes, by name; the first is the default.
pub const BUILTIN: &[(&str, &str)] = &[
    ("dark", include_str!("../../themes/dark.toml")),
    ("light", include_str!("../../themes/light.toml")),
    (
        "high-contrast",
        include_str!("../../themes/high-contrast.toml"),
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

macro_rules! palette {
    ($($field:ident),* $(,)?) => {
        /// The colours of a theme, one per meaning.
        #[derive(Debug, Clone, Copy, PartialEq)]
        pub struct Palette {
            $(
                #[allow(missing_docs)]
                pub $field: Color,
            )*
        }

        impl Palette {
            fn slot(&mut self, key: &str) -> Option<&mut Color> {
                match key {
                    $(stringify!($field) => Some(&mut self.$field),)*
                    _ => None,
                }
            }

            fn map(self, f: impl Fn(Color) -> Color) -> Self {
                Self { $($field: f(self.$field),)* }
            }
        }
    };
}

palette!(
    text,
    dim,
    accent,
    border,
    border_focused,
    selected_fg,
    selected_bg,
    planned,
    queued,
    writing,
    done,
    failed,
    stale,
    error,
    warning,
    gauge,
    gauge_track,
    status_fg,
    status_bg,
    match_fg,
    match_bg,
);

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

fn blank() -> Palette {
    Palette {
        text: Color::Reset,
        dim: Color::DarkGray,
        accent: Color::Cyan,
        border: Color::DarkGray,
        border_focused: Color::Cyan,
        selected_fg: Color::Black,
        selected_bg: Color::Cyan,
        planned: Color::Gray,
        queued: Color::Blue,
        writing: Color::Yellow,
        done: Color::Green,
        failed: Color::Red,
        stale: Color::Magenta,
        error: Color::LightRed,
        warning: Color::Yellow,
        gauge: Color::Green,
        gauge_track: Color::DarkGray,
        status_fg: Color::Black,
        status_bg: Color::Gray,
        match_fg: Color::Black,
        match_bg: Color::Yellow,
    }
}

/// Patches `palette` with the `[colors]` of `text`; `file` names it in errors.
fn apply(palette: &mut Palette, text: &str, file: &str) -> Result<(), ThemeError> {
    let parse_err = |reason: String| ThemeError::Parse {
        file: file.to_string(),
        reason,
    };
    let table: toml::Table = toml::from_str(text).map_err(|e| parse_err(e.to_string()))?;
    for (top, value) in &table {
        if top != "colors" {
            return Err(parse_err(format!("unknown table {top:?} (only [colors])")));
        }
        let colors = value
            .as_table()
            .ok_or_else(|| parse_err("colors must be a table".into()))?;
        for (key, value) in colors {
            let raw = value.as_str().unwrap_or_default().to_string();
            let bad = || ThemeError::BadColour {
                file: file.to_string(),
                key: key.clone(),
                value: value.to_string().trim_matches('"').to_string(),
            };
            let colour = parse_colour(&raw).ok_or_else(bad)?;
            let slot = palette
                .slot(key)
                .ok_or_else(|| parse_err(format!("unknown colour key {key:?}")))?;
            *slot = colour;
        }
    }
    Ok(())
}

/// Reads a colour name, `reset` or `#rrggbb`.
pub fn parse_colour(raw: &str) -> Option<Color> {
    let raw = raw.trim().to_ascii_lowercase();
    if let Some(hex) = raw.strip_prefix('#') {
        if hex.len() != 6 {
            return None;
        }
        let v = u32::from_str_radix(hex, 16).ok()?;
        return Some(Color::Rgb((v >> 16) as u8, (v >> 8) as u8, v as u8));
    }
    Some(match raw.replace(['-', '_', ' '], "").as_str() {
        "reset" | "default" => Color::Reset,
        "black" => Color::Black,
        "red" => Color::Red,
        "green" => Color::Green,
        "yellow" => Color::Yellow,
        "blue" => Color::Blue,
        "magenta" => Color::Magenta,
        "cyan" => Color::Cyan,
        "gray" | "grey" => Color::Gray,
        "darkgray" | "darkgrey" => Color::DarkGray,
        "lightred" => Color::LightRed,
        "lightgreen" => Color::LightGreen,
        "lightyellow" => Color::LightYellow,
        "lightblue" => Color::LightBlue,
        "lightmagenta" => Color::LightMagenta,
        "lightcyan" => Color::LightCyan,
        "white" => Color::White,
        _ => return None,
    })
}

/// The nearest ANSI colour to an RGB value, for terminals without truecolor.
fn to_ansi16(c: Color) -> Color {
    let Color::Rgb(r, g, b) = c else { return c };
    const TABLE: [(Color, (u8, u8, u8)); 16] = [
        (Color::Black, (0, 0, 0)),
        (Color::Red, (170, 0, 0)),
        (Color::Green, (0, 170, 0)),
        (Color::Yellow, (170, 85, 0)),
        (Color::Blue, (0, 0, 170)),
        (Color::Magenta, (170, 0, 170)),
        (Color::Cyan, (0, 170, 170)),
        (Color::Gray, (170, 170, 170)),
        (Color::DarkGray, (85, 85, 85)),
        (Color::LightRed, (255, 85, 85)),
        (Color::LightGreen, (85, 255, 85)),
        (Color::LightYellow, (255, 255, 85)),
        (Color::LightBlue, (85, 85, 255)),
        (Color::LightMagenta, (255, 85, 255)),
        (Color::LightCyan, (85, 255, 255)),
        (Color::White, (255, 255, 255)),
    ];
    let dist = |(r2, g2, b2): (u8, u8, u8)| {
        let d = |a: u8, b: u8| (i32::from(a) - i32::from(b)).pow(2);
        d(r, r2) + d(g, g2) + d(b, b2)
    };
    TABLE
        .iter()
        .min_by_key(|(_, rgb)| dist(*rgb))
        .map_or(c, |(c, _)| *c)
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

    /// A pane's title.
    pub fn title(&self, focused: bool) -> Style {
        let style = self.border(focused).add_modifier(Modifier::BOLD);
        if focused && self.plain {
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
