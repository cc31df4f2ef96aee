//! Profiles through the real binary: a fallback chain whose first server is down writes on the
//! next one and records it; `backends` checks every profile; bad profile settings are refused
//! with the file and the key. Real loopback servers (the scripted one) and a closed port.

use crate::support::prose::{agentwrite_plan, prose, tag};
use crate::support::scripted::{Reply, ScriptedServer};
use crate::support::{run_cli, run_cli_env, strings};
use serde_json::Value;

/// A loopback URL where nothing listens.
fn closed_port_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}/v1")
}

fn config(dir: &std::path::Path, live: &str) {
    let text = format!(
        "profile = \"dead\"\nfallback = [\"live\"]\n\n\
         [profiles.dead]\nkind = \"openai\"\nurl = \"{}\"\nconnect_timeout_secs = 2\n\
         temperature = 0.25\n\n\
         [profiles.live]\nkind = \"openai\"\nurl = \"{live}\"\ntemperature = 0.5\n\
         extra = {{ min_tokens = 5 }}\n",
        closed_port_url()
    );
    std::fs::write(dir.join("config.toml"), text).unwrap();
}

fn events(stdout: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

#[tokio::test]
async fn the_next_profile_writes_when_the_first_is_down_and_the_project_says_so() {
    let text = prose(&tag("Sec", 0), 40);
    let server = ScriptedServer::start(vec![
        Reply::text(agentwrite_plan(1, 40)),
        Reply::text(text.clone()),
    ])
    .await;
    let dir = tempfile::tempdir().unwrap();
    config(dir.path(), &server.url);
    let out = dir.path().join("doc.md");
    let args = ["write", "A note", "--words", "40", "--json", "-o"];
    let mut args = strings(&args);
    args.push(out.to_str().unwrap().to_string());
    let output = run_cli(args, dir.path()).await;
    crate::support::assert_success(&output);
    assert!(std::fs::read_to_string(&out).unwrap().contains(&text));
    let events = events(&output.stdout);
    let by = events
        .iter()
        .find(|e| e["event"] == "written_by")
        .expect("a written_by event");
    let names = by["backends"][0].as_str().unwrap();
    assert!(names.starts_with("profile live: openai"), "{names}");
    // The live profile's extra fields reach its server; the sampling defaults are the chosen
    // profile's, for the whole job.
    let request = &server.requests()[1];
    assert_eq!(request["min_tokens"], 5);
    assert_eq!(request["temperature"].as_f64(), Some(0.25), "{request}");
    // The project records the profile and who wrote the section.
    let projects = dir.path().join("data");
    let manifest = std::fs::read_dir(&projects)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path().join("project.toml"))
        .find(|p| p.exists())
        .expect("a project");
    let manifest = std::fs::read_to_string(manifest).unwrap();
    assert!(manifest.contains("profile = \"dead\""), "{manifest}");
    assert!(manifest.contains("profile live: openai"), "{manifest}");
}

#[tokio::test]
async fn backends_checks_every_profile() {
    let server = ScriptedServer::start(vec![Reply::text("OK")]).await;
    let dir = tempfile::tempdir().unwrap();
    config(dir.path(), &server.url);
    let output = run_cli(strings(&["backends", "--json"]), dir.path()).await;
    assert_eq!(output.status.code(), Some(1), "one profile is down");
    let checks: Vec<Value> = serde_json::from_slice(&output.stdout).unwrap();
    let dead = checks.iter().find(|c| c["profile"] == "dead").unwrap();
    let live = checks.iter().find(|c| c["profile"] == "live").unwrap();
    assert_eq!(dead["reachable"], false);
    assert!(
        dead["error"].as_str().unwrap().contains("cannot reach"),
        "{dead}"
    );
    assert_eq!(live["reachable"], true);
    assert_eq!(live["models"], serde_json::json!(["scripted"]));
    assert!(live["first_token_ms"].is_u64(), "{live}");
    let output = run_cli(strings(&["backends"]), dir.path()).await;
    let table = String::from_utf8_lossy(&output.stdout);
    assert!(table.starts_with("PROFILE"), "{table}");
    assert!(table.contains("unreachable"), "{table}");
}

#[tokio::test]
async fn bad_profiles_are_refused_with_file_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("config.toml");
    std::fs::write(
        &file,
        "[profiles.a]\nkind = \"openai\"\nurl = \"http://127.0.0.1:9/v1\"\n",
    )
    .unwrap();
    let output = run_cli_env(
        strings(&["plan", "A note", "--words", "100"]),
        dir.path(),
        &[("LONGWRITER_PROFILE", "nope")],
    )
    .await;
    assert_eq!(output.status.code(), Some(2));
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(
        err.contains(file.to_str().unwrap())
            && err.contains("\"nope\"")
            && err.contains("defined: a"),
        "{err}"
    );
    std::fs::write(
        &file,
        "fallback = [\"a\", \"b\"]\n[profiles.a]\nkind = \"local\"\n",
    )
    .unwrap();
    let output = run_cli(strings(&["plan", "A note"]), dir.path()).await;
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(
        err.contains(file.to_str().unwrap()) && err.contains("fallback[1]"),
        "{err}"
    );
}
