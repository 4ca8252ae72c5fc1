//! Shared helpers of the root integration tests: fresh named namespaces that
//! delete themselves, and readers of `ip -j` / `ethtool` output.

#![allow(dead_code)] // each test binary uses a different subset

use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

use serde_json::Value;

/// Fails the test loudly unless it runs as root: these tests exist to touch
/// the kernel, and skipping would hide that they never ran.
pub fn require_root() {
    // SAFETY: geteuid has no preconditions and cannot fail.
    let euid = unsafe { libc::geteuid() };
    assert_eq!(euid, 0, "the netns integration tests must run as root");
}

/// A named network namespace made with `ip netns add`, deleted on drop (also
/// when the test panics).
pub struct TempNetns {
    pub name: String,
}

impl TempNetns {
    /// A fresh namespace whose name is unique per process, test and call.
    pub fn new(tag: &str) -> TempNetns {
        require_root();
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "nstest-{}-{}-{}",
            std::process::id(),
            tag,
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        run("ip", &["netns", "add", &name]);
        TempNetns { name }
    }

    pub fn path(&self) -> PathBuf {
        PathBuf::from("/run/netns").join(&self.name)
    }

    /// `ip -n <ns> -j <args>` parsed as JSON.
    pub fn ip_json(&self, args: &[&str]) -> Value {
        let mut full = vec!["-n", &self.name, "-j"];
        full.extend_from_slice(args);
        let out = run("ip", &full);
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("ip {full:?}: {e}: {out}"))
    }

    /// Runs a command inside the namespace and returns its stdout.
    pub fn exec(&self, program: &str, args: &[&str]) -> String {
        let mut full = vec!["netns", "exec", &self.name, program];
        full.extend_from_slice(args);
        run("ip", &full)
    }

    /// Adds a veth pair `name` / `<name>p` with iproute2 (the test kernel has
    /// no dummy module), as an interface this crate did not make.
    pub fn add_veth(&self, name: &str) {
        let peer = format!("{name}p");
        run(
            "ip",
            &[
                "-n", &self.name, "link", "add", name, "type", "veth", "peer", "name", &peer,
            ],
        );
    }

    /// Adds a veth pair `name` / `peer`, for names too long to take the `p`
    /// suffix of [`TempNetns::add_veth`] (15 characters at most).
    pub fn add_veth_with_peer(&self, name: &str, peer: &str) {
        run(
            "ip",
            &[
                "-n", &self.name, "link", "add", name, "type", "veth", "peer", "name", peer,
            ],
        );
    }

    /// Adds a bridge `name`, as a link that is not a veth (the test kernel
    /// has no dummy module, but bridges are built in).
    pub fn add_bridge(&self, name: &str) {
        run(
            "ip",
            &["-n", &self.name, "link", "add", name, "type", "bridge"],
        );
    }

    /// Names of all links in the namespace.
    pub fn link_names(&self) -> Vec<String> {
        self.ip_json(&["link", "show"])
            .as_array()
            .expect("ip link show is an array")
            .iter()
            .map(|link| link["ifname"].as_str().expect("ifname").to_string())
            .collect()
    }

    /// `ip -j link show dev <name>`'s single object.
    pub fn link(&self, name: &str) -> Value {
        self.ip_json(&["link", "show", "dev", name])[0].clone()
    }

    /// The value of `feature` in `ethtool -k <name>` ("on"/"off").
    pub fn ethtool_feature(&self, name: &str, feature: &str) -> String {
        let out = self.exec("ethtool", &["-k", name]);
        let prefix = format!("{feature}: ");
        out.lines()
            .find_map(|line| line.strip_prefix(&prefix))
            .unwrap_or_else(|| panic!("no {feature} in ethtool -k {name}: {out}"))
            .split_whitespace()
            .next()
            .expect("feature value")
            .to_string()
    }
}

impl Drop for TempNetns {
    fn drop(&mut self) {
        // Not run(): a failing cleanup must not turn into a double panic.
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

/// A fresh directory under the system temp dir, unique per process, test and
/// call, removed with its contents on drop (also when the test panics).
pub struct TempDir {
    pub path: PathBuf,
}

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let path = std::env::temp_dir().join(format!(
            "netns-test-{}-{}-{}",
            std::process::id(),
            tag,
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        // A leftover of an earlier run killed before its drop ran, should
        // the pid come round again.
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir(&path).unwrap_or_else(|e| panic!("mkdir {}: {e}", path.display()));
        TempDir { path }
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// Runs a command, panicking with its stderr when it fails; returns stdout.
pub fn run(program: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

/// The inode of the calling thread's network namespace, to prove a call left
/// the thread where it was.
pub fn thread_netns_inode() -> u64 {
    std::fs::metadata("/proc/thread-self/ns/net")
        .expect("stat /proc/thread-self/ns/net")
        .ino()
}

/// `aa:bb:..` text of a MAC address, as `ip -j` prints it.
pub fn mac_text(mac: [u8; 6]) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Whether `ip -j link` flags contain `flag`.
pub fn has_flag(link: &Value, flag: &str) -> bool {
    link["flags"]
        .as_array()
        .expect("flags array")
        .iter()
        .any(|f| f == flag)
}
