//! `migration_gap`: the longest pause of a TCP stream to a VM while it
//! live-migrates between chassis, measured N times with the paced stream of
//! the end-to-end test and with a full-rate `iperf3` stream, and where the
//! time goes. Run by `scripts/bench-migration` (which brings up a sandbox
//! and builds everything); needs root, an OVN sandbox of 3 chassis and the
//! plugin binary, found as the e2e tests find them (`OVN_SANDBOX_DIR`,
//! `OVN_SANDBOX_NS_PREFIX`, `OVN_UDN_CNI_BIN`).
//!
//! One run is the scenario of `tests/tests/vms.rs`: a guest behind a
//! launcher bridge on chassis 1 takes the claim's address by DHCP, a pod on
//! chassis 3 streams TCP to it, a target launcher is ADDed on chassis 2
//! (`requested-chassis=node1,node2`, `activation-strategy=rarp`), the tap
//! moves into the target's bridge, the guest announces itself as QEMU does
//! (RARP, gratuitous ARP, four more RARPs over 800 ms), the binding is
//! activated on node2 and the source launcher is DELed.
//!
//! The gap is measured at the guest's interface: a probe inside the guest
//! (and one inside the sender) polls interface and TCP counters every
//! millisecond (see `probe.rs`); the gap is the longest time between two
//! polls that saw data arrive, around the migration. The paced stream's
//! own receiver timestamps (what the test asserts on) and iperf3's 0.1 s
//! intervals are reported beside it.
//!
//! The modules, in the order a run uses them: `options` (the command
//! line), `scene` (network, launchers, guest, sender), `traffic` (the
//! stream), `migration` (one run, step by step), the observers (`probe`,
//! `ovn_events`, `capture`, on the one `clock`), `run` (what a run
//! measured) and `report` (text and JSON).

mod capture;
mod clock;
mod iperf;
mod migration;
mod options;
mod ovn_events;
mod probe;
mod report;
mod run;
mod scene;
mod traffic;

use std::panic::{self, AssertUnwindSafe};

use e2e::{names, sandbox};

use clock::now;
use options::{Mode, Options, USAGE, parse_args};
use run::Run;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("probe") {
        probe::child(
            args.get(1).map_or("eth0", String::as_str),
            args.get(2).map(String::as_str),
        );
        return;
    }
    if args.iter().any(|a| a == "-h" || a == "--help") {
        print!("{USAGE}");
        return;
    }
    let opts = match parse_args(&args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("migration_gap: {e}\n{USAGE}");
            std::process::exit(2);
        }
    };
    if let Some(file) = &opts.id_file {
        std::fs::write(file, names::run_id()).expect("writing the id file");
    }
    let sb = sandbox();
    assert!(
        sb.nodes >= 3,
        "the migration needs 3 chassis, the sandbox has {}",
        sb.nodes
    );

    let load_before = loadavg();
    let runs = run_all(&opts);
    let load_after = loadavg();
    report::print_summary(&opts, &runs, &load_before, &load_after);
    if let Some(file) = &opts.json {
        let doc = report::json(&opts, &runs, &load_before, &load_after);
        std::fs::write(file, serde_json::to_string_pretty(&doc).unwrap_or_default())
            .expect("writing the JSON report");
    }
    if runs.iter().any(|r| r.error.is_some()) {
        std::process::exit(1);
    }
}

/// Every run the options ask for, the stream kinds taking turns, each
/// printed as it ends. A run that panics is recorded as failed and the
/// next one goes on: its guards have cleaned up while it unwound.
fn run_all(opts: &Options) -> Vec<Run> {
    let mut runs: Vec<Run> = Vec::new();
    for index in 1..=opts.runs {
        for &mode in &opts.modes {
            let run = run_caught(opts, mode, index);
            report::print_run(&run, opts.timeline);
            runs.push(run);
        }
    }
    runs
}

/// [`migration::run_once`], with a panic turned into a failed run.
fn run_caught(opts: &Options, mode: Mode, index: usize) -> Run {
    let started = now();
    let outcome = panic::catch_unwind(AssertUnwindSafe(|| migration::run_once(opts, mode, index)));
    outcome.unwrap_or_else(|e| {
        let why = e
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| e.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_else(|| "panic".to_owned());
        Run::failed(mode, index, started, why)
    })
}

/// The load averages (1, 5, 15 min), reported beside the figures: a busy
/// host can lengthen the gap.
fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}
