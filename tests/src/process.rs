//! Running external commands with a deadline, so no test can hang forever.

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// What a finished (or killed) command left behind.
#[derive(Debug, Clone)]
pub struct Finished {
    /// Exit code; `None` when killed by a signal (including our own timeout kill).
    pub code: Option<i32>,
    /// Everything written to stdout.
    pub stdout: Vec<u8>,
    /// Everything written to stderr, lossily decoded.
    pub stderr: String,
    /// True when the deadline passed and the command was killed.
    pub timed_out: bool,
}

impl Finished {
    /// True when the command exited with status 0 before its deadline.
    pub fn ok(&self) -> bool {
        self.code == Some(0) && !self.timed_out
    }

    /// stdout decoded lossily as UTF-8.
    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }
}

/// Runs `cmd` with `stdin` fed to it, killing it once `timeout` has passed.
///
/// stdout and stderr are drained on their own threads so a chatty child never
/// blocks on a full pipe while we wait.
pub fn run(cmd: &mut Command, stdin: &[u8], timeout: Duration) -> Finished {
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
    let input = stdin.to_vec();
    let mut child_stdin = child.stdin.take().expect("stdin was piped");
    let writer = thread::spawn(move || {
        // A child that exits without reading its stdin gives EPIPE: not our concern.
        let _ = child_stdin.write_all(&input);
    });
    let mut out = child.stdout.take().expect("stdout was piped");
    let reader = thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = out.read_to_end(&mut buf);
        buf
    });
    let mut err = child.stderr.take().expect("stderr was piped");
    let err_reader = thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = err.read_to_end(&mut buf);
        buf
    });
    let deadline = Instant::now() + timeout;
    let mut timed_out = false;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if Instant::now() >= deadline => {
                timed_out = true;
                let _ = child.kill();
                break child.wait().ok();
            }
            Ok(None) => thread::sleep(Duration::from_millis(5)),
            Err(e) => panic!("waiting for {cmd:?}: {e}"),
        }
    };
    let _ = writer.join();
    let stdout = reader.join().unwrap_or_default();
    let stderr = String::from_utf8_lossy(&err_reader.join().unwrap_or_default()).into_owned();
    Finished {
        code: status.and_then(|s| s.code()),
        stdout,
        stderr,
        timed_out,
    }
}

/// Runs `program args..` (bounded by 30 s) and returns its stdout; panics with
/// the command line and stderr when it fails.
pub fn must(program: &str, args: &[&str]) -> String {
    let done = attempt(program, args);
    assert!(
        done.ok(),
        "`{program} {}` failed ({:?}, timed out: {}): {}",
        args.join(" "),
        done.code,
        done.timed_out,
        done.stderr
    );
    done.stdout_text()
}

/// Runs `program args..` (bounded by 30 s) and returns how it ended.
pub fn attempt(program: &str, args: &[&str]) -> Finished {
    run(
        Command::new(program).args(args),
        &[],
        Duration::from_secs(30),
    )
}
