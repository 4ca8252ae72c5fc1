//! Faults the tests inject into the sandbox: a chassis daemon stopped, a
//! chassis' OVS restarted, the NB database gone (through a relay of the
//! test's own, so the shared NB never stops). Guards put everything back on
//! drop, also when a test fails. Tests that stop a chassis daemon must not
//! run beside others that use that chassis: keep them in one test binary
//! and hold [`serial`].

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use crate::names;
use crate::process;
use crate::sandbox::sandbox;

/// Serialises the fault tests of one test binary.
pub fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn ovn_sandbox(args: &[&str]) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/ovn-sandbox");
    let mut cmd = Command::new(script);
    cmd.args(args);
    let done = process::run(&mut cmd, &[], Duration::from_secs(60));
    assert!(done.ok(), "ovn-sandbox {args:?} failed: {}", done.stderr);
}

/// A chassis daemon (`ovn-controller`, `ovs-vswitchd`, `ovsdb-server`),
/// stopped until the guard drops.
#[derive(Debug)]
pub struct Stopped {
    node: usize,
    daemon: &'static str,
}

impl Stopped {
    /// Stops `daemon` of chassis `node`.
    pub fn daemon(node: usize, daemon: &'static str) -> Stopped {
        ovn_sandbox(&["stop", &node.to_string(), daemon]);
        Stopped { node, daemon }
    }
}

impl Drop for Stopped {
    fn drop(&mut self) {
        ovn_sandbox(&["start", &self.node.to_string(), self.daemon]);
    }
}

/// Restarts chassis `node`'s ovsdb-server and ovs-vswitchd as a node's
/// `ovs-ctl restart` does (transient ports dropped).
pub fn restart_ovs(node: usize) {
    ovn_sandbox(&["restart-ovs", &node.to_string()]);
}

/// An ovsdb-server relay of the NB database on a unix socket of its own,
/// in chassis `node`'s namespace: the plugin reaches the NB through it, and
/// stopping it makes the NB unreachable for that plugin alone.
#[derive(Debug)]
pub struct NbRelay {
    dir: PathBuf,
    node: usize,
}

impl NbRelay {
    /// Starts a relay for chassis `node`.
    pub fn start(node: usize) -> NbRelay {
        let dir = std::env::temp_dir().join(names::unique("relay"));
        std::fs::create_dir_all(&dir).expect("relay dir");
        let relay = NbRelay { dir, node };
        relay.resume();
        relay
    }

    /// `unix:` remote of the relay.
    pub fn remote(&self) -> String {
        format!("unix:{}", self.dir.join("nb.sock").display())
    }

    /// Stops the relay: its socket refuses connections.
    pub fn stop(&self) {
        if let Ok(pid) = std::fs::read_to_string(self.dir.join("relay.pid")) {
            let _ = process::attempt("kill", &[pid.trim()]);
        }
        for _ in 0..100 {
            if !self.dir.join("relay.pid").exists() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = std::fs::remove_file(self.dir.join("nb.sock"));
    }

    /// (Re)starts the relay and waits until it serves the NB.
    pub fn resume(&self) {
        let sb = sandbox();
        let file = |name: &str| self.dir.join(name).display().to_string();
        process::must(
            "ip",
            &[
                "netns",
                "exec",
                &sb.node_netns(self.node),
                "ovsdb-server",
                &format!("--remote=punix:{}", file("nb.sock")),
                &format!("--pidfile={}", file("relay.pid")),
                &format!("--unixctl={}", file("relay.ctl")),
                &format!("--log-file={}", file("relay.log")),
                "--detach",
                &format!("relay:OVN_Northbound:{}", sb.nb_remote()),
            ],
        );
        let db = format!("--db={}", self.remote());
        process::must(
            "ovn-nbctl",
            &["--timeout=20", &db, "--no-leader-only", "show"],
        );
    }
}

impl Drop for NbRelay {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
