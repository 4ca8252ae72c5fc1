//! Tests of the pieces (sanitising writer, open and rotate), not of the
//! global subscriber. No root needed.
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, mpsc};
use std::time::Duration;

use super::escape::{LineWriter, MAX_LINE_BYTES, Sanitize, sanitize_line};
use super::file::{self, Rotation, numbered};

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("udn-log-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn through_writer(writes: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut writer = LineWriter::new(&mut out);
        for bytes in writes {
            writer.write_all(bytes).unwrap();
        }
    }
    out
}

#[test]
fn newlines_in_an_event_do_not_forge_lines() {
    let out = through_writer(&[b"a\r\nFORGED line\n"]);
    assert_eq!(out, b"a\\r\\nFORGED line\n");
    // Split writes still make one line; a missing final newline is added.
    assert_eq!(through_writer(&[b"x\ny", b"z\n"]), b"x\\nyz\n");
    assert_eq!(through_writer(&[b"no end"]), b"no end\n");
}

#[test]
fn controls_separators_bidi_and_backslashes_are_escaped() {
    let line = sanitize_line(
        "\t\u{1b}[31m\u{7f}\u{85}\u{2028}\u{2029}\u{202e}\u{2066}\\n ok é\n".as_bytes(),
    );
    let text = String::from_utf8(line).unwrap();
    assert_eq!(
        text,
        "\\t\\u{1b}[31m\\u{7f}\\u{85}\\u{2028}\\u{2029}\\u{202e}\\u{2066}\\\\n ok é\n"
    );
    assert_eq!(
        sanitize_line(b"bad \xff\xfe end\n"),
        b"bad \\xff\\xfe end\n"
    );
}

#[test]
fn a_megabyte_event_becomes_one_short_line() {
    for fill in ["x", "\n", "é"] {
        let mut event = fill.repeat((1 << 20) / fill.len()).into_bytes();
        event.push(b'\n');
        let line = sanitize_line(&event);
        assert!(line.len() <= 4200, "{fill:?}: {} bytes", line.len());
        assert!(line.len() > MAX_LINE_BYTES - 4);
        assert_eq!(line.iter().filter(|&&b| b == b'\n').count(), 1);
        let text = String::from_utf8(line).unwrap();
        assert!(text.ends_with(" bytes cut]\n"), "{fill:?}");
    }
}

#[test]
fn the_fmt_layer_writes_one_line_per_event() {
    let dir = TempDir::new("fmt");
    let path = dir.0.join("plugin.log");
    let log = file::open(&path, rotation(1 << 20, 2)).unwrap();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(Sanitize::new(log))
        .with_ansi(false)
        .with_target(false)
        .finish();
    tracing::subscriber::with_default(subscriber, || {
        tracing::info!(network = "n\nFORGED", "bad {}", "a\r\nFORGED line");
        tracing::info!("{}", "y".repeat(1 << 20));
    });
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(
        lines
            .iter()
            .all(|line| !line.contains('\r') && line.len() <= 4200)
    );
}

fn rotation(max_bytes: u64, max_files: u32) -> Rotation {
    Rotation {
        max_bytes,
        max_files,
    }
}

/// Appends `bytes` of `fill` through a freshly opened (maybe rotated) file.
fn append(path: &Path, fill: u8, bytes: usize) {
    let mut log = file::open(path, rotation(4096, 2)).unwrap();
    log.write_all(&vec![fill; bytes]).unwrap();
}

#[test]
fn rotation_keeps_max_files_in_order() {
    let dir = TempDir::new("rotate");
    let path = dir.0.join("sub").join("plugin.log");
    for fill in [b'A', b'B', b'C', b'D'] {
        append(&path, fill, 5000);
    }
    drop(file::open(&path, rotation(4096, 2)).unwrap());
    assert_eq!(std::fs::read(&path).unwrap(), b"");
    assert_eq!(std::fs::read(numbered(&path, 1)).unwrap(), vec![b'D'; 5000]);
    assert_eq!(std::fs::read(numbered(&path, 2)).unwrap(), vec![b'C'; 5000]);
    assert!(!numbered(&path, 3).exists());
}

#[test]
fn a_small_file_is_appended_to_not_rotated() {
    let dir = TempDir::new("small");
    let path = dir.0.join("plugin.log");
    append(&path, b'A', 100);
    append(&path, b'B', 100);
    assert_eq!(std::fs::metadata(&path).unwrap().len(), 200);
    assert!(!numbered(&path, 1).exists());
}

#[test]
fn concurrent_openers_rotate_once() {
    for _ in 0..10 {
        let dir = TempDir::new("race");
        let path = Arc::new(dir.0.join("plugin.log"));
        std::fs::write(&*path, vec![b'A'; 5000]).unwrap();
        let barrier = Arc::new(Barrier::new(8));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let (path, barrier) = (Arc::clone(&path), Arc::clone(&barrier));
                std::thread::spawn(move || {
                    barrier.wait();
                    file::open(&path, rotation(4096, 3)).map(drop)
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap().unwrap();
        }
        assert_eq!(std::fs::read(numbered(&path, 1)).unwrap(), vec![b'A'; 5000]);
        assert!(!numbered(&path, 2).exists(), "rotated twice");
        assert_eq!(std::fs::metadata(&*path).unwrap().len(), 0);
    }
}

/// Runs `open` on a thread so a regression that blocks fails the test.
fn open_with_timeout(path: &Path) -> std::io::Result<std::fs::File> {
    let (send, receive) = mpsc::channel();
    let path = path.to_path_buf();
    std::thread::spawn(move || send.send(file::open(&path, rotation(4096, 2))));
    receive
        .recv_timeout(Duration::from_secs(5))
        .expect("open blocked")
}

#[test]
fn fifos_are_refused_without_blocking() {
    let dir = TempDir::new("fifo");
    let path = dir.0.join("plugin.log");
    nix::unistd::mkfifo(&path, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    // No reader: the non-blocking open itself fails.
    let err = open_with_timeout(&path).unwrap_err();
    assert!(err.to_string().contains("not a regular file"), "{err}");
    // A reader: the open succeeds and the type check refuses it.
    let _reader = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::fcntl::OFlag::O_NONBLOCK.bits())
        .open(&path)
        .unwrap();
    let err = open_with_timeout(&path).unwrap_err();
    assert!(err.to_string().contains("not a regular file"), "{err}");
}

#[test]
fn symlinks_and_hard_links_are_refused() {
    let dir = TempDir::new("links");
    let target = dir.0.join("target");
    std::fs::write(&target, b"keep").unwrap();
    let path = dir.0.join("plugin.log");
    std::os::unix::fs::symlink(&target, &path).unwrap();
    let err = file::open(&path, rotation(4096, 2)).unwrap_err();
    assert!(err.to_string().contains("symbolic link"), "{err}");
    std::fs::remove_file(&path).unwrap();
    std::fs::hard_link(&target, &path).unwrap();
    let err = file::open(&path, rotation(4096, 2)).unwrap_err();
    assert!(err.to_string().contains("hard links"), "{err}");
    assert_eq!(std::fs::read(&target).unwrap(), b"keep");
}
