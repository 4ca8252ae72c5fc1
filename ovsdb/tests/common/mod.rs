//! A real ovsdb-server per test, in its own temp dir, killed by pid (and
//! the dir removed) when the guard drops, also when the test panics.

#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// Name of the database in the fixture schema.
pub const DB: &str = "Test";

/// A running ovsdb-server serving the fixture schema.
pub struct Server {
    child: Child,
    // Removed after the server is killed: fields drop after Drop::drop.
    dir: TempDir,
    /// `unix:<socket>` remote.
    pub unix: String,
    /// `tcp:127.0.0.1:<port>` remote.
    pub tcp: String,
}

/// A temp dir removed on drop, also when the test panics.
pub struct TempDir(PathBuf);

impl TempDir {
    /// A fresh, empty dir unique to this process and call.
    pub fn new(tag: &str) -> TempDir {
        TempDir(temp_dir(tag))
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn temp_dir(tag: &str) -> PathBuf {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "ovsdb-{tag}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn free_port() -> u16 {
    // The port is released before ovsdb-server binds it; a clash is possible
    // in theory but the kernel hands out ephemeral ports round-robin.
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn run(cmd: &mut Command) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?} (is Open vSwitch installed?): {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Server {
    /// Starts ovsdb-server on a fresh database; panics (the test fails) if
    /// it cannot: a missing ovsdb-server must never look like a pass.
    pub fn start() -> Server {
        Server::start_with(|_, db| {
            let schema =
                Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/test.ovsschema");
            run(Command::new("ovsdb-tool")
                .arg("create")
                .arg(db)
                .arg(&schema));
        })
    }

    /// Starts a server whose database is a clustered member that joins a
    /// cluster nobody serves: it answers, but is never connected.
    pub fn start_cut_off_cluster_member() -> Server {
        Server::start_with(|dir, db| {
            run(Command::new("ovsdb-tool")
                .arg("join-cluster")
                .arg(db)
                .arg(DB)
                .arg(format!("unix:{}", dir.join("self.raft").display()))
                .arg(format!("unix:{}", dir.join("nobody.raft").display())));
        })
    }

    fn start_with(create_db: impl FnOnce(&Path, &Path)) -> Server {
        // A guard from the start, so a failed setup leaves nothing behind.
        let dir = TempDir::new("server");
        let db = dir.path().join("test.db");
        create_db(dir.path(), &db);
        let sock = dir.path().join("db.sock");
        let port = free_port();
        let child = Command::new("ovsdb-server")
            .arg(&db)
            .arg(format!("--remote=punix:{}", sock.display()))
            .arg(format!("--remote=ptcp:{port}:127.0.0.1"))
            .arg(format!("--unixctl={}", dir.path().join("ctl").display()))
            .arg(format!("--pidfile={}", dir.path().join("pid").display()))
            .arg(format!("--log-file={}", dir.path().join("log").display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start ovsdb-server (is Open vSwitch installed?): {e}")
            });
        let mut server = Server {
            child,
            dir,
            unix: format!("unix:{}", sock.display()),
            tcp: format!("tcp:127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while !sock.exists() {
            if let Some(status) = server.child.try_wait().unwrap() {
                panic!("ovsdb-server exited with {status}: {}", server.log());
            }
            assert!(
                Instant::now() < deadline,
                "ovsdb-server socket never appeared"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        server
    }

    /// The temp dir of this server.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The server's log, for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("log")).unwrap_or_default()
    }

    /// Kills the server now (SIGKILL by pid) and reaps it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}
