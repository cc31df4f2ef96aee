//! The terminal's lifecycle: enter (raw mode, alternate screen), leave, suspend for `$EDITOR`,
//! and a panic hook that restores the terminal and writes a crash report without secrets.

use ratatui::crossterm::cursor::Hide;
use ratatui::crossterm::execute;
use ratatui::crossterm::terminal::{
    disable_raw_mode, enable_raw_mode, Clear, ClearType, EnterAlternateScreen, LeaveAlternateScreen,
};
use ratatui::DefaultTerminal;
use std::io::stdout;
use std::path::{Path, PathBuf};

/// Installs the crash reporter (restoring the terminal comes from ratatui's hook, installed
/// on top of this one by `enter`). `secrets` are scrubbed from the report.
pub fn install_crash_reporter(data_dir: Option<PathBuf>, secrets: Vec<String>) {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "(no message)".into());
        let location = info
            .location()
            .map_or("unknown".into(), |l| format!("{}:{}", l.file(), l.line()));
        let report = crash_report(&message, &location, &secrets);
        if let Some(dir) = &data_dir {
            match write_report(dir, &report) {
                Ok(path) => eprintln!("longwriter crashed; report written to {}", path.display()),
                Err(e) => eprintln!(
                    "longwriter crashed; cannot write a report in {}: {e}",
                    dir.display()
                ),
            }
        }
        previous(info);
    }));
}

/// The report's text: version, message and location, with every secret replaced.
pub fn crash_report(message: &str, location: &str, secrets: &[String]) -> String {
    let backtrace = std::backtrace::Backtrace::force_capture().to_string();
    let mut report = format!(
        "longwriter {} crashed\nmessage: {message}\nlocation: {location}\n\nbacktrace:\n{backtrace}\n",
        env!("CARGO_PKG_VERSION")
    );
    for secret in secrets.iter().filter(|s| s.len() >= 4) {
        report = report.replace(secret.as_str(), "[redacted]");
    }
    report
}

fn write_report(dir: &Path, report: &str) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let path = dir.join(format!("crash-{stamp}-{}.txt", std::process::id()));
    std::fs::write(&path, report)?;
    Ok(path)
}

/// Raw mode, alternate screen, and ratatui's restoring panic hook.
pub fn enter() -> std::io::Result<DefaultTerminal> {
    ratatui::try_init()
}

/// Leaves the alternate screen and raw mode.
pub fn leave() {
    ratatui::restore();
}

/// Gives the terminal to another program (the editor).
pub fn suspend() -> std::io::Result<()> {
    disable_raw_mode()?;
    execute!(stdout(), LeaveAlternateScreen)
}

/// Takes the terminal back after `suspend`. Clears the screen and starts a fresh
/// `Terminal` (empty buffers, so the next frame draws every cell) instead of calling
/// `Terminal::clear`, which asks the terminal for the cursor position: a query that times out
/// (and used to end the studio) when the terminal answers late or not at all after an editor.
pub fn resume(terminal: &mut DefaultTerminal) -> std::io::Result<()> {
    enable_raw_mode()?;
    execute!(stdout(), EnterAlternateScreen, Clear(ClearType::All), Hide)?;
    *terminal = ratatui::Terminal::new(ratatui::backend::CrosstermBackend::new(stdout()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn reports_never_contain_secrets() {
        let r = super::crash_report(
            "key sk-secret-123 leaked",
            "a.rs:1",
            &["sk-secret-123".into()],
        );
        assert!(!r.contains("sk-secret-123"));
        assert!(r.contains("[redacted]") && r.contains("a.rs:1"));
    }

    #[test]
    fn writes_a_report_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = super::write_report(dir.path(), "x").unwrap();
        assert_eq!(std::fs::read_to_string(path).unwrap(), "x");
    }
}
