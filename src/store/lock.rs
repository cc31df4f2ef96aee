//! One writer per project: an advisory lock file holding the writer's pid and host.
//!
//! The writer holds `flock(LOCK_EX)` on the `lock` file for as long as it runs, so the kernel
//! releases it when the process dies however it dies. A file that still names a pid while
//! nobody holds the flock was left by a dead writer and is taken over. Readers (`list`,
//! `attach`, `stop`) never flock; they read the pid and host and check the pid is alive.

use super::StoreError;
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

/// Who holds (or held) a project's lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    /// Process id.
    pub pid: u32,
    /// Host name.
    pub host: String,
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "pid {} on {}", self.pid, self.host)
    }
}

impl Holder {
    fn parse(text: &str) -> Option<Self> {
        let mut pid = None;
        let mut host = None;
        for line in text.lines() {
            if let Some(v) = line.strip_prefix("pid=") {
                pid = v.trim().parse().ok();
            } else if let Some(v) = line.strip_prefix("host=") {
                host = Some(v.trim().to_string());
            }
        }
        Some(Self {
            pid: pid?,
            host: host?,
        })
    }

    /// Whether the holder is alive, as far as this machine can tell (a holder on another host
    /// counts as alive).
    pub fn is_alive(&self) -> bool {
        if self.host != hostname() {
            return true;
        }
        pid_alive(self.pid)
    }
}

/// Whether a process with this pid exists (`kill(pid, 0)`).
pub fn pid_alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: signal 0 only checks for existence and permission; it sends nothing.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// This machine's host name.
pub fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname NUL-terminates within it or
    // truncates, and we read only up to the first NUL.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return "localhost".into();
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

/// The holder named in a project's lock file, if it is alive.
pub fn live_holder(dir: &Path) -> Option<Holder> {
    let text = std::fs::read_to_string(dir.join(LOCK_FILE)).ok()?;
    Holder::parse(&text).filter(Holder::is_alive)
}

/// Name of the lock file in a project folder.
pub const LOCK_FILE: &str = "lock";

/// A held project lock; released (emptied and unlocked) on drop.
#[derive(Debug)]
pub struct ProjectLock {
    file: std::fs::File,
    path: PathBuf,
    /// A dead writer whose lock was taken over, to tell the user.
    pub took_over: Option<Holder>,
}

impl ProjectLock {
    /// Takes the lock of the project in `dir`, or says who holds it.
    pub fn acquire(dir: &Path, project: &str) -> Result<Self, StoreError> {
        let path = dir.join(LOCK_FILE);
        let io = |e| StoreError::io(&path, e);
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        // SAFETY: flock on a valid open descriptor; non-blocking.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        let mut text = String::new();
        let _ = file.read_to_string(&mut text);
        if rc != 0 {
            let holder = Holder::parse(&text);
            return Err(StoreError::Locked {
                project: project.to_string(),
                holder: holder.map_or_else(|| "another process".into(), |h| h.to_string()),
            });
        }
        let took_over = Holder::parse(&text).filter(|h| h.pid != std::process::id());
        let me = format!("pid={}\nhost={}\n", std::process::id(), hostname());
        file.set_len(0)
            .and_then(|_| file.seek(SeekFrom::Start(0)))
            .and_then(|_| file.write_all(me.as_bytes()))
            .and_then(|_| file.sync_all())
            .map_err(io)?;
        Ok(Self {
            file,
            path,
            took_over,
        })
    }
}

impl Drop for ProjectLock {
    fn drop(&mut self) {
        // Emptied, never removed: removing would let a second writer lock a fresh inode while
        // a third still holds the old one.
        let _ = self.file.set_len(0);
        let _ = self.file.sync_all();
        let _ = &self.path;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_writer_is_refused_and_names_the_holder() {
        let dir = tempfile::tempdir().unwrap();
        let first = ProjectLock::acquire(dir.path(), "p1").unwrap();
        assert!(first.took_over.is_none());
        let err = ProjectLock::acquire(dir.path(), "p1").unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains(&format!("pid {}", std::process::id())),
            "{msg}"
        );
        assert_eq!(live_holder(dir.path()).unwrap().pid, std::process::id());
        drop(first);
        assert!(live_holder(dir.path()).is_none());
        assert!(ProjectLock::acquire(dir.path(), "p1").is_ok());
    }

    #[test]
    fn a_dead_writers_lock_is_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        std::fs::write(
            dir.path().join(LOCK_FILE),
            format!("pid={dead}\nhost={}\n", hostname()),
        )
        .unwrap();
        assert!(live_holder(dir.path()).is_none());
        let lock = ProjectLock::acquire(dir.path(), "p").unwrap();
        assert_eq!(lock.took_over.as_ref().map(|h| h.pid), Some(dead));
    }
}
