//! Bad input to the CLI: each gets a clear message and exit code 2, and nothing is generated.

use crate::support::scripted::{Options, Reply, ScriptedServer};
use crate::support::{run_cli, strings};

fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[tokio::test]
async fn empty_instruction() {
    let dir = tempfile::tempdir().unwrap();
    let output = run_cli(
        strings(&["write", "  ", "--base-url", "http://127.0.0.1:9/v1"]),
        dir.path(),
    )
    .await;
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("instruction is empty"),
        "{}",
        stderr(&output)
    );
}

#[tokio::test]
async fn zero_and_absurd_word_counts() {
    let dir = tempfile::tempdir().unwrap();
    for words in ["0", "5000000"] {
        let output = run_cli(strings(&["write", "Essay", "--words", words]), dir.path()).await;
        assert_eq!(output.status.code(), Some(2), "--words {words}");
        assert!(
            stderr(&output).contains("out of range"),
            "{}",
            stderr(&output)
        );
    }
    let output = run_cli(strings(&["write", "Essay", "--words", "-3"]), dir.path()).await;
    assert_eq!(output.status.code(), Some(2));
}

#[tokio::test]
async fn unreachable_server_names_the_url_and_the_flag() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("config.toml"),
        "[generation]\nretry_base_ms = 10\n",
    )
    .unwrap();
    let url = format!("http://127.0.0.1:{port}/v1");
    let output = run_cli(strings(&["write", "Essay", "--base-url", &url]), dir.path()).await;
    assert_eq!(output.status.code(), Some(2));
    let err = stderr(&output);
    assert!(err.contains(&url) && err.contains("--base-url"), "{err}");
}

#[tokio::test]
async fn unknown_model_lists_the_servers_models() {
    let options = Options {
        models: Some(vec!["gemma-3".into(), "qwen".into()]),
        ..Default::default()
    };
    let server = ScriptedServer::start_with(vec![], options).await;
    let dir = tempfile::tempdir().unwrap();
    let output = run_cli(
        strings(&[
            "write",
            "Essay",
            "--base-url",
            &server.url,
            "--model",
            "llama",
        ]),
        dir.path(),
    )
    .await;
    assert_eq!(output.status.code(), Some(2));
    let err = stderr(&output);
    assert!(
        err.contains("\"llama\"") && err.contains("gemma-3, qwen"),
        "{err}"
    );
}

#[tokio::test]
async fn a_server_answering_html() {
    let server = ScriptedServer::start_with(
        vec![],
        Options {
            html: true,
            ..Default::default()
        },
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let output = run_cli(
        strings(&["write", "Essay", "--base-url", &server.url]),
        dir.path(),
    )
    .await;
    assert_eq!(output.status.code(), Some(2));
    let err = stderr(&output);
    assert!(
        err.contains("did not answer with JSON") && err.contains("<!DOCTYPE html>"),
        "{err}"
    );
}

#[tokio::test]
async fn an_unwritable_output_is_refused_before_generation() {
    let server = ScriptedServer::start(vec![Reply::text("never used")]).await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("no/such/folder/out.md");
    let output = run_cli(
        strings(&[
            "write",
            "Essay",
            "--base-url",
            &server.url,
            "-o",
            out.to_str().unwrap(),
        ]),
        dir.path(),
    )
    .await;
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("cannot write the output file"),
        "{}",
        stderr(&output)
    );
    assert!(server.requests().is_empty(), "nothing was generated");
}

#[tokio::test]
async fn a_missing_api_key_variable_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let output = run_cli(
        strings(&[
            "write",
            "Essay",
            "--base-url",
            "http://127.0.0.1:9/v1",
            "--api-key-env",
            "LW_TEST_NO_SUCH_KEY",
        ]),
        dir.path(),
    )
    .await;
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("LW_TEST_NO_SUCH_KEY"),
        "{}",
        stderr(&output)
    );
}

#[tokio::test]
async fn a_bad_config_file_names_the_key() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("config.toml"),
        "[backend]\nbase_uri = \"x\"\n",
    )
    .unwrap();
    let output = run_cli(strings(&["write", "Essay"]), dir.path()).await;
    assert_eq!(output.status.code(), Some(2));
    let err = stderr(&output);
    assert!(
        err.contains("config.toml") && err.contains("base_uri"),
        "{err}"
    );
}

