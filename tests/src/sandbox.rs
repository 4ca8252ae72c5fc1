//! Where the OVN sandbox and the plugin binary are, and how to talk to their
//! databases. Anything missing fails the test loudly with what to run.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::process;

/// The running `scripts/ovn-sandbox` deployment and the binary under test.
#[derive(Debug)]
pub struct Sandbox {
    /// State directory (`$OVN_SANDBOX_DIR`, default `/run/ovn-udn-sandbox`).
    pub dir: PathBuf,
    /// Absolute path of the `ovn-udn-cni` binary.
    pub bin: PathBuf,
    /// Number of chassis (`node1..nodeN`) that have a node config.
    pub nodes: usize,
}

const HOW_TO_RUN: &str = "run `scripts/test` (or `cargo build -p ovn-udn-cni && \
scripts/ovn-sandbox up 3`) before `cargo test -p e2e`";

/// The sandbox, checked once per test process; panics (never skips) when the
/// binary or the sandbox is absent.
pub fn sandbox() -> &'static Sandbox {
    match discovered() {
        Ok(sandbox) => sandbox,
        Err(missing) => panic!("{missing}"),
    }
}

/// The sandbox if it is usable, without panicking: for `Drop` impls, which
/// must not panic again while a test unwinds.
pub fn try_sandbox() -> Option<&'static Sandbox> {
    discovered().as_ref().ok()
}

fn discovered() -> &'static Result<Sandbox, String> {
    static SANDBOX: OnceLock<Result<Sandbox, String>> = OnceLock::new();
    SANDBOX.get_or_init(Sandbox::discover)
}

impl Sandbox {
    fn discover() -> Result<Sandbox, String> {
        let dir = PathBuf::from(
            std::env::var("OVN_SANDBOX_DIR").unwrap_or_else(|_| "/run/ovn-udn-sandbox".into()),
        );
        let bin = match std::env::var_os("OVN_UDN_CNI_BIN") {
            Some(path) => PathBuf::from(path),
            None => Path::new(env!("CARGO_MANIFEST_DIR"))
                .parent()
                .expect("the e2e crate lives inside the workspace")
                .join("target/debug/ovn-udn-cni"),
        };
        if !bin.is_file() {
            return Err(format!(
                "plugin binary {} not found (set OVN_UDN_CNI_BIN or build it); {HOW_TO_RUN}",
                bin.display()
            ));
        }
        let bin = bin
            .canonicalize()
            .map_err(|e| format!("{}: {e}", bin.display()))?;
        if !dir.join("nb.sock").exists() {
            return Err(format!(
                "OVN sandbox not up: {} missing; {HOW_TO_RUN}",
                dir.join("nb.sock").display()
            ));
        }
        let nodes = (1..)
            .take_while(|i| dir.join(format!("node{i}/node.json")).is_file())
            .count();
        if nodes < 2 {
            return Err(format!(
                "OVN sandbox in {} has {nodes} chassis, the tests need at least 2; {HOW_TO_RUN}",
                dir.display()
            ));
        }
        Ok(Sandbox { dir, bin, nodes })
    }

    /// `unix:` remote of the northbound database.
    pub fn nb_remote(&self) -> String {
        format!("unix:{}", self.dir.join("nb.sock").display())
    }

    /// `unix:` remote of chassis `node`'s Open_vSwitch database.
    pub fn ovs_remote(&self, node: usize) -> String {
        format!(
            "unix:{}",
            self.dir.join(format!("node{node}/db.sock")).display()
        )
    }

    /// Network namespace chassis `node` runs in (`udn-node<i>`, or the
    /// sandbox's `OVN_SANDBOX_NS_PREFIX` instead of `udn-`).
    pub fn node_netns(&self, node: usize) -> String {
        assert!(
            (1..=self.nodes).contains(&node),
            "chassis node{node} not in sandbox"
        );
        format!("{}node{node}", ns_prefix())
    }

    /// Chassis name (OVN system-id) of `node`.
    pub fn chassis(&self, node: usize) -> String {
        format!("node{node}")
    }

    /// Path of the plugin's node config for chassis `node`.
    pub fn node_config(&self, node: usize) -> PathBuf {
        self.dir.join(format!("node{node}/node.json"))
    }

    /// Runs `ovn-nbctl` against the sandbox NB; panics on failure.
    pub fn nbctl(&self, args: &[&str]) -> String {
        let db = format!("--db={}", self.nb_remote());
        let mut all = vec!["--timeout=20", db.as_str()];
        all.extend_from_slice(args);
        process::must("ovn-nbctl", &all)
    }

    /// Runs `ovs-vsctl` against chassis `node`'s OVSDB; panics on failure.
    pub fn vsctl(&self, node: usize, args: &[&str]) -> String {
        let db = format!("--db={}", self.ovs_remote(node));
        let mut all = vec!["--timeout=20", db.as_str()];
        all.extend_from_slice(args);
        process::must("ovs-vsctl", &all)
    }
}

/// The sandbox's namespace prefix (`$OVN_SANDBOX_NS_PREFIX`, default `udn-`).
pub fn ns_prefix() -> String {
    std::env::var("OVN_SANDBOX_NS_PREFIX").unwrap_or_else(|_| "udn-".into())
}
