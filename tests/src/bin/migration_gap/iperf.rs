//! A full-rate `iperf3` TCP stream: the server in the guest (reporting
//! every 0.1 s), the client in the peer pod (`-i 0.1 --json`).

use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use e2e::net;
use serde_json::Value;

/// Reporting interval of both ends.
pub const INTERVAL: &str = "0.1";

/// A running iperf3 test; dropping it kills both ends.
pub struct Iperf {
    server: Child,
    client: Child,
    server_out: Option<JoinHandle<String>>,
    client_out: Option<JoinHandle<String>>,
    /// When the client was started.
    pub started: Instant,
}

impl Iperf {
    /// The pid of `iperf3 -s` (`ip netns exec` execs it).
    pub fn server_pid(&self) -> u32 {
        self.server.id()
    }
}

/// What iperf3 reported.
#[derive(Debug, Default, Clone)]
pub struct IperfResult {
    /// The server's (receiver's) intervals: (start s, end s, bytes).
    pub received: Vec<(f64, f64, u64)>,
    /// Bytes the server received in all.
    pub bytes: u64,
    /// Retransmissions the client counted.
    pub retransmits: u64,
    /// An error either end reported.
    pub error: Option<String>,
}

fn spawn_collecting(mut cmd: Command, what: &str) -> (Child, JoinHandle<String>) {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
    let mut out = child.stdout.take().expect("stdout was piped");
    let reader = thread::spawn(move || {
        let mut text = String::new();
        let _ = out.read_to_string(&mut text);
        text
    });
    (child, reader)
}

fn wait_listening(ns: &str, port: u16) {
    let deadline = Instant::now() + Duration::from_secs(5);
    let filter = format!("sport = :{port}");
    while Instant::now() < deadline {
        let ss = net::exec_in(ns, &["ss", "-Hltn", &filter], &[], Duration::from_secs(5));
        if ss.ok() && !ss.stdout_text().trim().is_empty() {
            return;
        }
        thread::sleep(Duration::from_millis(20));
    }
    panic!("iperf3 never listened on port {port} in {ns}");
}

impl Iperf {
    /// Starts `iperf3 -s` in `server_ns` and a `seconds`-long client from
    /// `client_ns` to `server_ip`.
    pub fn start(
        server_ns: &str,
        server_ip: &str,
        port: u16,
        client_ns: &str,
        seconds: u64,
    ) -> Iperf {
        let port_text = port.to_string();
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", server_ns, "iperf3", "-s", "-1", "--json"])
            .args(["-i", INTERVAL, "-p", &port_text]);
        let (server, server_out) = spawn_collecting(cmd, "iperf3 -s");
        wait_listening(server_ns, port);
        let mut cmd = Command::new("ip");
        cmd.args([
            "netns", "exec", client_ns, "iperf3", "--json", "-c", server_ip,
        ])
        .args(["-p", &port_text, "-i", INTERVAL, "-t", &seconds.to_string()]);
        let (client, client_out) = spawn_collecting(cmd, "iperf3 -c");
        Iperf {
            server,
            client,
            server_out: Some(server_out),
            client_out: Some(client_out),
            started: Instant::now(),
        }
    }

    /// Waits (up to `timeout`) for the test to end and parses both reports.
    pub fn finish(mut self, timeout: Duration) -> IperfResult {
        let deadline = Instant::now() + timeout;
        for child in [&mut self.client, &mut self.server] {
            while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
                thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        let text =
            |h: Option<JoinHandle<String>>| h.and_then(|h| h.join().ok()).unwrap_or_default();
        let server: Value = serde_json::from_str(&text(self.server_out.take())).unwrap_or_default();
        let client: Value = serde_json::from_str(&text(self.client_out.take())).unwrap_or_default();
        let received = server["intervals"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|i| {
                let sum = &i["sum"];
                (
                    sum["start"].as_f64().unwrap_or(0.0),
                    sum["end"].as_f64().unwrap_or(0.0),
                    sum["bytes"].as_u64().unwrap_or(0),
                )
            })
            .collect();
        let error = [&client, &server]
            .iter()
            .find_map(|v| v["error"].as_str().map(str::to_owned))
            .or_else(|| {
                client
                    .is_null()
                    .then(|| "no JSON from iperf3 -c".to_owned())
            });
        IperfResult {
            received,
            bytes: server["end"]["sum_received"]["bytes"]
                .as_u64()
                .or_else(|| client["end"]["sum_received"]["bytes"].as_u64())
                .unwrap_or(0),
            retransmits: client["end"]["sum_sent"]["retransmits"]
                .as_u64()
                .unwrap_or(0),
            error,
        }
    }
}

impl Drop for Iperf {
    fn drop(&mut self) {
        for child in [&mut self.client, &mut self.server] {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl IperfResult {
    /// The longest run of consecutive 0.1 s server intervals with no byte,
    /// as (seconds, start of the run): a gap measured at 0.1 s resolution
    /// (the real pause is between that and 0.2 s more).
    pub fn longest_zero_run(&self) -> (f64, f64) {
        let mut best = (0.0, 0.0);
        let mut run: Option<(f64, f64)> = None;
        for &(start, end, bytes) in &self.received {
            if bytes == 0 {
                let (from, _) = run.unwrap_or((start, start));
                run = Some((from, end));
                if end - from > best.0 {
                    best = (end - from, from);
                }
            } else {
                run = None;
            }
        }
        best
    }
}
