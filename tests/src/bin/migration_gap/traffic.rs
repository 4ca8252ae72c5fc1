//! The stream a run carries through the migration: started before the
//! target exists, stopped once the migration is over, and what it saw.

use std::thread;
use std::time::Duration;

use e2e::stream::Stream;
use e2e::vm::GUEST_IF;

use crate::clock::InstantToWall;
use crate::iperf::Iperf;
use crate::options::Mode;
use crate::probe::Probe;
use crate::run::Run;

/// Port of the stream in the guest.
const PORT: u16 = 5201;
/// Bytes the paced stream must deliver before the migration (it flows)
/// and after it (it survived).
const AFTER_BYTES: u64 = 256 * 1024;
/// Warm-up of the iperf3 stream before the target is added (slow start
/// done, buffers full).
const IPERF_WARMUP: Duration = Duration::from_secs(1);

/// The traffic of one run.
pub enum Traffic {
    /// The e2e test's stream.
    Paced(Stream),
    /// A full-rate iperf3 test.
    Iperf(Iperf),
}

impl Traffic {
    /// Starts `mode`'s stream from the pod in `sender_ns` to the guest in
    /// `guest_ns` at `guest_ip`, with the probe at the guest's interface,
    /// and returns once it is flowing.
    pub fn start(
        mode: Mode,
        iperf_seconds: u64,
        guest_ns: &str,
        guest_ip: &str,
        sender_ns: &str,
    ) -> (Traffic, Probe) {
        match mode {
            Mode::Paced => {
                let probe = Probe::start(guest_ns, GUEST_IF, None);
                let s = Stream::start(guest_ns, guest_ip, PORT, sender_ns);
                assert!(
                    s.wait_received(AFTER_BYTES, Duration::from_secs(10)),
                    "stream flows"
                );
                (Traffic::Paced(s), probe)
            }
            Mode::Iperf3 => {
                let i = Iperf::start(guest_ns, guest_ip, PORT, sender_ns, iperf_seconds);
                // The probe also counts what iperf3 -s has read, so it
                // needs the server's pid.
                let probe = Probe::start(guest_ns, GUEST_IF, Some(i.server_pid()));
                thread::sleep(IPERF_WARMUP);
                (Traffic::Iperf(i), probe)
            }
        }
    }

    /// Waits for the stream to end (paced: to deliver [`AFTER_BYTES`]
    /// more), stops it and records its own view of the gap in `run`, with
    /// its reads on the wall clock through `clock`.
    pub fn finish(self, iperf_seconds: u64, clock: &InstantToWall, run: &mut Run) {
        match self {
            Traffic::Paced(stream) => {
                let after = stream.received();
                let flowing = stream.wait_received(after + AFTER_BYTES, Duration::from_secs(10));
                let report = stream.stop();
                run.stream_gap_ms = Some(report.longest_gap().as_secs_f64() * 1000.0);
                if !flowing || !report.is_unbroken() {
                    run.error = Some(format!("stream broken: {}", report.summary()));
                }
                run.stream_arrivals = report
                    .arrivals
                    .iter()
                    .map(|&(at, _)| clock.wall(at))
                    .collect();
            }
            Traffic::Iperf(iperf) => {
                let left =
                    Duration::from_secs(iperf_seconds + 5).saturating_sub(iperf.started.elapsed());
                let result = iperf.finish(left + Duration::from_secs(5));
                let (coarse, _) = result.longest_zero_run();
                run.stream_gap_ms = Some(coarse * 1000.0);
                run.iperf_retransmits = Some(result.retransmits);
                run.iperf_bytes = Some(result.bytes);
                if let Some(e) = result.error {
                    run.error = Some(format!("iperf3: {e}"));
                }
            }
        }
    }
}
