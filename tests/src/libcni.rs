//! The Go libcni as a runtime: `tests/libcni-client` (built here, offline,
//! against Debian's golang-github-appc-cni-dev) runs one verb per call
//! with a plugin dir, a network config list and a result cache of the
//! test's, inside a chassis' namespace.

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use serde_json::Value;

use crate::network::Network;
use crate::process::{self, Finished};
use crate::runtime;
use crate::sandbox::sandbox;
use crate::temp::TempPath;

/// The client binary, built once per test process (Go's own cache makes
/// rebuilds cheap); panics with Go's output when it cannot be built.
pub fn client() -> &'static Path {
    static CLIENT: OnceLock<PathBuf> = OnceLock::new();
    CLIENT.get_or_init(|| {
        // Beside the test executables (target/<profile>/), so Go's cache
        // outlives this process and `cargo clean` removes both.
        let exe = std::env::current_exe().expect("test executable path");
        let out = exe
            .parent()
            .and_then(Path::parent)
            .expect("test executables live in target/<profile>/deps")
            .join("libcni-client");
        let bin = out.join("libcni-client");
        let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("libcni-client");
        // GOPATH mode: the imports resolve in Debian's /usr/share/gocode,
        // nothing is fetched.
        let mut cmd = Command::new("go");
        cmd.args(["build", "-o"])
            .arg(&bin)
            .arg(".")
            .current_dir(&source)
            .env("GO111MODULE", "off")
            .env("GOPATH", "/usr/share/gocode")
            .env("GOCACHE", out.join("go-cache"))
            .env("GOFLAGS", "");
        let done = process::run(&mut cmd, &[], Duration::from_secs(300));
        assert!(
            done.ok(),
            "building tests/libcni-client failed (packages golang-go and \
             golang-github-appc-cni-dev): {}{}",
            done.stdout_text(),
            done.stderr
        );
        bin
    })
}

/// A runtime built on libcni for chassis `node`: plugin dir, the network's
/// config list and libcni's result cache in a temp dir. Dropping it DELs
/// every attachment it ADDed (DEL is idempotent), so a failed test leaves
/// nothing in OVN or OVS.
#[derive(Debug)]
pub struct Libcni {
    /// Chassis whose namespace and node config the plugin runs with.
    pub node: usize,
    dir: TempPath,
    added: RefCell<Vec<Attachment>>,
}

/// One container as libcni sees it: id, netns path, interface name, and
/// options for ADD (`-args`, `-ips`, `-mac`).
#[derive(Debug, Clone)]
pub struct Attachment {
    /// CNI_CONTAINERID.
    pub id: String,
    /// CNI_NETNS.
    pub netns: String,
    /// CNI_IFNAME.
    pub ifname: String,
    /// Further client flags (`-args K=V;..`, `-ips CIDR`, `-mac MAC`).
    pub flags: Vec<String>,
}

impl Libcni {
    /// A runtime on chassis `node` for `net`, its config list carrying
    /// `extra` plugin keys (e.g. `capabilities`).
    pub fn on(node: usize, net: &Network, extra: &[(&str, Value)]) -> Libcni {
        let dir = TempPath::dir("libcni");
        let path = dir.path();
        runtime::write_plugin(&path.join("bin"), node, &path.join("calls.log"));
        runtime::write_conflist(&path.join("net.d"), &runtime::conflist(net, extra));
        Libcni {
            node,
            dir,
            added: RefCell::new(Vec::new()),
        }
    }

    /// ADDs `attachment` through libcni; returns the result it printed.
    pub fn add(&self, attachment: &Attachment) -> Value {
        self.added.borrow_mut().push(attachment.clone());
        self.json("add", Some(attachment))
    }

    /// Runs `libcni-client <verb>` for `attachment` (none for `validate`
    /// and `version`) in the chassis namespace.
    pub fn run(&self, verb: &str, attachment: Option<&Attachment>) -> Finished {
        let path = self.dir.path();
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &sandbox().node_netns(self.node)])
            .arg(client())
            .arg("-conflist")
            .arg(path.join("net.d/10-udn.conflist"))
            .arg("-bin-dir")
            .arg(path.join("bin"))
            .arg("-cache-dir")
            .arg(path.join("cache"));
        if let Some(a) = attachment {
            cmd.args(["-id", &a.id, "-netns", &a.netns, "-ifname", &a.ifname])
                .args(&a.flags);
        }
        cmd.arg(verb);
        process::run(&mut cmd, &[], crate::plugin::PLUGIN_TIMEOUT)
    }

    /// [`Libcni::run`], panicking with the client's stderr unless it
    /// succeeds; returns its stdout.
    pub fn must(&self, verb: &str, attachment: Option<&Attachment>) -> String {
        let done = self.run(verb, attachment);
        assert!(
            done.ok(),
            "libcni {verb} failed ({:?}, timed out: {}): {}",
            done.code,
            done.timed_out,
            done.stderr
        );
        done.stdout_text()
    }

    /// [`Libcni::must`] for a verb that prints JSON.
    pub fn json(&self, verb: &str, attachment: Option<&Attachment>) -> Value {
        let out = self.must(verb, attachment);
        serde_json::from_str(&out)
            .unwrap_or_else(|e| panic!("libcni {verb} printed no JSON ({e}): {out}"))
    }

    /// Files in libcni's result cache (one per attachment it ADDed).
    pub fn cached_results(&self) -> Vec<String> {
        std::fs::read_dir(self.dir.path().join("cache/results"))
            .into_iter()
            .flatten()
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .collect()
    }
}

impl Drop for Libcni {
    fn drop(&mut self) {
        if crate::sandbox::try_sandbox().is_none() {
            return;
        }
        for attachment in self.added.borrow().iter() {
            let _ = self.run("del", Some(attachment));
        }
    }
}
