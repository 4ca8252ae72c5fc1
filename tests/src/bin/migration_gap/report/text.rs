//! The report on the terminal: one line per run as it ends, with
//! `--timeline` its events one per line, and at the end the distributions
//! per stream and where the time goes.

use super::distribution;
use crate::clock::{Wall, ms_after};
use crate::options::{Mode, Options};
use crate::ovn_events::{ControllerEvents, SbEvents};
use crate::probe::{POLL, Retransmit};
use crate::run::{Run, Timeline};

/// `t` in ms after the move, `+12.3`.
fn rel(t: Option<Wall>, origin: Wall) -> String {
    t.map_or_else(
        || "-".to_owned(),
        |t| format!("{:+.1}", ms_after(t, origin)),
    )
}

/// Prints one run: a line, and with `timeline` its events one per line.
pub fn print_run(run: &Run, timeline: bool) {
    let head = format!("{:<6} {:>3}", run.mode.name(), run.index);
    if let Some(e) = &run.error {
        println!("{head}  FAILED: {}", e.lines().next().unwrap_or(""));
        if run.timeline.is_none() {
            return;
        }
    }
    let Some(t) = &run.timeline else { return };
    print_run_line(&head, run, t);
    if !timeline {
        return;
    }
    let o = t.move_start;
    for (at, what) in timeline_events(run, t) {
        println!(
            "        {:>9} ms  {what}",
            format!("{:+.1}", ms_after(at, o))
        );
    }
}

/// The run's figures and the times of its main events on one line.
fn print_run_line(head: &str, run: &Run, t: &Timeline) {
    let o = t.move_start;
    let ctl = t.controller.clone().unwrap_or_default();
    let sb = t.sb.clone().unwrap_or_default();
    let retrans: Vec<String> = run
        .pause_retransmits()
        .iter()
        .map(|(at, k, n)| {
            format!(
                "{}{}{}",
                rel(Some(*at), o),
                k.name(),
                if *n > 1 {
                    format!("x{n}")
                } else {
                    String::new()
                }
            )
        })
        .collect();
    let second = match run.mode {
        Mode::Paced => "stream",
        Mode::Iperf3 => "0.1s",
    };
    println!(
        "{head}  gap {:>7} ms (wire {:>5}, {second} {:>5})  pause {}..{}  rarp {}  pkt-in {}  unblocked {}  sb-activated {}  del {}..{}  retransmits [{}]  {}",
        run.gap_ms.map_or("-".into(), |g| format!("{g:.1}")),
        run.wire_gap_ms.map_or("-".into(), |g| format!("{g:.0}")),
        run.stream_gap_ms.map_or("-".into(), |g| format!("{g:.0}")),
        rel(t.pause.map(|p| p.0), o),
        rel(t.pause.map(|p| p.1), o),
        rel(t.first_rarp(), o),
        rel(ctl.rarp_packet_ins.first().copied(), o),
        rel(ctl.unblocked, o),
        rel(sb.activated, o),
        rel(t.del_start, o),
        rel(t.del_done, o),
        retrans.join(" "),
        t.tcp_before,
    );
}

/// Every event of the run in words, in the order they happened.
fn timeline_events(run: &Run, t: &Timeline) -> Vec<(Wall, String)> {
    let mut events: Vec<(Wall, String)> = Vec::new();
    let mut add = |at: Option<Wall>, what: String| {
        if let Some(at) = at {
            events.push((at, what));
        }
    };
    add(
        t.pause.map(|p| p.0),
        "last data read by the receiver".into(),
    );
    add(
        t.wire_pause.map(|p| p.0),
        "last data frame at the guest's interface".into(),
    );
    add(
        t.wire_pause.map(|p| p.1),
        "first data frame at the guest's interface again".into(),
    );
    add(
        Some(t.move_start),
        "tap leaves the source launcher's bridge".into(),
    );
    add(t.move_done, "tap up in the target launcher's bridge".into());
    add_announcements(&mut add, t);
    let ctl = t.controller.clone().unwrap_or_default();
    let sb = t.sb.clone().unwrap_or_default();
    add_activation(&mut add, t, &ctl, &sb);
    add_sender(&mut add, run, t);
    add(
        t.pause.map(|p| p.1),
        "first data read by the receiver again".into(),
    );
    events.sort_by(|a, b| a.0.total_cmp(&b.0));
    events
}

