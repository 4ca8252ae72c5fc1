//! Virtual machines for live-migration tests, wired the way KubeVirt's
//! bridge binding wires them, without a hypervisor:
//!
//! ```text
//!  guest netns            launcher pod netns                 chassis netns
//!  eth0 (claim MAC) ==veth== tap --+ br0 +-- <CNI ifname> ==veth== port on br-int
//! ```
//!
//! A [`LauncherBridge`] turns the interface the plugin attached to a launcher
//! pod into a port of a linux bridge `br0` (its addresses removed and its MAC
//! changed, since the guest owns both now). A [`Guest`] is a namespace whose
//! `eth0` has the claim's MAC and takes its address by DHCP (busybox
//! `udhcpc`, Debian package `busybox-static`); its veth peer, the "tap",
//! is a port of a launcher's bridge. Live migration moves the tap into the
//! target launcher's bridge ([`Guest::move_to`]) and has the guest announce
//! itself ([`Guest::announce`]) as QEMU does when a migrated VM resumes:
//! a RARP, the only frame OVN's `activation-strategy=rarp` unblocks a port
//! on, a gratuitous ARP, and four more RARPs over 800 ms. The guest keeps
//! its ARP cache while the tap moves, as a VM whose NIC never loses its link
//! does (see `scripts/bench-migration` and BENCHMARKS.md for why it matters).
//!
//! [`Binding`] reads the southbound Port_Binding, to see on which chassis a
//! port is bound and whether a migration target was activated.

mod binding;
mod dhcp;
mod guest;
mod launcher;

use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use crate::{net, process};

pub use binding::Binding;
pub use dhcp::{DHCP6_PREFIX_LEN, Lease};
pub use guest::{Announced, Guest, QEMU_ANNOUNCE_INTERVALS};
pub use launcher::LauncherBridge;

/// Name of the launcher's bridge.
pub const BRIDGE: &str = "br0";
/// Name of the guest's interface.
pub const GUEST_IF: &str = "eth0";

/// True when `program` is a file in a directory of PATH (or of the sbin
/// directories a non-login shell's PATH may lack).
fn on_path(program: &str) -> bool {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin".into(), "/sbin".into()])
        .any(|d| d.join(program).is_file())
}

/// Panics with the package to install unless `busybox` is on PATH.
fn require_busybox() {
    assert!(
        on_path("busybox"),
        "busybox not found: the VM tests need `apt-get install busybox-static` (udhcpc, arping)"
    );
}

/// `ip -n <ns> args..`; panics on failure.
fn ip_in(ns: &str, args: &[&str]) {
    let mut all = vec!["-n", ns];
    all.extend_from_slice(args);
    process::must("ip", &all);
}

/// `ip -n <ns> args..` answered as soon as `ip` exits (the harness's
/// bounded runs poll for the exit every 5 ms): for the steps of a
/// migration, whose timing is measured. Bounded by 20 s; panics on failure.
fn ip_now(ns: &str, args: &[&str]) {
    let mut cmd = Command::new("ip");
    cmd.args(["-n", ns])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(Duration::from_secs(20)) {
        Ok(Ok(out)) if out.status.success() => {}
        Ok(Ok(out)) => panic!(
            "`ip -n {ns} {}` failed ({}): {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ),
        Ok(Err(e)) => panic!("`ip -n {ns} {}`: {e}", args.join(" ")),
        Err(_) => panic!("`ip -n {ns} {}` did not end within 20 s", args.join(" ")),
    }
}

/// Runs `args` in namespace `ns` (bounded by 20 s); panics on failure.
fn must_in(ns: &str, args: &[&str]) -> String {
    let done = net::exec_in(ns, args, &[], Duration::from_secs(20));
    assert!(
        done.ok(),
        "`{}` in {ns} failed ({:?}, timed out: {}): {}{}",
        args.join(" "),
        done.code,
        done.timed_out,
        done.stderr,
        done.stdout_text()
    );
    done.stdout_text()
}

/// Turns TX checksum offload off on `ifname` in `ns`: frames leave the
/// kernel into the userspace datapath with partial checksums otherwise, and
/// TCP stalls.
fn tx_offload_off(ns: &str, ifname: &str) {
    must_in(ns, &["ethtool", "-K", ifname, "tx", "off"]);
}
