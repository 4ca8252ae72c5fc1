//! Counters of one interface and of the TCP stack of a namespace, polled
//! every millisecond by a copy of this binary started inside that namespace
//! (`ip netns exec NS migration_gap probe IFNAME`): when frames reached the
//! guest, when the sender retransmitted and why, without tcpdump.
//!
//! The child keeps a sample each time a counter changed and prints them all
//! when its stdin closes, so it writes nothing while it measures.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Read, Seek, Write};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crate::clock::{Wall, now};

/// Time between two polls.
pub const POLL: Duration = Duration::from_millis(1);

/// The counters at one moment; a sample is kept only when one changed.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Sample {
    /// When the counters were read.
    pub at: Wall,
    /// The interface's `rx_bytes`.
    pub rx_bytes: u64,
    /// The interface's `rx_packets`.
    pub rx_packets: u64,
    /// The interface's `tx_bytes`.
    pub tx_bytes: u64,
    /// The interface's `tx_packets`.
    pub tx_packets: u64,
    /// `Tcp: RetransSegs`: segments retransmitted.
    pub retrans: u64,
    /// `TcpExt: TCPTimeouts`: retransmission timer expiries (RTO).
    pub timeouts: u64,
    /// `TcpExt: TCPLossProbes`: tail loss probes sent.
    pub loss_probes: u64,
    /// `TcpExt: TCPFastRetrans`: fast retransmits (dupacks, SACK, RACK).
    pub fast_retrans: u64,
    /// `rchar` of the watched process (`/proc/PID/io`): bytes it read, so
    /// the data the application got, in order (0 without a process).
    pub app_bytes: u64,
}

impl Sample {
    fn counters(&self) -> [u64; 9] {
        [
            self.rx_bytes,
            self.rx_packets,
            self.tx_bytes,
            self.tx_packets,
            self.retrans,
            self.timeouts,
            self.loss_probes,
            self.fast_retrans,
            self.app_bytes,
        ]
    }

    fn line(&self) -> String {
        let c = self.counters().map(|v| v.to_string());
        format!("{:.6} {}", self.at, c.join(" "))
    }

    fn parse(line: &str) -> Option<Sample> {
        let mut words = line.split_whitespace();
        let at: Wall = words.next()?.parse().ok()?;
        let v: Vec<u64> = words.map(|w| w.parse().ok()).collect::<Option<_>>()?;
        let [
            rx_bytes,
            rx_packets,
            tx_bytes,
            tx_packets,
            retrans,
            timeouts,
            loss_probes,
            fast_retrans,
            app_bytes,
        ] = v.as_slice().try_into().ok()?;
        Some(Sample {
            at,
            rx_bytes,
            rx_packets,
            tx_bytes,
            tx_packets,
            retrans,
            timeouts,
            loss_probes,
            fast_retrans,
            app_bytes,
        })
    }
}

/// A file re-read from its start at each poll.
struct Reread {
    file: File,
    text: String,
}

impl Reread {
    fn open(path: &str) -> Reread {
        let file = File::open(path).unwrap_or_else(|e| panic!("probe: cannot open {path}: {e}"));
        Reread {
            file,
            text: String::new(),
        }
    }

    fn read(&mut self) -> &str {
        self.text.clear();
        if self.file.rewind().is_ok() {
            let _ = self.file.read_to_string(&mut self.text);
        }
        &self.text
    }

    fn number(&mut self) -> u64 {
        self.read().trim().parse().unwrap_or(0)
    }
}

/// `name` from a `/proc/net/snmp`-style file: pairs of lines, `Prefix:`
/// and names, then `Prefix:` and values.
fn proc_field(text: &str, prefix: &str, name: &str) -> u64 {
    let mut lines = text.lines().filter(|l| l.starts_with(prefix));
    while let (Some(names), Some(values)) = (lines.next(), lines.next()) {
        if let Some(i) = names.split_whitespace().position(|n| n == name) {
            return values
                .split_whitespace()
                .nth(i)
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
        }
    }
    0
}

