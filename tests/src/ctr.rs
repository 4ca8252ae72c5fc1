//! containerd 1.6 and its `ctr run --cni` (Debian's) as a chassis'
//! runtime: a private containerd (own root, state, sockets) per test inside
//! the chassis' network namespace, busybox containers with `--rootfs`.
//!
//! `ctr` 1.6 reads its CNI setup from the fixed `/etc/cni/net.d` and
//! `/opt/cni/bin` (it has no flag for them), so each `ctr run` runs in a
//! private mount namespace with the test's directories bound there; the
//! host's directories are never touched. `ctr` ADDs after creating the task
//! and, when the task exits under a foreground `ctr run --rm`, DELs with an
//! empty `CNI_NETNS` (the namespace died with the task). FIFOs and runc's
//! state go to the test's directory too; only the shims' sockets live in
//! containerd's fixed `/run/containerd/s`, each removed when its shim ends.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::names;
use crate::process::{self, Finished};
use crate::runtime;
use crate::sandbox::sandbox;
use crate::temp::TempPath;

/// Longest a container may take from `ctr run` to an address on `eth0`,
/// and a foreground `ctr run` to exit after its task was killed.
const CTR_TIMEOUT: Duration = Duration::from_secs(90);

/// A private containerd on one chassis whose `ctr run --cni` attaches
/// containers with a network config list of the test's. Dropping it kills
/// and removes its containers, stops the daemon and removes its directories.
#[derive(Debug)]
pub struct Containerd {
    /// Chassis it runs on.
    pub node: usize,
    dir: TempPath,
    daemon: Child,
}

/// A foreground `ctr run --rm --cni` of one container. If it still runs on
/// drop (a failed test), its task is killed so that `ctr` DELs as usual.
#[derive(Debug)]
pub struct CtrRun {
    /// Container id (`ctr` hands the plugin `default-<id>` as CNI_CONTAINERID).
    pub id: String,
    address: std::path::PathBuf,
    child: Child,
}