/// The frames the guest announced itself with.
fn add_announcements(add: &mut impl FnMut(Option<Wall>, String), t: &Timeline) {
    let mut rarps = 0;
    for (frame, at) in &t.announced {
        let what = if frame == "rarp" {
            rarps += 1;
            format!("guest sent RARP {rarps}")
        } else {
            format!("guest sent {}", frame.to_uppercase())
        };
        add(Some(*at), what);
    }
}

/// The target's activation as OVN saw it, and the source's DEL.
fn add_activation(
    add: &mut impl FnMut(Option<Wall>, String),
    t: &Timeline,
    ctl: &ControllerEvents,
    sb: &SbEvents,
) {
    for at in &ctl.rarp_packet_ins {
        add(Some(*at), "node2 ovn-controller: RARP packet-in".into());
    }
    add(
        ctl.unblocked,
        "node2 ovn-controller: drop flows deleted (port active)".into(),
    );
    add(
        sb.activated,
        "SB: additional-chassis-activated=node2".into(),
    );
    add(
        t.activated_seen,
        "test sees the activation (SB poll)".into(),
    );
    add(t.del_start, "DEL of the source launcher starts".into());
    add(t.del_done, "DEL of the source launcher answered".into());
    add(
        ctl.became_main,
        "node2 ovn-controller: main chassis now".into(),
    );
    add(sb.narrowed, "SB: bound on node2 only".into());
}

/// What the sender did during the pause: data it sent (lost on the way)
/// and its retransmissions.
fn add_sender(add: &mut impl FnMut(Option<Wall>, String), run: &Run, t: &Timeline) {
    if let Some((from, to)) = t.pause {
        let sends: Vec<String> = t
            .sender_sends
            .iter()
            .filter(|&&at| at > from && at < to)
            .map(|&at| format!("{:+.1}", ms_after(at, t.move_start)))
            .collect();
        if !sends.is_empty() {
            add(
                Some(from),
                format!(
                    "(sender sent data during the pause at [{}])",
                    sends.join(" ")
                ),
            );
        }
    }
    for (at, kind, n) in run.pause_retransmits() {
        add(
            Some(at),
            format!("sender retransmits {n} segment(s) ({})", kind.name()),
        );
    }
}

