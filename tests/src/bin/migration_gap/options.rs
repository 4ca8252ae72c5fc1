//! The command line: which streams, how many runs, and the experiments
//! that change one step of the migration.

use std::path::PathBuf;
use std::time::Duration;

/// `--help`, and what a wrong argument prints after its error.
pub const USAGE: &str = "\
usage: migration_gap [N] [options]        (root; an OVN sandbox of 3 chassis)

  N                       migrations per stream kind (default 10)
  --mode paced|iperf3|both
                          which streams (default both, taking turns)
  --announce qemu|once    the guest's announcement: QEMU's five RARPs at 0,
                          50, 200, 450, 800 ms (default), or a single RARP
  --downtime MS           the tap stays out of any bridge this long before it
                          is plugged into the target's (a VM's pause; default 0)
  --del-after MS          DEL of the source this long after the target is
                          seen activated (default 0, as the e2e test does)
  --del-early             DEL the source right after the move, before the
                          guest announces itself (experiment)
  --no-activation-strategy
                          remove activation-strategy=rarp from the port right
                          after the target's ADD (experiment: the plugin not
                          setting it)
  --sender-rto-min MS     set rto_min on the sender pod's routes (experiment:
                          a lower minimum retransmission timeout)
  --old-harness           move and announce as the harness did before: four
                          `ip`/`ethtool` runs to plug the tap, then one RARP
                          from a freshly started sender, and the guest's ARP
                          cache flushed when its link drops (for comparison)
  --tcpdump DIR           capture the guest's eth0, the sender's interface and
                          the target launcher's bridge (headers, from just
                          before the move to the end of the run) into DIR
                          (needs tcpdump; for investigation)
  --iperf-seconds S       length of each iperf3 test (default 8)
  --no-trace              do not turn on ovn-controller's vconn debug log on
                          node2 (no packet-in/flow-mod times)
  --timeline              print every run's timeline, not only the table
  --json FILE             write every run and the summary as JSON to FILE
  --id-file FILE          write this run's name tag (in every namespace and
                          network it makes) to FILE, for cleanup by a caller
";

/// Which stream a run carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The e2e test's stream: 8 KiB every 5 ms through `nc`.
    Paced,
    /// `iperf3 -c` at full rate.
    Iperf3,
}

impl Mode {
    /// Its name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Paced => "paced",
            Mode::Iperf3 => "iperf3",
        }
    }
}

/// The command line, parsed; see [`USAGE`] for what each option does.
#[derive(Debug, Clone)]
pub struct Options {
    /// Migrations per stream kind (`N`).
    pub runs: usize,
    /// The streams, taking turns within each run number (`--mode`).
    pub modes: Vec<Mode>,
    /// QEMU's five RARPs rather than one (`--announce`).
    pub qemu_announce: bool,
    /// How long the tap stays out of any bridge (`--downtime`).
    pub downtime: Duration,
    /// Wait between the activation and the source's DEL (`--del-after`).
    pub del_after: Duration,
    /// DEL the source before the guest announces itself (`--del-early`).
    pub del_early: bool,
    /// Remove activation-strategy=rarp after the target's ADD
    /// (`--no-activation-strategy`).
    pub no_activation_strategy: bool,
    /// `rto_min` for the sender's routes, in ms (`--sender-rto-min`).
    pub sender_rto_min: Option<u64>,
    /// Move and announce as the harness used to (`--old-harness`).
    pub old_harness: bool,
    /// Where to write packet captures (`--tcpdump`).
    pub tcpdump: Option<PathBuf>,
    /// Length of each iperf3 test in seconds (`--iperf-seconds`).
    pub iperf_seconds: u64,
    /// Trace node2's ovn-controller (not `--no-trace`).
    pub trace: bool,
    /// Print every run's timeline (`--timeline`).
    pub timeline: bool,
    /// Where to write the JSON report (`--json`).
    pub json: Option<PathBuf>,
    /// Where to write the run's name tag (`--id-file`).
    pub id_file: Option<PathBuf>,
}

impl Default for Options {
    /// What a run without options does.
    fn default() -> Options {
        Options {
            runs: 10,
            modes: vec![Mode::Paced, Mode::Iperf3],
            qemu_announce: true,
            downtime: Duration::ZERO,
            del_after: Duration::ZERO,
            del_early: false,
            no_activation_strategy: false,
            sender_rto_min: None,
            old_harness: false,
            tcpdump: None,
            iperf_seconds: 8,
            trace: true,
            timeline: false,
            json: None,
            id_file: None,
        }
    }
}