/// `rchar` in a `/proc/PID/io` text.
fn rchar(text: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix("rchar:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

/// The child: polls until stdin closes, then prints every sample; with
/// `pid`, also what that process read.
pub fn child(ifname: &str, pid: Option<&str>) {
    let mut io = pid.map(|pid| Reread::open(&format!("/proc/{pid}/io")));
    let stat = |name: &str| Reread::open(&format!("/sys/class/net/{ifname}/statistics/{name}"));
    let (mut rxb, mut rxp, mut txb, mut txp) = (
        stat("rx_bytes"),
        stat("rx_packets"),
        stat("tx_bytes"),
        stat("tx_packets"),
    );
    let mut snmp = Reread::open("/proc/net/snmp");
    let mut netstat = Reread::open("/proc/net/netstat");
    let done = Arc::new(AtomicBool::new(false));
    {
        let done = done.clone();
        thread::spawn(move || {
            let _ = std::io::stdin().read_to_end(&mut Vec::new());
            done.store(true, Ordering::SeqCst);
        });
    }
    let mut samples: Vec<Sample> = Vec::with_capacity(64 * 1024);
    let deadline = Instant::now() + Duration::from_secs(600);
    while !done.load(Ordering::SeqCst) && Instant::now() < deadline {
        let mut s = Sample {
            at: now(),
            rx_bytes: rxb.number(),
            rx_packets: rxp.number(),
            tx_bytes: txb.number(),
            tx_packets: txp.number(),
            ..Sample::default()
        };
        s.retrans = proc_field(snmp.read(), "Tcp:", "RetransSegs");
        let ext = netstat.read();
        s.timeouts = proc_field(ext, "TcpExt:", "TCPTimeouts");
        s.loss_probes = proc_field(ext, "TcpExt:", "TCPLossProbes");
        s.fast_retrans = proc_field(ext, "TcpExt:", "TCPFastRetrans");
        s.app_bytes = io.as_mut().map_or(0, |io| rchar(io.read()));
        if samples.last().is_none_or(|l| l.counters() != s.counters()) {
            samples.push(s);
        }
        thread::sleep(POLL);
    }
    let out = std::io::stdout();
    let mut out = BufWriter::new(out.lock());
    for s in &samples {
        let _ = writeln!(out, "{}", s.line());
    }
    let _ = out.flush();
}

/// A running probe in a namespace; dropping it kills the child.
pub struct Probe {
    child: Child,
    label: String,
}

impl Probe {
    /// Starts polling `ifname` and TCP in namespace `ns`, and what process
    /// `pid` reads if given.
    pub fn start(ns: &str, ifname: &str, pid: Option<u32>) -> Probe {
        let exe = std::env::current_exe().expect("path of this binary");
        let pid = pid.map(|p| p.to_string());
        let child = Command::new("ip")
            .args(["netns", "exec", ns])
            .arg(exe)
            .args(["probe", ifname])
            .args(pid.as_slice())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start the probe in {ns}: {e}"));
        Probe {
            child,
            label: format!("{ns}/{ifname}"),
        }
    }

    /// Stops polling and returns the samples, in time order.
    pub fn stop(mut self) -> Vec<Sample> {
        drop(self.child.stdin.take());
        let Some(out) = self.child.stdout.take() else {
            return Vec::new();
        };
        let samples: Vec<Sample> = BufReader::new(out)
            .lines()
            .map_while(Result::ok)
            .filter_map(|l| Sample::parse(&l))
            .collect();
        let _ = self.child.wait();
        assert!(!samples.is_empty(), "probe {} returned nothing", self.label);
        samples
    }
}

impl Drop for Probe {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Frames of at least this many bytes in one poll count as data (a TCP
/// segment at MTU 1400 is ~1400 bytes; ARP, RARP, DHCP are under 400).
pub const DATA_BYTES: u64 = 1000;

/// Times at which `counter` of the samples (`rx_bytes`: data arrived;
/// `tx_bytes`: data left; `app_bytes`: the watched process read data) grew
/// by at least [`DATA_BYTES`] since the previous sample.
pub fn data_at(samples: &[Sample], counter: fn(&Sample) -> u64) -> Vec<Wall> {
    samples
        .windows(2)
        .filter(|w| counter(&w[1]).saturating_sub(counter(&w[0])) >= DATA_BYTES)
        .map(|w| w[1].at)
        .collect()
}

/// Why a segment was retransmitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retransmit {
    /// The retransmission timer expired.
    Rto,
    /// A tail loss probe.
    Tlp,
    /// Fast retransmit (duplicate ACKs, SACK, RACK).
    Fast,
    /// Counted in RetransSegs only (e.g. the segments after an RTO's first).
    Other,
}

impl Retransmit {
    /// Short name for reports.
    pub fn name(self) -> &'static str {
        match self {
            Retransmit::Rto => "RTO",
            Retransmit::Tlp => "TLP",
            Retransmit::Fast => "fast",
            Retransmit::Other => "more",
        }
    }
}

/// Every poll in which the sender retransmitted: (when, why, how many).
pub fn retransmits(samples: &[Sample]) -> Vec<(Wall, Retransmit, u64)> {
    samples
        .windows(2)
        .filter_map(|w| {
            let (a, b) = (&w[0], &w[1]);
            let count = b.retrans.saturating_sub(a.retrans);
            let kind = if b.timeouts > a.timeouts {
                Retransmit::Rto
            } else if b.loss_probes > a.loss_probes {
                Retransmit::Tlp
            } else if b.fast_retrans > a.fast_retrans {
                Retransmit::Fast
            } else if count > 0 {
                Retransmit::Other
            } else {
                return None;
            };
            Some((b.at, kind, count))
        })
        .collect()
}
