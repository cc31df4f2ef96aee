//! `longwriter completions` and `longwriter man` through the real binary: the wiring of the
//! generated scripts and pages (their content is unit-tested in `src/cli/completions.rs`).

use crate::support::{run_cli, strings};

#[tokio::test]
async fn completions_print_a_script_for_every_shell() {
    let dir = tempfile::tempdir().unwrap();
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let output = run_cli(strings(&["completions", shell]), dir.path()).await;
        assert_eq!(output.status.code(), Some(0), "{shell}");
        let script = String::from_utf8_lossy(&output.stdout);
        assert!(
            script.contains("longwriter") && script.contains("resume"),
            "{shell}: {script}"
        );
    }
}

#[tokio::test]
async fn an_unknown_shell_is_a_usage_error_naming_the_choices() {
    let dir = tempfile::tempdir().unwrap();
    let output = run_cli(strings(&["completions", "tcsh"]), dir.path()).await;
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("tcsh") && stderr.contains("bash"),
        "{stderr}"
    );
    assert!(output.stdout.is_empty());
}

#[tokio::test]
async fn man_prints_the_page_and_writes_every_page_with_dir() {
    let dir = tempfile::tempdir().unwrap();
    let output = run_cli(strings(&["man"]), dir.path()).await;
    assert_eq!(output.status.code(), Some(0));
    let page = String::from_utf8_lossy(&output.stdout);
    assert!(page.contains(".TH longwriter 1"), "{page}");

    let pages = dir.path().join("man1");
    let dir_arg = pages.to_string_lossy().into_owned();
    let output = run_cli(strings(&["man", "--dir", &dir_arg]), dir.path()).await;
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    for name in ["longwriter.1", "longwriter-write.1", "longwriter-serve.1"] {
        assert!(pages.join(name).is_file(), "no {name}");
    }
}

#[tokio::test]
async fn man_dir_that_cannot_be_created_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, "not a folder").unwrap();
    let target = file.join("man1").to_string_lossy().into_owned();
    let output = run_cli(strings(&["man", "--dir", &target]), dir.path()).await;
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("--dir") && stderr.contains("man1"),
        "{stderr}"
    );
}