#[tokio::test]
async fn no_server_and_no_model_says_how_to_get_one_and_how_to_use_a_server() {
    let dir = tempfile::tempdir().unwrap();
    let output = run_cli(strings(&["write", "Essay"]), dir.path()).await;
    assert_eq!(output.status.code(), Some(2));
    let err = stderr(&output);
    for hint in ["--base-url", "LONGWRITER_BASE_URL", "[backend] base_url"] {
        assert!(err.contains(hint), "{hint}: {err}");
    }
    if cfg!(feature = "candle") {
        // The engine runs by default and says where it looked and how to fill that place.
        let models = dir.path().join("data").join("models");
        for hint in [
            "no server is configured",
            "scripts/fetch-model.sh",
            "LONGWRITER_MODEL",
            models.to_str().unwrap(),
        ] {
            assert!(err.contains(hint), "{hint}: {err}");
        }
    } else {
        assert!(err.contains("built without the built-in engine"), "{err}");
    }
}

#[tokio::test]
async fn a_server_model_name_without_a_server_is_explained() {
    if !cfg!(feature = "candle") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let output = run_cli(
        strings(&["plan", "Essay", "--model", "THUDM/LongWriter-glm4-9b"]),
        dir.path(),
    )
    .await;
    assert_eq!(output.status.code(), Some(2));
    let err = stderr(&output);
    assert!(
        err.contains("\"THUDM/LongWriter-glm4-9b\" is not a GGUF file")
            && err.contains("--base-url"),
        "{err}"
    );
}

#[tokio::test]
async fn a_server_in_the_config_or_the_environment_is_used_without_flags() {
    let plan = crate::support::prose::agentwrite_plan(2, 100);
    let server = ScriptedServer::start(vec![Reply::text(plan.clone())]).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("config.toml"),
        format!("[backend]\nbase_url = \"{}\"\n", server.url),
    )
    .unwrap();
    let output = run_cli(strings(&["plan", "A 200-word essay"]), dir.path()).await;
    crate::support::assert_success(&output);
    assert_eq!(server.requests().len(), 1);

    let server = ScriptedServer::start(vec![Reply::text(plan)]).await;
    let dir = tempfile::tempdir().unwrap();
    let output = crate::support::run_cli_env(
        strings(&["plan", "A 200-word essay"]),
        dir.path(),
        &[("LONGWRITER_BASE_URL", &server.url)],
    )
    .await;
    crate::support::assert_success(&output);
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn a_device_that_is_not_one_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "write", "Essay", "--local", "--model", "m.gguf", "--device", "gpu",
    ];
    let output = run_cli(strings(&args), dir.path()).await;
    assert_eq!(output.status.code(), Some(2));
    let err = stderr(&output);
    assert!(
        err.contains("\"gpu\" is not a device") && err.contains("cuda:N"),
        "{err}"
    );
}

/// The tests run a CPU-only build: `--device cuda` names the feature to build with, whether the
/// engine starts in this process (`write`, `serve`) or is only checked for a background worker
/// (`write --detach`); a build without the engine at all says so instead.
#[cfg(not(feature = "cuda"))]
#[tokio::test]
async fn a_gpu_device_in_a_build_without_it_names_the_feature() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.gguf");
    std::fs::write(&model, b"not read").unwrap();
    let model = model.to_str().unwrap();
    let commands: [&[&str]; 3] = [
        &[
            "write", "Essay", "--local", "--model", model, "--device", "cuda",
        ],
        &[
            "write", "Essay", "--detach", "--local", "--model", model, "--device", "cuda",
        ],
        &[
            "serve", "--model", model, "--device", "cuda:1", "--port", "0",
        ],
    ];
    for args in commands {
        let output = run_cli(strings(args), dir.path()).await;
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let err = stderr(&output);
        let want = if cfg!(feature = "candle") {
            "--features cuda"
        } else {
            "built without the built-in engine"
        };
        assert!(
            err.contains(want) && !err.contains("panicked"),
            "{args:?}: {err}"
        );
    }
}
