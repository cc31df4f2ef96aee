//! Bad conditions: a second writer, a dead writer's lock, SIGHUP in a real terminal, a full
//! disk, a damaged or newer manifest, a project folder moved elsewhere.

use super::common::{cli, data, journal_text, project_dir, section_file, spawn, wait_for};
use crate::support::prose::{agentwrite_plan, prose};
use crate::support::scripted::{Reply, ScriptedServer};
use std::io::BufRead;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn slow(text: &str, delay_ms: u64) -> Reply {
    Reply::Slow {
        text: text.to_string(),
        finish: "stop",
        delay_ms,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_writer_is_refused_and_a_dead_writers_lock_is_taken_over() {
    let text = prose("Lock", 200);
    let server =
        ScriptedServer::start(vec![Reply::text(agentwrite_plan(1, 200)), slow(&text, 20)]).await;
    let dir = tempfile::tempdir().unwrap();
    let mut child = spawn(
        dir.path(),
        &[
            "write",
            "A story",
            "--words",
            "200",
            "--base-url",
            &server.url,
        ],
    );
    let pid = child.id();
    assert!(wait_for(Duration::from_secs(10), || project_dir(
        dir.path()
    )
    .is_some_and(|p| !journal_text(&p, 0).is_empty())));
    let project = project_dir(dir.path()).unwrap();
    let id = project.file_name().unwrap().to_string_lossy().into_owned();
    let out = cli(dir.path(), &["resume", &id, "--base-url", &server.url])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("being written by pid {pid}")),
        "{stderr}"
    );
    let _ = child.kill();
    let _ = child.wait();
    let list = cli(dir.path(), &["list"]).output().unwrap();
    assert!(String::from_utf8_lossy(&list.stdout).contains("interrupted"));
    let journaled = longwriter::text::count_words(&journal_text(&project, 0));
    let more = prose("More", 200 - journaled.min(150));
    let resume_server = ScriptedServer::start(vec![Reply::text(more)]).await;
    let out = cli(
        dir.path(),
        &["resume", &id, "--base-url", &resume_server.url],
    )
    .output()
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains(&format!("took over the lock left by pid {pid}")),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_in_a_real_terminal_flushes_the_journal_and_exits_at_once() {
    if std::process::Command::new("tmux")
        .arg("-V")
        .output()
        .is_err()
    {
        eprintln!("SKIP: tmux is not installed (scripts/setup-test-model.sh installs it)");
        return;
    }
    let text = prose("Hangup", 400);
    let server =
        ScriptedServer::start(vec![Reply::text(agentwrite_plan(1, 400)), slow(&text, 15)]).await;
    let dir = tempfile::tempdir().unwrap();
    let socket = format!("lw-test-{}", std::process::id());
    let pidfile = dir.path().join("pid");
    let command = format!(
        "echo $$ > {pid}; exec env LONGWRITER_CONFIG_DIR={d} LONGWRITER_DATA={data} {bin} write 'A story' --words 400 --base-url {url}",
        pid = pidfile.display(),
        d = dir.path().display(),
        data = data(dir.path()).display(),
        bin = crate::support::binary().display(),
        url = server.url
    );
    let ok = std::process::Command::new("tmux")
        .args([
            "-L",
            &socket,
            "new-session",
            "-d",
            "-s",
            "job",
            "-x",
            "120",
            "-y",
            "40",
            &command,
        ])
        .status()
        .unwrap();
    assert!(ok.success());
    assert!(wait_for(Duration::from_secs(10), || project_dir(
        dir.path()
    )
    .is_some_and(|p| journal_text(&p, 0).len() > 100)));
    let pid: u32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let before = cpu_ticks(pid);
    let hung_up = Instant::now();
    let _ = std::process::Command::new("tmux")
        .args(["-L", &socket, "kill-server"])
        .status();
    let gone = wait_for(Duration::from_secs(2), || {
        !std::path::Path::new(&format!("/proc/{pid}")).exists() || cpu_ticks(pid).is_none()
    });
    let took = hung_up.elapsed();
    assert!(
        gone,
        "still running 2 s after SIGHUP (cpu ticks before {before:?})"
    );
    eprintln!("SIGHUP: exited {took:?} after the terminal closed");
    let project = project_dir(dir.path()).unwrap();
    let journaled = journal_text(&project, 0);
    let sent = super::common::sent_texts(&server.sent())[0].clone();
    assert!(!journaled.is_empty() && sent.starts_with(&journaled));
    let manifest = std::fs::read_to_string(project.join("project.toml")).unwrap();
    assert!(manifest.contains("state = \"stopped\""), "{manifest}");
}

/// utime + stime of a live process, from /proc.
fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    if fields.first() == Some(&"Z") {
        return None;
    }
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_pauses_generation_until_space_returns() {
    let dir = tempfile::tempdir().unwrap();
    let mount = dir.path().join("data");
    std::fs::create_dir_all(&mount).unwrap();
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=64k", "tmpfs"])
        .arg(&mount)
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        eprintln!("SKIP: cannot mount a small tmpfs here (needs root)");
        return;
    }
    let _unmount = Unmount(mount.clone());
    let text = prose("Full", 1000);
    let server =
        ScriptedServer::start(vec![Reply::text(agentwrite_plan(1, 1000)), slow(&text, 2)]).await;
    let mut child = KillOnDrop(spawn(
        dir.path(),
        &[
            "write",
            "A story",
            "--words",
            "1000",
            "--base-url",
            &server.url,
        ],
    ));
    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let stderr = child.0.stderr.take().unwrap();
    let sink = lines.clone();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            sink.lock().unwrap().push(line);
        }
    });
    assert!(wait_for(Duration::from_secs(10), || project_dir(
        dir.path()
    )
    .is_some_and(|p| !journal_text(&p, 0).is_empty())));
    let filler = mount.join("filler");
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&filler).unwrap();
        while f.write_all(&[b'x'; 1024]).is_ok() {}
        let _ = f.sync_all();
    }
    let said = |needle: &str| lines.lock().unwrap().iter().any(|l| l.contains(needle));
    assert!(
        wait_for(Duration::from_secs(10), || said("generation is paused")),
        "{:?}",
        lines.lock().unwrap()
    );
    // tmpfs allocates whole pages, so the journal may still fill its last page before every
    // write fails; then generation must stand still.
    let paused = wait_for(Duration::from_secs(15), || {
        let before = server.sent().len();
        std::thread::sleep(Duration::from_millis(500));
        server.sent().len() <= before + 1
    });
    assert!(
        paused,
        "generation never paused: {:?}",
        lines.lock().unwrap()
    );
    assert!(
        child.0.try_wait().unwrap().is_none(),
        "the writer keeps waiting"
    );
    std::fs::remove_file(&filler).unwrap();
    let status = child.0.wait().unwrap();
    assert!(said("writable again"), "{:?}", lines.lock().unwrap());
    assert_eq!(status.code(), Some(0), "{:?}", lines.lock().unwrap());
    let project = project_dir(dir.path()).unwrap();
    assert_eq!(section_file(&project, 0).unwrap(), text);
}

