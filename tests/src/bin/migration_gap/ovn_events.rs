//! What OVN did, with times: the target chassis' ovn-controller (its
//! OpenFlow traffic, logged by `vconn` at debug level while a migration is
//! traced) and the southbound Port_Binding (`ovsdb-client --timestamp
//! monitor`).

use std::fs;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};

use e2e::process;
use e2e::sandbox;

use crate::clock::{Wall, parse_utc};

/// ovn-controller of one chassis with `vconn` logging to its file at debug
/// level, from [`ControllerTrace::start`] to [`ControllerTrace::stop`] (or
/// drop), which restores the level it found.
pub struct ControllerTrace {
    ctl: String,
    log: PathBuf,
    offset: u64,
    level: String,
    restored: bool,
}

/// What the target's ovn-controller did about the guest's announcement.
#[derive(Debug, Default, Clone)]
pub struct ControllerEvents {
    /// Packet-ins of a RARP from the guest's MAC (the activation punt).
    pub rarp_packet_ins: Vec<Wall>,
    /// Flow-mods deleting the port's "drop all but RARP" ingress flow
    /// (table 0, priority 1000): the port unblocked.
    pub unblocked: Option<Wall>,
    /// `Changing chassis for lport ... to` this chassis (the source's DEL
    /// made the target the main chassis).
    pub became_main: Option<Wall>,
}

impl ControllerTrace {
    /// Starts tracing chassis `node`'s ovn-controller.
    pub fn start(node: usize) -> ControllerTrace {
        let dir = sandbox().dir.join(format!("node{node}"));
        let ctl = dir.join("ovn-controller.ctl").display().to_string();
        let log = dir.join("ovn-controller.log");
        let list = process::must("ovs-appctl", &["-t", &ctl, "vlog/list"]);
        // "vconn   OFF   INFO   INFO": console, syslog, file.
        let level = list
            .lines()
            .find(|l| l.split_whitespace().next() == Some("vconn"))
            .and_then(|l| l.split_whitespace().nth(3))
            .unwrap_or("INFO")
            .to_lowercase();
        let offset = fs::metadata(&log).map(|m| m.len()).unwrap_or(0);
        process::must("ovs-appctl", &["-t", &ctl, "vlog/set", "vconn:file:dbg"]);
        ControllerTrace {
            ctl,
            log,
            offset,
            level,
            restored: false,
        }
    }

    fn restore(&mut self) {
        if !self.restored {
            self.restored = true;
            let level = format!("vconn:file:{}", self.level);
            let _ = process::attempt("ovs-appctl", &["-t", &self.ctl, "vlog/set", &level]);
        }
    }

    /// Stops tracing; the events about the guest with MAC `mac`.
    pub fn stop(mut self, mac: &str) -> ControllerEvents {
        self.restore();
        let text = fs::read(&self.log).unwrap_or_default();
        let start = usize::try_from(self.offset).unwrap_or(0).min(text.len());
        parse_controller_log(&String::from_utf8_lossy(&text[start..]), mac)
    }
}

impl Drop for ControllerTrace {
    fn drop(&mut self) {
        self.restore();
    }
}

/// The events of [`ControllerEvents`] in a stretch of ovn-controller log.
fn parse_controller_log(text: &str, mac: &str) -> ControllerEvents {
    let mac = mac.to_lowercase();
    let mut events = ControllerEvents::default();
    let mut at: Option<Wall> = None;
    let mut in_packet_in = false;
    for line in text.lines() {
        // OVS truncates its log times to the millisecond: take the middle.
        if let Some(t) = parse_utc(line) {
            at = Some(t + 0.0005);
            in_packet_in = line.contains("PACKET_IN");
            if line.contains("|binding|") && line.contains("Changing chassis for lport") {
                events.became_main = events.became_main.or(at);
            }
        }
        let Some(t) = at else { continue };
        if in_packet_in && line.starts_with("rarp,") && line.contains(&format!("dl_src={mac}")) {
            events.rarp_packet_ins.push(t);
            in_packet_in = false;
        }
        if line.contains("DEL_STRICT priority=1000,in_port=") {
            events.unblocked = events.unblocked.or(Some(t));
        }
    }
    events
}

/// `ovsdb-client --timestamp monitor` of the southbound Port_Binding
/// table, kept running in the background; killed on drop.
pub struct SbMonitor {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
    reader: Option<JoinHandle<()>>,
}

/// When the southbound Port_Binding of the claim's port changed.
#[derive(Debug, Default, Clone)]
pub struct SbEvents {
    /// `additional_chassis` set: bound on the target too.
    pub target_bound: Option<Wall>,
    /// `options:additional-chassis-activated` set by the target.
    pub activated: Option<Wall>,
    /// `additional_chassis` emptied again after that: the source's DEL.
    pub narrowed: Option<Wall>,
}