impl Options {
    /// The settings in words, for reports.
    pub fn describe(&self) -> String {
        let mut parts = vec![
            if self.old_harness {
                "old harness (slow plug, one RARP, ARP cache flushed)".to_owned()
            } else if self.qemu_announce {
                "QEMU's announcement (5 RARPs)".to_owned()
            } else {
                "a single RARP".to_owned()
            },
            format!("downtime {} ms", self.downtime.as_millis()),
        ];
        if self.del_early {
            parts.push("source DELed right after the move".into());
        } else {
            parts.push(format!(
                "source DELed {} ms after the activation",
                self.del_after.as_millis()
            ));
        }
        if self.no_activation_strategy {
            parts.push("NO activation-strategy".into());
        }
        if let Some(ms) = self.sender_rto_min {
            parts.push(format!("sender rto_min {ms} ms"));
        }
        parts.join(", ")
    }
}

/// `v` as a number of milliseconds.
fn millis(v: Option<&String>) -> Result<Duration, String> {
    v.and_then(|v| v.parse::<u64>().ok())
        .map(Duration::from_millis)
        .ok_or_else(|| "expected milliseconds".to_owned())
}

/// The options in `args` (the command line without the program name), or
/// what is wrong with them.
pub fn parse_args(args: &[String]) -> Result<Options, String> {
    let mut o = Options::default();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--mode" => {
                o.modes = match it.next().map(String::as_str) {
                    Some("paced") => vec![Mode::Paced],
                    Some("iperf3") => vec![Mode::Iperf3],
                    Some("both") => vec![Mode::Paced, Mode::Iperf3],
                    _ => return Err("--mode paced|iperf3|both".into()),
                }
            }
            "--announce" => {
                o.qemu_announce = match it.next().map(String::as_str) {
                    Some("qemu") => true,
                    Some("once") => false,
                    _ => return Err("--announce qemu|once".into()),
                }
            }
            "--downtime" => o.downtime = millis(it.next())?,
            "--del-after" => o.del_after = millis(it.next())?,
            "--del-early" => o.del_early = true,
            "--no-activation-strategy" => o.no_activation_strategy = true,
            "--sender-rto-min" => {
                o.sender_rto_min = Some(millis(it.next())?.as_millis() as u64);
            }
            "--old-harness" => o.old_harness = true,
            "--tcpdump" => o.tcpdump = Some(it.next().ok_or("--tcpdump DIR")?.into()),
            "--iperf-seconds" => {
                o.iperf_seconds = it
                    .next()
                    .and_then(|v| v.parse().ok())
                    .filter(|&s| s >= 4)
                    .ok_or("--iperf-seconds S (at least 4)")?;
            }
            "--no-trace" => o.trace = false,
            "--timeline" => o.timeline = true,
            "--json" => o.json = Some(it.next().ok_or("--json FILE")?.into()),
            "--id-file" => o.id_file = Some(it.next().ok_or("--id-file FILE")?.into()),
            n if n.parse::<usize>().is_ok_and(|n| n > 0) => o.runs = n.parse().unwrap_or(10),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(o)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Options, String> {
        parse_args(&args.iter().map(|a| (*a).to_owned()).collect::<Vec<_>>())
    }

    #[test]
    fn defaults_to_ten_runs_of_both_streams() {
        let o = parse(&[]).expect("no arguments are fine");
        assert_eq!(o.runs, 10);
        assert_eq!(o.modes, [Mode::Paced, Mode::Iperf3]);
        assert!(o.qemu_announce && o.trace);
    }

    #[test]
    fn reads_a_count_and_options() {
        let o = parse(&[
            "3",
            "--mode",
            "iperf3",
            "--downtime",
            "40",
            "--sender-rto-min",
            "5",
        ])
        .expect("valid arguments");
        assert_eq!(o.runs, 3);
        assert_eq!(o.modes, [Mode::Iperf3]);
        assert_eq!(o.downtime, Duration::from_millis(40));
        assert_eq!(o.sender_rto_min, Some(5));
    }

    #[test]
    fn refuses_what_it_does_not_know() {
        assert!(parse(&["--mode", "udp"]).is_err());
        assert!(parse(&["--iperf-seconds", "2"]).is_err());
        assert!(parse(&["0"]).is_err());
        assert!(parse(&["--frobnicate"]).is_err());
    }
}