impl Containerd {
    /// Starts containerd on chassis `node`; its `ctr run --cni` uses
    /// `conflist` with the plugin (see [`runtime::write_plugin`]).
    pub fn on(node: usize, conflist: &Value) -> Containerd {
        let dir = TempPath::dir("ctr");
        let path = dir.path();
        runtime::write_plugin(&path.join("opt/cni/bin"), node, &path.join("calls.log"));
        runtime::write_conflist(&path.join("etc-cni/net.d"), conflist);
        runtime::busybox_rootfs(&path.join("rootfs"));
        let config = format!(
            "version = 2\n\
             root = \"{dir}/root\"\n\
             state = \"{dir}/state\"\n\
             disabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n\
             [grpc]\n  address = \"{dir}/containerd.sock\"\n\
             [ttrpc]\n  address = \"{dir}/containerd-ttrpc.sock\"\n\
             [plugins.\"io.containerd.internal.v1.opt\"]\n  path = \"{dir}/containerd-opt\"\n",
            dir = dir.text()
        );
        std::fs::write(path.join("config.toml"), config).expect("containerd config");
        let log = std::fs::File::create(path.join("containerd.log")).expect("containerd log");
        let daemon = Command::new("nsenter")
            .arg(format!("--net=/run/netns/{}", sandbox().node_netns(node)))
            .arg("containerd")
            .arg("--config")
            .arg(path.join("config.toml"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log handle"))
            .stderr(log)
            .spawn()
            .expect("cannot start containerd (package containerd)");
        let containerd = Containerd { node, dir, daemon };
        let deadline = Instant::now() + Duration::from_secs(30);
        while !containerd.ctr(&["version"]).ok() {
            assert!(
                Instant::now() < deadline,
                "containerd did not answer within 30 s: {}",
                containerd.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        containerd
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("containerd.log")).unwrap_or_default()
    }

    /// `ctr --address <ours> <args>` (no CNI involved).
    pub fn ctr(&self, args: &[&str]) -> Finished {
        let address = self.dir.path().join("containerd.sock");
        let mut cmd = Command::new("ctr");
        cmd.arg("--address").arg(address).args(args);
        process::run(&mut cmd, &[], Duration::from_secs(60))
    }

    /// [`Containerd::ctr`], panicking with its stderr unless it succeeds.
    pub fn must(&self, args: &[&str]) -> String {
        let done = self.ctr(args);
        assert!(
            done.ok(),
            "ctr {} failed ({:?}, timed out: {}): {}",
            args.join(" "),
            done.code,
            done.timed_out,
            done.stderr
        );
        done.stdout_text()
    }

    /// Starts a foreground `ctr run --rm --cni` of a busybox container
    /// `id` in the chassis namespace, and waits until its `eth0` has an
    /// IPv4 address.
    pub fn run(&self, id: &str) -> CtrRun {
        let path = self.dir.path();
        let script = format!(
            "mount --bind '{dir}/etc-cni' /etc/cni && mount --bind '{dir}/opt' /opt && \
             exec nsenter --net=/run/netns/{ns} ctr --address '{dir}/containerd.sock' \
             run --rm --cni --fifo-dir '{dir}/fifo' --runc-root '{dir}/runc' \
             --rootfs '{dir}/rootfs' {id} /bin/sleep 600",
            dir = self.dir.text(),
            ns = sandbox().node_netns(self.node),
        );
        let err = std::fs::File::create(path.join(format!("ctr-run-{id}.log"))).expect("ctr log");
        let child = Command::new("unshare")
            .args(["--mount", "--propagation", "private", "sh", "-c", &script])
            .stdin(Stdio::null())
            .stdout(err.try_clone().expect("log handle"))
            .stderr(err)
            .spawn()
            .expect("cannot start unshare");
        let mut run = CtrRun {
            id: id.to_owned(),
            address: path.join("containerd.sock"),
            child,
        };
        let deadline = Instant::now() + CTR_TIMEOUT;
        loop {
            if let Some((Some(_), Some(_))) = self.try_eth0(id) {
                return run;
            }
            if let Ok(Some(status)) = run.child.try_wait() {
                panic!("ctr run {id} exited ({status}): {}", self.run_log(id));
            }
            assert!(
                Instant::now() < deadline,
                "container {id} has no address after {CTR_TIMEOUT:?}: {}",
                self.run_log(id)
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn run_log(&self, id: &str) -> String {
        let file = self.dir.path().join(format!("ctr-run-{id}.log"));
        std::fs::read_to_string(file).unwrap_or_default()
    }

    /// Runs `args` inside container `id` (`ctr task exec`).
    pub fn exec(&self, id: &str, args: &[&str]) -> Finished {
        let exec_id = names::unique("exec");
        let fifo_dir = self.dir.path().join("fifo").display().to_string();
        let mut all = vec![
            "task",
            "exec",
            "--fifo-dir",
            &fifo_dir,
            "--exec-id",
            &exec_id,
            id,
        ];
        all.extend_from_slice(args);
        self.ctr(&all)
    }

    fn try_eth0(&self, id: &str) -> Option<(Option<String>, Option<String>)> {
        let done = self.exec(id, &["/bin/ip", "addr", "show", "dev", "eth0"]);
        done.ok().then(|| runtime::parse_eth0(&done.stdout_text()))
    }

    /// `(address/prefix, MAC)` of `eth0` inside container `id`.
    pub fn eth0(&self, id: &str) -> (String, String) {
        match self.try_eth0(id) {
            Some((Some(cidr), Some(mac))) => (cidr, mac),
            other => panic!("no IPv4 address or MAC on eth0 of {id}: {other:?}"),
        }
    }

    /// Pings `ip` from container `id` until a reply comes or the sandbox's
    /// reach timeout passes.
    pub fn ping(&self, id: &str, ip: &str) -> bool {
        let deadline = Instant::now() + crate::net::REACH_TIMEOUT;
        loop {
            if self.exec(id, &["/bin/ping", "-c", "1", "-W", "1", ip]).ok() {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Kills the task of `run`, as a user ending the container would, and
    /// waits for its `ctr run` to DEL and exit; returns `ctr run`'s output.
    pub fn kill(&self, run: &mut CtrRun) -> String {
        self.must(&["task", "kill", "-s", "SIGKILL", &run.id]);
        let deadline = Instant::now() + CTR_TIMEOUT;
        while run.child.try_wait().expect("waiting for ctr run").is_none() {
            assert!(
                Instant::now() < deadline,
                "ctr run {} still running {CTR_TIMEOUT:?} after its task was killed: {}",
                run.id,
                self.run_log(&run.id)
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        self.run_log(&run.id)
    }

    /// Ids of the containers containerd still has.
    pub fn containers(&self) -> Vec<String> {
        self.must(&["containers", "list", "--quiet"])
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// The verbs `ctr` sent the plugin so far (see [`runtime::write_plugin`]).
    pub fn calls(&self) -> Vec<String> {
        runtime::logged_calls(&self.dir.path().join("calls.log"))
    }
}

impl Drop for CtrRun {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let address = self.address.display().to_string();
            let _ = process::attempt(
                "ctr",
                &[
                    "--address",
                    &address,
                    "task",
                    "kill",
                    "-s",
                    "SIGKILL",
                    &self.id,
                ],
            );
            let deadline = Instant::now() + CTR_TIMEOUT;
            while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(100));
            }
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

impl Drop for Containerd {
    fn drop(&mut self) {
        let listed = self.ctr(&["containers", "list", "--quiet"]).stdout_text();
        for id in listed.lines() {
            let _ = self.ctr(&["task", "kill", "-s", "SIGKILL", id]);
            let _ = self.ctr(&["task", "delete", "--force", id]);
            let _ = self.ctr(&["containers", "delete", id]);
        }
        let pid = self.daemon.id().to_string();
        let _ = process::attempt("kill", &[&pid]);
        let deadline = Instant::now() + Duration::from_secs(10);
        while matches!(self.daemon.try_wait(), Ok(None)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        if matches!(self.daemon.try_wait(), Ok(None)) {
            let _ = self.daemon.kill();
        }
        let _ = self.daemon.wait();
        runtime::unmount_under(&self.dir);
    }
}
