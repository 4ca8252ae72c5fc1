//! `--json`: every run, its timeline in ms after the move, and the
//! distributions, for plotting or comparing runs later.

use serde_json::{Value, json};

use super::distribution;
use crate::clock::{Wall, ms_after};
use crate::options::{Mode, Options};
use crate::run::{Run, Timeline};

/// `t` in ms after `origin`, to 0.1 ms, or null.
fn opt_ms(t: Option<Wall>, origin: Wall) -> Value {
    t.map_or(Value::Null, |t| {
        json!((ms_after(t, origin) * 10.0).round() / 10.0)
    })
}

/// Every run and the distributions, for `--json`.
pub fn json(opts: &Options, runs: &[Run], load_before: &str, load_after: &str) -> Value {
    let runs_json: Vec<Value> = runs.iter().map(run_json).collect();
    json!({
        "options": options_json(opts),
        "load_before": load_before,
        "load_after": load_after,
        "summary": {"paced": summary_json(runs, Mode::Paced), "iperf3": summary_json(runs, Mode::Iperf3)},
        "runs": runs_json,
    })
}

/// The settings the runs were made with.
fn options_json(opts: &Options) -> Value {
    json!({
        "runs": opts.runs,
        "announce": if opts.qemu_announce { "qemu" } else { "once" },
        "downtime_ms": opts.downtime.as_millis() as u64,
        "del_after_ms": opts.del_after.as_millis() as u64,
        "del_early": opts.del_early,
        "no_activation_strategy": opts.no_activation_strategy,
        "iperf_seconds": opts.iperf_seconds,
        "sender_rto_min_ms": opts.sender_rto_min,
        "old_harness": opts.old_harness,
        "described": opts.describe(),
    })
}

/// One run's figures and timeline.
fn run_json(r: &Run) -> Value {
    json!({
        "mode": r.mode.name(),
        "run": r.index,
        "started_unix": r.started,
        "error": r.error,
        "gap_ms": r.gap_ms,
        "wire_gap_ms": r.wire_gap_ms,
        "stream_gap_ms": r.stream_gap_ms,
        "rtos": r.rtos(),
        "del_pause_ms": r.del_pause_ms(),
        "iperf_retransmits": r.iperf_retransmits,
        "iperf_bytes": r.iperf_bytes,
        "timeline": r.timeline.as_ref().map(|t| timeline_json(r, t)),
    })
}

/// The events of run `r`, in ms after the move.
fn timeline_json(r: &Run, t: &Timeline) -> Value {
    let o = t.move_start;
    let ctl = t.controller.clone().unwrap_or_default();
    let sb = t.sb.clone().unwrap_or_default();
    json!({
        "move_start_unix": t.move_start,
        "last_data_ms": opt_ms(t.pause.map(|p| p.0), o),
        "last_frame_ms": opt_ms(t.wire_pause.map(|p| p.0), o),
        "first_frame_ms": opt_ms(t.wire_pause.map(|p| p.1), o),
        "move_done_ms": opt_ms(t.move_done, o),
        "announced_ms": t.announced.iter().map(|(f, at)| json!([f, opt_ms(Some(*at), o)])).collect::<Vec<_>>(),
        "rarp_packet_in_ms": ctl.rarp_packet_ins.iter().map(|&at| opt_ms(Some(at), o)).collect::<Vec<_>>(),
        "unblocked_ms": opt_ms(ctl.unblocked, o),
        "sb_target_bound_ms": opt_ms(sb.target_bound, o),
        "sb_activated_ms": opt_ms(sb.activated, o),
        "activated_seen_ms": opt_ms(t.activated_seen, o),
        "del_start_ms": opt_ms(t.del_start, o),
        "del_done_ms": opt_ms(t.del_done, o),
        "target_main_ms": opt_ms(ctl.became_main, o),
        "sb_narrowed_ms": opt_ms(sb.narrowed, o),
        "retransmits": r.pause_retransmits().iter().map(|(at, k, n)| json!({"ms": opt_ms(Some(*at), o), "kind": k.name(), "segments": n})).collect::<Vec<_>>(),
        "first_data_ms": opt_ms(t.pause.map(|p| p.1), o),
        "tcp_before": t.tcp_before,
    })
}

/// The distributions of the runs with `mode`'s stream that succeeded.
fn summary_json(runs: &[Run], mode: Mode) -> Value {
    let ok: Vec<&Run> = runs
        .iter()
        .filter(|r| r.mode == mode && r.error.is_none())
        .collect();
    let d = |v: Vec<f64>| {
        distribution(&v)
            .map(|(a, b, c, d)| json!({"min": a, "median": b, "p90": c, "max": d, "n": v.len()}))
    };
    json!({
        "gap_ms": d(ok.iter().filter_map(|r| r.gap_ms).collect()),
        "wire_gap_ms": d(ok.iter().filter_map(|r| r.wire_gap_ms).collect()),
        "stream_gap_ms": d(ok.iter().filter_map(|r| r.stream_gap_ms).collect()),
        "rtos": d(ok.iter().map(|r| r.rtos() as f64).collect()),
        "del_pause_ms": d(ok.iter().filter_map(|r| r.del_pause_ms()).collect()),
    })
}
