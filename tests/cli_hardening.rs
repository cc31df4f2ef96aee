//! The CLI's hardening: secrets never reach an error message, a named config file must exist,
//! an unusable data folder exits 2, `serve` checks `--cors` before contacting anything,
//! `--theme` takes names only, and `-o` never turns a device or a FIFO into a regular file.

use crate::support::scripted::{Reply, ScriptedServer};
use crate::support::{run_cli, run_cli_env, strings};

const KEY: &str = "sk-proj-Zq8xVt3LmN5pR7sK2wY9";

fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[tokio::test]
async fn a_key_given_instead_of_a_variable_name_is_not_echoed() {
    let dir = tempfile::tempdir().unwrap();
    let server = ScriptedServer::start(vec![]).await;
    for args in [
        vec![
            "write",
            "Essay",
            "--base-url",
            &server.url,
            "--api-key-env",
            KEY,
        ],
        vec![
            "--api-key-env",
            KEY,
            "serve",
            "--port",
            "0",
            "--upstream",
            &server.url,
        ],
        vec![
            "serve",
            "--port",
            "0",
            "--upstream",
            &server.url,
            "--upstream-key-env",
            KEY,
        ],
    ] {
        let output = run_cli(strings(&args), dir.path()).await;
        let err = stderr(&output);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {err}");
        assert!(!err.contains("Zq8xVt3"), "{args:?} echoed the key: {err}");
        assert!(err.contains("NAME of an environment variable"), "{err}");
    }
    // A real variable name still works as before.
    let output = run_cli_env(
        strings(&[
            "write",
            "Essay",
            "--base-url",
            &server.url,
            "--api-key-env",
            "LW_UNSET_KEY",
        ]),
        dir.path(),
        &[],
    )
    .await;
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("LW_UNSET_KEY"),
        "{}",
        stderr(&output)
    );
}

#[tokio::test]
async fn a_key_in_the_config_file_is_redacted_from_the_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("config.toml"),
        format!("[backend]\nbase_url = \"http://127.0.0.1:9/v1\"\napi_key = \"{KEY}\"\n"),
    )
    .unwrap();
    let output = run_cli(strings(&["write", "Essay"]), dir.path()).await;
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{err}");
    assert!(
        err.contains("api_key") && err.contains("<redacted>"),
        "{err}"
    );
    assert!(!err.contains("Zq8xVt3"), "the key leaked: {err}");
}

#[tokio::test]
async fn a_missing_config_file_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.toml");
    let output = run_cli(
        strings(&[
            "write",
            "Essay",
            "--config",
            missing.to_str().unwrap(),
            "--base-url",
            "http://127.0.0.1:9/v1",
        ]),
        dir.path(),
    )
    .await;
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{err}");
    assert!(
        err.contains("nope.toml") && err.contains("--config"),
        "{err}"
    );
}

#[tokio::test]
async fn a_data_folder_that_is_a_file_exits_2() {
    let server = ScriptedServer::start(vec![Reply::text("never used")]).await;
    let dir = tempfile::tempdir().unwrap();
    // run_cli puts the data folder at <dir>/data: make that a file.
    std::fs::write(dir.path().join("data"), "not a folder").unwrap();
    let output = run_cli(
        strings(&["write", "Essay", "--base-url", &server.url]),
        dir.path(),
    )
    .await;
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{err}");
    assert!(
        err.contains("data folder") && err.contains("LONGWRITER_DATA"),
        "{err}"
    );
    assert_eq!(server.remaining(), 1, "nothing was generated");
}

#[tokio::test]
async fn a_read_only_data_folder_exits_2() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        // Root writes into read-only folders; the file case above covers the exit code.
        eprintln!("skipped: running as root, for whom no folder is read-only");
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let server = ScriptedServer::start(vec![Reply::text("never used")]).await;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o555)).unwrap();
    let output = run_cli(
        strings(&["write", "Essay", "--base-url", &server.url]),
        dir.path(),
    )
    .await;
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{err}");
    assert!(err.contains("data folder"), "{err}");
}

#[tokio::test]
async fn a_bad_cors_origin_is_found_before_contacting_the_upstream() {
    let dir = tempfile::tempdir().unwrap();
    // Nothing listens on port 9: an upstream contact would fail with "unreachable" instead.
    let output = run_cli(
        strings(&[
            "serve",
            "--port",
            "0",
            "--upstream",
            "http://127.0.0.1:9/v1",
            "--cors",
            "not an origin",
        ]),
        dir.path(),
    )
    .await;
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{err}");
    assert!(
        err.contains("--cors") && err.contains("not a valid origin"),
        "{err}"
    );
    assert!(!err.contains("listening"), "{err}");
}

#[tokio::test]
async fn a_theme_must_be_a_name_not_a_path() {
    let dir = tempfile::tempdir().unwrap();
    for theme in ["../../etc/passwd", "/tmp/evil", "sub/theme"] {
        let output = run_cli(strings(&["--theme", theme, "list"]), dir.path()).await;
        let err = stderr(&output);
        assert_eq!(output.status.code(), Some(2), "{theme}: {err}");
        assert!(err.contains("not a theme name"), "{err}");
    }
}

#[cfg(unix)]
#[tokio::test]
async fn write_to_a_fifo_goes_through_it() {
    use crate::support::prose::{agentwrite_plan, prose};
    let second = prose("Omega", 40);
    let server = ScriptedServer::start(vec![
        Reply::text(agentwrite_plan(2, 40)),
        Reply::text(prose("Alpha", 40)),
        Reply::text(second.clone()),
    ])
    .await;
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("out.pipe");
    let c_path = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path in a temp folder.
    assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);
    // The document is written through once, at the end (drafts go only to regular files).
    // The test holds a read-write end for the whole run (on Linux that open never waits), so
    // the reader sees everything written and its end only when the test lets go.
    let keep = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&fifo)
        .unwrap();
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read_to_string(&fifo).unwrap())
    };
    let output = run_cli(
        strings(&[
            "write",
            "A story",
            "--words",
            "80",
            "--base-url",
            &server.url,
            "-o",
            fifo.to_str().unwrap(),
        ]),
        dir.path(),
    )
    .await;
    drop(keep);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = reader.join().unwrap();
    assert_eq!(
        text.matches("## Part 1").count(),
        1,
        "one document, not one per section"
    );
    assert!(
        text.contains("## Part 1") && text.contains("Alpha"),
        "{text}"
    );
    assert!(text.contains(second.split('.').next().unwrap()), "{text}");
    use std::os::unix::fs::FileTypeExt;
    assert!(std::fs::symlink_metadata(&fifo)
        .unwrap()
        .file_type()
        .is_fifo());
}