impl SbMonitor {
    /// Starts monitoring.
    pub fn start() -> SbMonitor {
        let remote = format!("unix:{}", sandbox().dir.join("sb.sock").display());
        let mut child = Command::new("ovsdb-client")
            .args(["--timestamp", "--format=list", "monitor", &remote])
            .args([
                "OVN_Southbound",
                "Port_Binding",
                "logical_port,chassis,additional_chassis,options",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start ovsdb-client monitor: {e}"));
        let out = child.stdout.take().expect("stdout was piped");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let reader = {
            let lines = lines.clone();
            thread::spawn(move || {
                for line in BufReader::new(out).lines().map_while(Result::ok) {
                    lines.lock().unwrap_or_else(|e| e.into_inner()).push(line);
                }
            })
        };
        SbMonitor {
            child,
            lines,
            reader: Some(reader),
        }
    }

    /// Whether the monitor has printed its initial contents (it is
    /// watching).
    pub fn ready(&self) -> bool {
        !self
            .lines
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_empty()
    }

    /// The events of logical port `lsp` so far.
    pub fn events(&self, lsp: &str) -> SbEvents {
        let lines = self.lines.lock().unwrap_or_else(|e| e.into_inner());
        parse_monitor(&lines, lsp)
    }
}

impl Drop for SbMonitor {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
    }
}

/// One `--format=list` row: `column : value` lines until a blank line.
fn parse_monitor(lines: &[String], lsp: &str) -> SbEvents {
    let mut events = SbEvents::default();
    let mut at: Option<Wall> = None;
    let mut row: Vec<(String, String)> = Vec::new();
    let mut flush = |row: &mut Vec<(String, String)>, at: Option<Wall>| {
        let get = |k: &str| {
            row.iter()
                .find(|(c, _)| c == k)
                .map(|(_, v)| v.as_str())
                .unwrap_or("")
        };
        let new_state = matches!(get("action"), "new" | "insert" | "initial");
        if let (true, true, Some(t)) = (new_state, get("logical_port") == lsp, at) {
            let additional = get("additional_chassis");
            let has_target = !additional.is_empty() && additional != "[]";
            if has_target && events.target_bound.is_none() {
                events.target_bound = Some(t);
            }
            if get("options").contains("additional-chassis-activated=") {
                events.activated = events.activated.or(Some(t));
            }
            if !has_target && events.activated.is_some() {
                events.narrowed = events.narrowed.or(Some(t));
            }
        }
        row.clear();
    };
    for line in lines {
        if let Some(t) = parse_utc(line) {
            flush(&mut row, at);
            at = Some(t + 0.0005);
        } else if line.trim().is_empty() {
            flush(&mut row, at);
        } else if let Some((column, value)) = line.split_once(':') {
            let column = column.trim();
            // A new row starts at its `row` line.
            if column == "row" {
                flush(&mut row, at);
            }
            row.push((column.to_owned(), value.trim().to_owned()));
        }
    }
    flush(&mut row, at);
    events
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rarp_punt_and_the_unblocking_are_found_in_the_log() {
        let log = "\
2026-11-30T14:53:24.641Z|00010|vconn(ovn_pinctrl0)|DBG|unix:x: received: NXT_PACKET_IN2 (OF1.5) (xid=0x0): cookie=0x1 total_len=60
 userdata=00.00.00.1a.00.00.00.00
rarp,vlan_tci=0x0000,dl_src=0a:58:0a:5f:00:02,dl_dst=ff:ff:ff:ff:ff:ff,arp_op=3
2026-11-30T14:53:24.642Z|00211|vconn|DBG|unix:x: sent (Success): OFPT_BUNDLE_ADD_MESSAGE (OF1.5) (xid=0x221):
 bundle_id=0x13 flags=atomic ordered
OFPT_FLOW_MOD (OF1.5) (xid=0x221): DEL_STRICT priority=1000,in_port=4 actions=drop
2026-11-30T14:53:24.686Z|00218|binding|INFO|Changing chassis for lport p from node1 to node2.
";
        let e = parse_controller_log(log, "0A:58:0A:5F:00:02");
        assert_eq!(e.rarp_packet_ins.len(), 1);
        assert!((e.unblocked.expect("unblocked") - e.rarp_packet_ins[0] - 0.001).abs() < 1e-6);
        assert!(e.became_main.is_some());
    }

    #[test]
    fn binding_changes_are_found_in_the_monitor_output() {
        let text = "\
2026-11-30 14:54:14.059
row                 : 0966
action              : initial
logical_port        : p
chassis             : 11
additional_chassis  : []
options             : {requested-chassis=node1}

2026-11-30 14:54:14.569
row                 : 0966
action              : old
logical_port        : 
additional_chassis  : 
options             : {requested-chassis=node1}

row                 : 
action              : new
logical_port        : p
chassis             : 11
additional_chassis  : [22]
options             : {activation-strategy=rarp, requested-chassis=\"node1,node2\"}

2026-11-30 14:54:15.000
row                 : 0966
action              : old
options             : {}

row                 : 
action              : new
logical_port        : p
chassis             : 11
additional_chassis  : [22]
options             : {activation-strategy=rarp, additional-chassis-activated=node2}

2026-11-30 14:54:15.500
row                 : 0966
action              : new
logical_port        : p
chassis             : 22
additional_chassis  : []
options             : {requested-chassis=node2}
";
        let lines: Vec<String> = text.lines().map(str::to_owned).collect();
        let e = parse_monitor(&lines, "p");
        let t0 = parse_utc("2026-11-30 14:54:14.000").expect("time");
        let rel = |t: Option<Wall>| t.map(|t| ((t - t0) * 1000.0).floor() as i64);
        assert_eq!(rel(e.target_bound), Some(569));
        assert_eq!(rel(e.activated), Some(1000));
        assert_eq!(rel(e.narrowed), Some(1500));
    }
}
