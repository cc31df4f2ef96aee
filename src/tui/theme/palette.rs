//! A theme's palette: one colour per meaning, the TOML `[colors]` patch that sets them, and
//! colour parsing (names, `#rrggbb`) with a mapping to the 16 ANSI colours.

use super::ThemeError;
use ratatui::style::Color;

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
            pub(super) fn slot(&mut self, key: &str) -> Option<&mut Color> {
                match key {
                    $(stringify!($field) => Some(&mut self.$field),)*
                    _ => None,
                }
            }

            pub(super) fn map(self, f: impl Fn(Color) -> Color) -> Self {
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

pub(super) fn blank() -> Palette {
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
pub(super) fn apply(palette: &mut Palette, text: &str, file: &str) -> Result<(), ThemeError> {
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
pub(super) fn to_ansi16(c: Color) -> Color {
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
