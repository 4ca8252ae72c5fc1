//! One run's figures and timeline: what a migration measured, before any
//! of it is printed.

use crate::clock::Wall;
use crate::options::Mode;
use crate::ovn_events::{ControllerEvents, SbEvents};
use crate::probe::Retransmit;

/// A pause counts toward the migration if it ends after the move started
/// and starts before this many seconds after it.
const WINDOW: f64 = 5.0;
/// Retransmissions up to this many seconds after a pause are its.
const AFTER: f64 = 0.05;

/// Everything timed in one run, on the wall clock.
#[derive(Debug, Default, Clone)]
pub struct Timeline {
    /// The tap starts leaving the source's bridge: the origin of the times.
    pub move_start: Wall,
    /// The tap is up in the target's bridge.
    pub move_done: Option<Wall>,
    /// The frames the guest announced itself with, in order.
    pub announced: Vec<(String, Wall)>,
    /// The target's ovn-controller (if traced).
    pub controller: Option<ControllerEvents>,
    /// The southbound Port_Binding.
    pub sb: Option<SbEvents>,
    /// The test saw the binding activated on node2 (SB poll every 20 ms).
    pub activated_seen: Option<Wall>,
    /// DEL of the source launcher: start and answer.
    pub del_start: Option<Wall>,
    /// See `del_start`.
    pub del_done: Option<Wall>,
    /// Polls at which data reached the guest's interface.
    pub data_arrivals: Vec<Wall>,
    /// When the receiving application got data: the paced stream's reads,
    /// or the polls at which iperf3 -s had read more.
    pub app_reads: Vec<Wall>,
    /// The sender's retransmissions: when, why, how many segments.
    pub retransmits: Vec<(Wall, Retransmit, u64)>,
    /// Polls at which the sender's interface sent data (>= 1000 bytes).
    pub sender_sends: Vec<Wall>,
    /// `ss -ti` of the sender's connection just before the move.
    pub tcp_before: String,
    /// Last data the application read before, and first after, its
    /// longest pause around the move.
    pub pause: Option<(Wall, Wall)>,
    /// The same at the guest's interface (frames, in order or not).
    pub wire_pause: Option<(Wall, Wall)>,
}

impl Timeline {
    /// When the guest sent its first RARP.
    pub fn first_rarp(&self) -> Option<Wall> {
        self.announced
            .iter()
            .find(|(f, _)| f == "rarp")
            .map(|&(_, at)| at)
    }
}

/// The longest pause between two of `times` that ends after `origin` and
/// starts less than [`WINDOW`] after it.
fn longest_pause(times: &[Wall], origin: Wall) -> Option<(Wall, Wall)> {
    times
        .windows(2)
        .filter(|w| w[1] > origin && w[0] < origin + WINDOW)
        .map(|w| (w[0], w[1]))
        .max_by(|a, b| (a.1 - a.0).total_cmp(&(b.1 - b.0)))
}

/// One run of the migration.
#[derive(Debug, Clone)]
pub struct Run {
    /// Which stream.
    pub mode: Mode,
    /// 1-based run number.
    pub index: usize,
    /// When it started.
    pub started: Wall,
    /// Why it failed, if it did.
    pub error: Option<String>,
    /// Longest pause of the data the receiving application got, around
    /// the move (ms; iperf3: at the probe's 1 ms polling).
    pub gap_ms: Option<f64>,
    /// Longest pause of data frames at the guest's interface (ms, 1 ms
    /// polls): shorter when segments arrive out of order behind a hole.
    pub wire_gap_ms: Option<f64>,
    /// Paced: the stream receiver's longest gap (what the e2e test
    /// reports). iperf3: the longest run of empty 0.1 s intervals.
    pub stream_gap_ms: Option<f64>,
    /// iperf3: retransmissions the client counted.
    pub iperf_retransmits: Option<u64>,
    /// iperf3: bytes the server received.
    pub iperf_bytes: Option<u64>,
    /// Paced: every read of the receiver.
    pub stream_arrivals: Vec<Wall>,
    /// Where the time went.
    pub timeline: Option<Timeline>,
}

impl Run {
    /// A run under way.
    pub fn new(mode: Mode, index: usize, started: Wall) -> Run {
        Run {
            mode,
            index,
            started,
            error: None,
            gap_ms: None,
            wire_gap_ms: None,
            stream_gap_ms: None,
            iperf_retransmits: None,
            iperf_bytes: None,
            stream_arrivals: Vec::new(),
            timeline: None,
        }
    }

    /// A run that panicked with `why`.
    pub fn failed(mode: Mode, index: usize, started: Wall, why: String) -> Run {
        let mut run = Run::new(mode, index, started);
        run.error = Some(why);
        run
    }

    /// Computes the gap from the timeline and keeps it.
    pub fn finish(&mut self, mut t: Timeline) {
        t.pause = longest_pause(&t.app_reads, t.move_start);
        t.wire_pause = longest_pause(&t.data_arrivals, t.move_start);
        self.gap_ms = t.pause.map(|(a, b)| (b - a) * 1000.0);
        self.wire_gap_ms = t.wire_pause.map(|(a, b)| (b - a) * 1000.0);
        if self.gap_ms.is_none() && self.error.is_none() {
            self.error = Some("no data reached the guest after the move".into());
        }
        self.timeline = Some(t);
    }

    /// The retransmissions during the pause and in the [`AFTER`] seconds
    /// after it (those that filled the holes the pause left).
    pub fn pause_retransmits(&self) -> Vec<(Wall, Retransmit, u64)> {
        let Some(t) = &self.timeline else {
            return Vec::new();
        };
        let Some((from, to)) = t.pause else {
            return Vec::new();
        };
        t.retransmits
            .iter()
            .filter(|(at, _, _)| *at > from && *at <= to + AFTER)
            .copied()
            .collect()
    }

    /// The longest pause of data at the guest that overlaps the source's
    /// DEL and the 200 ms after its answer (ms): whether narrowing the
    /// binding to the target disturbs the stream.
    pub fn del_pause_ms(&self) -> Option<f64> {
        let t = self.timeline.as_ref()?;
        let (from, to) = (t.del_start?, t.del_done? + 0.2);
        t.app_reads
            .windows(2)
            .filter(|w| w[1] > from && w[0] < to)
            .map(|w| (w[1] - w[0]) * 1000.0)
            .max_by(f64::total_cmp)
    }

    /// Retransmission timeouts during the pause.
    pub fn rtos(&self) -> usize {
        self.pause_retransmits()
            .iter()
            .filter(|(_, k, _)| *k == Retransmit::Rto)
            .count()
    }
}
