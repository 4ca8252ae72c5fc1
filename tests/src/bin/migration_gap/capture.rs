//! `--tcpdump`: packet captures of a run, for looking at what the numbers
//! do not show (which segment was lost, who answered with a RST).

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::Duration;

/// `tcpdump` writing headers of one interface to a file; stopped on drop
/// (SIGINT through `kill`, so that it flushes).
pub struct Capture {
    child: Child,
}

impl Capture {
    /// Starts capturing `ifname` in namespace `ns` into `file`.
    pub fn start(ns: &str, ifname: &str, file: &Path) -> Capture {
        let child = Command::new("ip")
            .args([
                "netns", "exec", ns, "tcpdump", "-i", ifname, "-s", "128", "-U", "-w",
            ])
            .arg(file)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start tcpdump: {e}"));
        // tcpdump opens the interface after it started: give it the time,
        // so that the capture covers what comes next.
        thread::sleep(Duration::from_millis(300));
        Capture { child }
    }

    /// Captures of each `(namespace, interface, name)` of `interfaces`,
    /// into `dir/<tag>-<name>.pcap`, started in that order.
    pub fn start_all(dir: &Path, tag: &str, interfaces: &[(&str, &str, &str)]) -> Vec<Capture> {
        interfaces
            .iter()
            .map(|(ns, ifname, name)| {
                Capture::start(ns, ifname, &dir.join(format!("{tag}-{name}.pcap")))
            })
            .collect()
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        let pid = self.child.id().to_string();
        let _ = e2e::process::attempt("kill", &["-INT", &pid]);
        let _ = self.child.wait();
    }
}
