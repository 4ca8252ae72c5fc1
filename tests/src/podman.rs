//! podman 4 (Debian's, CNI backend, runc) as a chassis' runtime: one
//! private podman per chassis (containers.conf, storage, run and temp dirs
//! under a temp dir), run inside the chassis' network namespace with
//! `nsenter --net` (`ip netns exec` would remount /sys and break podman's
//! cgroup handling). Containers run Debian's static busybox with `--rootfs`.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::network::Network;
use crate::process::{self, Finished};
use crate::runtime;
use crate::sandbox::sandbox;
use crate::temp::TempPath;

/// Longest one podman command may take (a run includes the plugin's ADD).
const PODMAN_TIMEOUT: Duration = Duration::from_secs(120);

/// A private podman on one chassis, with `net` as its one CNI network.
/// Dropping it removes every container it still has, then its directories.
#[derive(Debug)]
pub struct Podman {
    /// Chassis it runs on.
    pub node: usize,
    /// The CNI network's name (`--network`).
    pub network: String,
    dir: TempPath,
}

impl Podman {
    /// A podman on chassis `node` whose network `net` is run by
    /// `ovn-udn-cni` with that chassis' node config.
    pub fn on(node: usize, net: &Network) -> Podman {
        let dir = TempPath::dir("podman");
        let path = dir.path();
        runtime::write_plugin(&path.join("cni-bin"), node, &path.join("calls.log"));
        runtime::write_conflist(&path.join("net.d"), &runtime::conflist(net, &[]));
        runtime::busybox_rootfs(&path.join("rootfs"));
        std::fs::create_dir_all(path.join("tmp")).expect("podman tmp dir");
        // The machine grants no CAP_SYS_RESOURCE, so the container's rlimits
        // must stay within ours (podman's default nofile is 1048576).
        let conf = format!(
            "[containers]\n\
             default_ulimits = [\"nofile=1024:1024\", \"nproc=1024:1024\"]\n\
             [network]\n\
             network_backend = \"cni\"\n\
             cni_plugin_dirs = [\"{dir}/cni-bin\"]\n\
             network_config_dir = \"{dir}/net.d\"\n\
             [engine]\n\
             runtime = \"runc\"\n\
             tmp_dir = \"{dir}/tmp\"\n",
            dir = dir.text()
        );
        std::fs::write(path.join("containers.conf"), conf).expect("containers.conf");
        Podman {
            node,
            network: net.name.clone(),
            dir,
        }
    }

    /// Runs `podman <args>` in the chassis namespace with this podman's
    /// config and storage.
    pub fn podman(&self, args: &[&str]) -> Finished {
        let path = self.dir.path();
        let mut cmd = Command::new("nsenter");
        cmd.arg(format!(
            "--net=/run/netns/{}",
            sandbox().node_netns(self.node)
        ))
        .arg("podman")
        .arg("--root")
        .arg(path.join("root"))
        .arg("--runroot")
        .arg(path.join("runroot"))
        .args(["--storage-driver", "vfs", "--cgroup-manager", "cgroupfs"])
        .args(args)
        .env("CONTAINERS_CONF", path.join("containers.conf"));
        process::run(&mut cmd, &[], PODMAN_TIMEOUT)
    }

    /// `podman <args>`, panicking with podman's stderr unless it succeeds.
    pub fn must(&self, args: &[&str]) -> String {
        let done = self.podman(args);
        assert!(
            done.ok(),
            "podman {} on node{} failed ({:?}, timed out: {}): {}",
            args.join(" "),
            self.node,
            done.code,
            done.timed_out,
            done.stderr
        );
        done.stdout_text()
    }

    /// Starts a detached busybox container `name` on the network, with
    /// `extra` options (e.g. `--ip`); returns its full id.
    pub fn run(&self, name: &str, extra: &[&str]) -> String {
        let rootfs = self.dir.path().join("rootfs").display().to_string();
        let mut args = vec!["run", "-d", "--name", name, "--network", &self.network];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["--rootfs", &rootfs, "/bin/sleep", "600"]);
        self.must(&args).trim().to_owned()
    }

    /// `(address/prefix, MAC)` of `eth0` inside container `name`.
    pub fn eth0(&self, name: &str) -> (String, String) {
        let text = self.must(&["exec", name, "/bin/ip", "addr", "show", "dev", "eth0"]);
        match runtime::parse_eth0(&text) {
            (Some(cidr), Some(mac)) => (cidr, mac),
            _ => panic!("no IPv4 address or MAC on eth0 of {name}: {text}"),
        }
    }

    /// Pings `ip` from container `name` until a reply comes or the
    /// sandbox's reach timeout passes.
    pub fn ping(&self, name: &str, ip: &str) -> bool {
        let deadline = Instant::now() + crate::net::REACH_TIMEOUT;
        loop {
            if self
                .podman(&["exec", name, "/bin/ping", "-c", "1", "-W", "1", ip])
                .ok()
            {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The verbs podman sent the plugin so far (see [`runtime::write_plugin`]).
    pub fn calls(&self) -> Vec<String> {
        runtime::logged_calls(&self.dir.path().join("calls.log"))
    }
}

impl Drop for Podman {
    fn drop(&mut self) {
        let _ = self.podman(&["rm", "-a", "-f", "-t", "0"]);
        runtime::unmount_under(&self.dir);
    }
}
