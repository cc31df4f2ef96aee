//! Writing an output file (`write -o`, `export -o`, the studio's export) without clobbering
//! what the path names.
//!
//! The policy (docs/security.md):
//! - a new path or a regular file is replaced atomically (temp file in the same folder, fsync,
//!   rename), keeping an existing file's permissions (and owner, where allowed);
//! - a symbolic link is followed: the file it points to is replaced and the link stays a link;
//!   a link to nothing is refused;
//! - anything else (a FIFO, a character or block device such as `/dev/null` or a terminal) is
//!   written through, opened as it is and never replaced (a FIFO must have its reader
//!   running; callers write such a path once, at the end);
//! - a directory is refused.

use std::io::Write;
use std::path::{Path, PathBuf};

/// What a path is, and so how it is written.
#[derive(Debug)]
enum Target {
    /// Nothing is there: a new file is renamed into place at `path`.
    New(PathBuf),
    /// A regular file (at the end of any links) replaced atomically, keeping its metadata.
    Replace(PathBuf, std::fs::Metadata),
    /// Not a regular file: opened and written in place.
    Through(PathBuf),
}

/// Decides how `path` is written, following symbolic links.
fn resolve(path: &Path) -> std::io::Result<Target> {
    let link = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(Target::New(path.to_path_buf()))
        }
        Err(e) => return Err(e),
    };
    let is_link = link.file_type().is_symlink();
    let meta = if is_link {
        std::fs::metadata(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => std::io::Error::other(format!(
                "it is a symbolic link to {}, which does not exist; point -o at a file, or \
                 create the link's target first",
                std::fs::read_link(path).unwrap_or_default().display()
            )),
            _ => e,
        })?
    } else {
        link
    };
    if meta.is_dir() {
        return Err(std::io::Error::other("it is a directory"));
    }
    if !meta.is_file() {
        return through(path);
    }
    // The file at the end of the links, so the temp file goes beside it, not beside a link.
    let real = if is_link {
        std::fs::canonicalize(path)?
    } else {
        path.to_path_buf()
    };
    Ok(Target::Replace(real, meta))
}

#[cfg(unix)]
fn through(path: &Path) -> std::io::Result<Target> {
    Ok(Target::Through(path.to_path_buf()))
}

#[cfg(not(unix))]
fn through(_path: &Path) -> std::io::Result<Target> {
    Err(std::io::Error::other(
        "it is not a regular file; write to a file instead",
    ))
}

/// Checks, before any generation, that `path` can be written as `write_atomic` will write it:
/// a new or regular file's folder takes a new file and an existing file is writable; anything
/// else is writable (checked without opening it, since opening a FIFO waits for a reader).
pub fn check_writable(path: &Path) -> std::io::Result<()> {
    match resolve(path)? {
        Target::New(path) => probe_folder(parent_dir(&path)),
        Target::Replace(path, _) => {
            probe_folder(parent_dir(&path))?;
            std::fs::OpenOptions::new()
                .append(true)
                .open(&path)
                .map(drop)
        }
        Target::Through(path) => can_write(&path),
    }
}

/// Whether `path` (after any links) is a file that `write_atomic` replaces (a new or regular
/// file) rather than a FIFO or device it writes through; callers save drafts only to the former.
pub fn is_replaced(path: &Path) -> bool {
    matches!(resolve(path), Ok(Target::New(_) | Target::Replace(..)))
}

/// Writes `contents` (text or a binary package) to `path` by the policy above.
pub fn write_atomic(path: &Path, contents: impl AsRef<[u8]>) -> std::io::Result<()> {
    let contents = contents.as_ref();
    match resolve(path)? {
        Target::New(path) => replace(&path, contents, None),
        Target::Replace(path, meta) => replace(&path, contents, Some(&meta)),
        Target::Through(path) => {
            let mut file = open_through(&path)?;
            file.write_all(contents)?;
            file.flush()
        }
    }
}

/// Opens a FIFO or device for writing without waiting: a FIFO nobody reads is an error now
/// (opening it would block until a reader comes, past Ctrl-C), not a hang. Writes then block
/// as usual while the reader reads.
#[cfg(unix)]
fn open_through(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    use std::os::unix::io::AsRawFd;
    let file = std::fs::OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            Some(libc::ENXIO) => std::io::Error::other(
                "it is a FIFO that nothing is reading; start its reader first                  (the text is kept in the project: `longwriter export` writes it again)",
            ),
            _ => e,
        })?;
    let fd = file.as_raw_fd();
    // SAFETY: `fd` is open for the duration of both calls; F_GETFL/F_SETFL take no pointers.
    let cleared = unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        flags >= 0 && libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK) == 0
    };
    if !cleared {
        return Err(std::io::Error::last_os_error());
    }
    Ok(file)
}

#[cfg(not(unix))]
fn open_through(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new().write(true).open(path)
}

/// Temp file beside `path`, the old file's permissions and owner, fsync, rename, fsync the
/// folder.
fn replace(path: &Path, contents: &[u8], old: Option<&std::fs::Metadata>) -> std::io::Result<()> {
    let dir = parent_dir(path);
    let (tmp_path, mut file) = tempfile_in(dir)?;
    let result = (|| {
        file.write_all(contents)?;
        if let Some(old) = old {
            file.set_permissions(old.permissions())?;
            keep_owner(&file, old);
        }
        file.sync_all()?;
        std::fs::rename(&tmp_path, path)?;
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp_path);
    }
    result
}