/// The mean of `values`, if there are any.
fn mean(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

/// Per-run latencies of the steps, in ms: (name, values).
fn steps(runs: &[&Run]) -> Vec<(&'static str, Vec<f64>)> {
    let mut out: Vec<(&'static str, Vec<f64>)> = vec![
        ("last data -> tap move", Vec::new()),
        ("tap move -> tap up in target", Vec::new()),
        ("tap move -> first RARP sent", Vec::new()),
        ("RARP sent -> ovn-controller packet-in", Vec::new()),
        ("packet-in -> drop flows deleted", Vec::new()),
        ("RARP sent -> SB activated", Vec::new()),
        ("last data -> first retransmission", Vec::new()),
        ("last RTO -> data in guest", Vec::new()),
    ];
    for run in runs {
        let Some(t) = &run.timeline else { continue };
        let ctl = t.controller.clone().unwrap_or_default();
        let sb = t.sb.clone().unwrap_or_default();
        let rarp = t.first_rarp();
        let pin = ctl.rarp_packet_ins.first().copied();
        let rt = run.pause_retransmits();
        let pairs = [
            (t.pause.map(|p| p.0), Some(t.move_start)),
            (Some(t.move_start), t.move_done),
            (Some(t.move_start), rarp),
            (rarp, pin),
            (pin, ctl.unblocked),
            (rarp, sb.activated),
            (t.pause.map(|p| p.0), rt.first().map(|r| r.0)),
            (
                rt.iter()
                    .filter(|r| r.1 == Retransmit::Rto)
                    .rfind(|r| t.pause.is_some_and(|p| r.0 <= p.1 + 0.002))
                    .map(|r| r.0),
                t.pause.map(|p| p.1),
            ),
        ];
        for (i, (a, b)) in pairs.into_iter().enumerate() {
            if let (Some(a), Some(b)) = (a, b) {
                out[i].1.push(ms_after(b, a));
            }
        }
    }
    out
}

/// min, median, p90 and max in columns, or `-`.
fn fmt4(d: Option<(f64, f64, f64, f64)>) -> String {
    d.map_or_else(
        || "-".into(),
        |(a, b, c, d)| format!("{a:8.1} {b:8.1} {c:8.1} {d:8.1}"),
    )
}

/// A row of the table: `label`, the count and the distribution of `values`.
fn row(label: &str, values: &[f64]) -> String {
    format!(
        "{:<34} {:>3} {}",
        label,
        values.len(),
        fmt4(distribution(values))
    )
}

/// Prints the distributions per stream kind.
pub fn print_summary(opts: &Options, runs: &[Run], load_before: &str, load_after: &str) {
    println!();
    println!(
        "live-migration gap, {} run(s) per stream, {}; load {load_before} -> {load_after}",
        opts.runs,
        opts.describe(),
    );
    println!(
        "gap: longest pause of the data the receiver read (paced: its reads; iperf3: iperf3 -s's reads, polled every {} ms)",
        POLL.as_millis()
    );
    println!();
    println!(
        "{:<34} {:>3} {:>8} {:>8} {:>8} {:>8}",
        "", "n", "min", "median", "p90", "max"
    );
    for mode in [Mode::Paced, Mode::Iperf3] {
        print_stream_rows(runs, mode);
    }
    println!();
    println!("where the time goes (ms, all runs):");
    let all: Vec<&Run> = runs.iter().filter(|r| r.timeline.is_some()).collect();
    for (name, values) in steps(&all) {
        println!(
            "  {:<40} {:>3} {}   mean {}",
            name,
            values.len(),
            fmt4(distribution(&values)),
            mean(&values).map_or("-".into(), |m| format!("{m:.1}"))
        );
    }
}

/// The rows of the runs with `mode`'s stream, if there were any: the gap
/// as the receiver saw it, at the wire, as the stream itself reports it,
/// around the DEL, and the RTOs; failed runs are counted, not measured.
fn print_stream_rows(runs: &[Run], mode: Mode) {
    let of: Vec<&Run> = runs.iter().filter(|r| r.mode == mode).collect();
    if of.is_empty() {
        return;
    }
    let ok: Vec<&Run> = of.iter().copied().filter(|r| r.error.is_none()).collect();
    let (label, label2) = match mode {
        Mode::Paced => (
            "paced stream (8 KiB / 5 ms)",
            "  ... longest gap of the whole stream",
        ),
        Mode::Iperf3 => ("iperf3 full rate", "  ... empty 0.1 s intervals"),
    };
    let gaps: Vec<f64> = ok.iter().filter_map(|r| r.gap_ms).collect();
    println!("{}   (ms)", row(label, &gaps));
    let wire: Vec<f64> = ok.iter().filter_map(|r| r.wire_gap_ms).collect();
    println!("{}", row("  ... frames at the guest's interface", &wire));
    let second: Vec<f64> = ok.iter().filter_map(|r| r.stream_gap_ms).collect();
    println!("{}", row(label2, &second));
    let del: Vec<f64> = ok.iter().filter_map(|r| r.del_pause_ms()).collect();
    println!("{}", row("  ... longest pause around the DEL", &del));
    let rtos: Vec<f64> = ok.iter().map(|r| r.rtos() as f64).collect();
    println!("{}", row("  ... RTOs in the pause", &rtos));
    if of.len() > ok.len() {
        println!("  {} run(s) failed", of.len() - ok.len());
    }
}