/// Kills the child if the test fails before it ends, so the tmpfs can be unmounted.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

struct Unmount(std::path::PathBuf);

impl Drop for Unmount {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn damaged_newer_and_moved_projects() {
    let server = ScriptedServer::start(vec![
        Reply::text(agentwrite_plan(1, 60)),
        Reply::text(prose("Kept", 60)),
    ])
    .await;
    let dir = tempfile::tempdir().unwrap();
    let out = cli(
        dir.path(),
        &[
            "write",
            "A tale",
            "--words",
            "60",
            "--base-url",
            &server.url,
            "-o",
        ],
    )
    .arg(dir.path().join("out.md"))
    .output()
    .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let project = project_dir(dir.path()).unwrap();
    let id = project.file_name().unwrap().to_string_lossy().into_owned();
    // Moved to another "machine": a different data folder and path.
    let other = tempfile::tempdir().unwrap();
    let moved = data(other.path()).join(&id);
    std::fs::create_dir_all(data(other.path())).unwrap();
    std::fs::rename(&project, &moved).unwrap();
    let show = cli(other.path(), &["show", "A tale"]).output().unwrap();
    assert_eq!(
        show.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&show.stderr)
    );
    assert!(String::from_utf8_lossy(&show.stdout).contains("done"));
    let manifest_path = moved.join("project.toml");
    let manifest = std::fs::read_to_string(&manifest_path).unwrap();
    std::fs::write(
        &manifest_path,
        manifest.replace(
            &format!("format_version = {}", longwriter::store::FORMAT_VERSION),
            "format_version = 7",
        ),
    )
    .unwrap();
    let show = cli(other.path(), &["show", &id]).output().unwrap();
    let stderr = String::from_utf8_lossy(&show.stderr);
    assert_eq!(show.status.code(), Some(2));
    assert!(
        stderr.contains("format version 7") && stderr.contains("project.toml"),
        "{stderr}"
    );
    std::fs::write(&manifest_path, "format_version = 1\ntitle = [broken").unwrap();
    let show = cli(other.path(), &["export", &id, "-o", "x.md"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&show.stderr);
    assert!(
        stderr.contains("damaged") && stderr.contains("project.toml"),
        "{stderr}"
    );
    assert_eq!(
        section_file(&moved, 0).unwrap(),
        prose("Kept", 60),
        "sections stay readable"
    );
    let rm = cli(other.path(), &["rm", &id]).output().unwrap();
    assert_eq!(rm.status.code(), Some(2), "no terminal, no --yes: refused");
    let rm = cli(other.path(), &["rm", &id, "--yes"]).output().unwrap();
    assert_eq!(rm.status.code(), Some(0));
    assert!(!moved.exists());
}