/// Gives the new file the old one's owner; only root may, and others own what they replace
/// anyway, so a refusal is ignored.
#[cfg(unix)]
fn keep_owner(file: &std::fs::File, old: &std::fs::Metadata) {
    use std::os::unix::fs::MetadataExt;
    let _ = std::os::unix::fs::fchown(file, Some(old.uid()), Some(old.gid()));
}

#[cfg(not(unix))]
fn keep_owner(_file: &std::fs::File, _old: &std::fs::Metadata) {}

#[cfg(unix)]
fn can_write(path: &Path) -> std::io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let c_path = std::ffi::CString::new(path.as_os_str().as_bytes())
        .map_err(|_| std::io::Error::other("the path contains a NUL byte"))?;
    // SAFETY: `c_path` is a valid NUL-terminated string that lives across the call.
    if unsafe { libc::access(c_path.as_ptr(), libc::W_OK) } == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

#[cfg(not(unix))]
fn can_write(_path: &Path) -> std::io::Result<()> {
    Ok(())
}

fn probe_folder(dir: &Path) -> std::io::Result<()> {
    let (probe, _) = tempfile_in(dir)?;
    std::fs::remove_file(probe)
}

fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Creates a new hidden temp file in `dir`; the caller removes or renames it.
fn tempfile_in(dir: &Path) -> std::io::Result<(PathBuf, std::fs::File)> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let path = dir.join(format!(".longwriter-{}-{n}.tmp", std::process::id()));
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)?;
    Ok((path, file))
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::{FileTypeExt, OpenOptionsExt, PermissionsExt};

    fn entries(dir: &Path) -> usize {
        std::fs::read_dir(dir).unwrap().count()
    }

    #[test]
    fn new_and_regular_files_are_replaced_keeping_the_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.md");
        check_writable(&path).unwrap();
        assert!(is_replaced(&path));
        write_atomic(&path, "one").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        check_writable(&path).unwrap();
        write_atomic(&path, "two").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "two");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the file's mode is kept");
        assert_eq!(entries(dir.path()), 1, "no temp files left behind");
    }

    #[test]
    fn a_fifo_is_written_through_and_stays_a_fifo() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pipe");
        let c_path = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path in a temp folder.
        assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);
        check_writable(&fifo).unwrap();
        assert!(!is_replaced(&fifo));
        // The reader end, opened first (without waiting for a writer).
        let mut reader = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(&fifo)
            .unwrap();
        write_atomic(&fifo, "through the pipe").unwrap();
        let mut text = String::new();
        std::io::Read::read_to_string(&mut reader, &mut text).unwrap();
        assert_eq!(text, "through the pipe");
        let kind = std::fs::symlink_metadata(&fifo).unwrap().file_type();
        assert!(
            kind.is_fifo(),
            "still a FIFO, not replaced by a regular file"
        );
        assert_eq!(entries(dir.path()), 1, "no temp files left behind");
    }

    #[test]
    fn a_fifo_nobody_reads_is_an_error_not_a_hang() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pipe");
        let c_path = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path in a temp folder.
        assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);
        let err = write_atomic(&fifo, "x").unwrap_err().to_string();
        assert!(err.contains("nothing is reading"), "{err}");
        assert!(std::fs::symlink_metadata(&fifo)
            .unwrap()
            .file_type()
            .is_fifo());
    }

    #[test]
    fn a_device_node_is_written_through() {
        // A null device made with mknod in a temp folder (never a system path). Making one
        // needs CAP_MKNOD and a folder not mounted nodev; elsewhere the FIFO test covers the
        // same path through the code.
        let dir = tempfile::tempdir().unwrap();
        let node = dir.path().join("null");
        let c_path = std::ffi::CString::new(node.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path in a temp folder.
        let made =
            unsafe { libc::mknod(c_path.as_ptr(), libc::S_IFCHR | 0o666, libc::makedev(1, 3)) };
        if made != 0 || std::fs::OpenOptions::new().write(true).open(&node).is_err() {
            eprintln!("skipped: cannot make or open a device node here");
            return;
        }
        check_writable(&node).unwrap();
        write_atomic(&node, "gone").unwrap();
        let kind = std::fs::symlink_metadata(&node).unwrap().file_type();
        assert!(kind.is_char_device(), "still a device, not a regular file");
        assert_eq!(entries(dir.path()), 1, "no temp files left behind");
    }

    #[test]
    fn a_symlink_is_followed_and_stays_a_link() {
        let dir = tempfile::tempdir().unwrap();
        let real_dir = dir.path().join("real");
        std::fs::create_dir(&real_dir).unwrap();
        let target = real_dir.join("book.md");
        std::fs::write(&target, "old").unwrap();
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o640)).unwrap();
        let link = dir.path().join("link.md");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        check_writable(&link).unwrap();
        write_atomic(&link, "new").unwrap();
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "new");
        let mode = std::fs::metadata(&target).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o640);
        assert_eq!(
            entries(&real_dir),
            1,
            "the temp file went beside the target"
        );
        let dangling = dir.path().join("dangling.md");
        std::os::unix::fs::symlink(dir.path().join("nowhere.md"), &dangling).unwrap();
        let err = check_writable(&dangling).unwrap_err().to_string();
        assert!(
            err.contains("symbolic link") && err.contains("nowhere.md"),
            "{err}"
        );
        assert!(write_atomic(&dangling, "x").is_err());
        assert!(!dir.path().join("nowhere.md").exists());
    }

    #[test]
    fn directories_and_missing_folders_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        assert!(check_writable(dir.path()).is_err());
        assert!(check_writable(&dir.path().join("missing/out.md")).is_err());
        assert!(write_atomic(dir.path(), "x").is_err());
    }
}
