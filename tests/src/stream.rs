//! A steady TCP stream between two namespaces that records when bytes
//! arrive, so a test can show that a connection survived an event (a live
//! migration): never reset, bytes still flowing afterwards, and how long the
//! longest pause was.
//!
//! The sender (`nc` in the client namespace) is fed a fixed pattern at a
//! steady rate; the receiver (`nc -l` in the server namespace) hands every
//! byte to a thread that timestamps it and checks the pattern, so a lost,
//! duplicated or corrupted byte is seen too. Both processes are killed by pid
//! when the [`Stream`] drops, also while a test unwinds.

use std::io::{Read, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crate::net;

/// Bytes the sender writes per tick.
const CHUNK: usize = 8 * 1024;
/// Time between two chunks: about 1.6 MB/s, so arrivals are a few ms apart
/// and any pause longer than that is the network's, not ours.
const TICK: Duration = Duration::from_millis(5);

/// The byte at stream offset `offset` (251 is prime, so a shifted stream
/// never matches by chance).
fn pattern(offset: u64) -> u8 {
    (offset % 251) as u8
}

/// What the receiving side saw; shared with its reader thread.
#[derive(Debug, Default)]
struct Received {
    /// (when, total bytes so far) for every read.
    arrivals: Vec<(Instant, u64)>,
    /// Offset of the first byte that broke the pattern.
    corrupt_at: Option<u64>,
    /// When the receiver saw end of stream, and whether [`Stream::stop`] had
    /// been asked for by then.
    eof: Option<(Instant, bool)>,
}

/// A running TCP stream from a client namespace to a server namespace.
#[derive(Debug)]
pub struct Stream {
    /// Where it goes, for messages: `client_ns -> server_ip:port`.
    pub label: String,
    /// When the connection was started.
    pub started: Instant,
    receiver: Child,
    sender: Child,
    stopping: Arc<AtomicBool>,
    total: Arc<AtomicU64>,
    received: Arc<Mutex<Received>>,
    reader: Option<JoinHandle<()>>,
    writer: Option<JoinHandle<WriteOutcome>>,
    stopped: bool,
}

/// How the sender's feeding thread ended.
#[derive(Debug, Default, Clone)]
struct WriteOutcome {
    sent: u64,
    error: Option<String>,
}

impl Stream {
    /// Starts `nc -l` on `port` in `server_ns`, connects to it from
    /// `client_ns` at `server_ip`, and starts feeding it; panics if the
    /// listener never comes up.
    pub fn start(server_ns: &str, server_ip: &str, port: u16, client_ns: &str) -> Stream {
        let family = if server_ip.contains(':') { "-6" } else { "-4" };
        let port_text = port.to_string();
        // `ip netns exec` execs nc itself, so the child's pid is nc's.
        let mut receiver = Command::new("ip")
            .args([
                "netns", "exec", server_ns, "nc", family, "-l", "-n", &port_text,
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start nc listener in {server_ns}: {e}"));
        let stopping = Arc::new(AtomicBool::new(false));
        let total = Arc::new(AtomicU64::new(0));
        let received = Arc::new(Mutex::new(Received::default()));
        let reader = {
            let out = receiver.stdout.take().expect("stdout was piped");
            let (stopping, total, received) = (stopping.clone(), total.clone(), received.clone());
            thread::spawn(move || read_stream(out, &stopping, &total, &received))
        };
        let label = format!("{client_ns} -> {server_ip}:{port}");
        if let Err(e) = wait_listening(server_ns, port) {
            let _ = receiver.kill();
            let _ = receiver.wait();
            let _ = reader.join();
            panic!("stream {label}: {e}");
        }
        let mut sender = Command::new("ip")
            .args([
                "netns", "exec", client_ns, "nc", "-n", "-N", server_ip, &port_text,
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start nc sender in {client_ns}: {e}"));
        let writer = {
            let input = sender.stdin.take().expect("stdin was piped");
            let stopping = stopping.clone();
            thread::spawn(move || feed(input, &stopping))
        };
        Stream {
            label,
            started: Instant::now(),
            receiver,
            sender,
            stopping,
            total,
            received,
            reader: Some(reader),
            writer: Some(writer),
            stopped: false,
        }
    }

    /// Bytes received so far.
    pub fn received(&self) -> u64 {
        self.total.load(Ordering::Relaxed)
    }

    /// Waits until at least `total` bytes have been received in all; false
    /// if `timeout` passes first or the stream ended.
    pub fn wait_received(&self, total: u64, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if self.received() >= total {
                return true;
            }
            if Instant::now() >= deadline || self.lock().eof.is_some() {
                return false;
            }
            thread::sleep(Duration::from_millis(5));
        }
    }

    /// Stops feeding, lets the receiver drain to end of stream (bounded),
    /// and reports what happened.
    pub fn stop(mut self) -> StreamReport {
        self.stopping.store(true, Ordering::SeqCst);
        // The writer closes nc's stdin when it sees the flag; nc -N then
        // sends FIN and the listener sees end of stream once all arrived.
        // A writer stuck on a stalled connection is freed by killing nc.
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.writer.as_ref().is_some_and(|w| !w.is_finished()) && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(10));
        }
        if self.writer.as_ref().is_some_and(|w| !w.is_finished()) {
            let _ = self.sender.kill();
        }
        let outcome = self
            .writer
            .take()
            .and_then(|w| w.join().ok())
            .unwrap_or_default();
        let receiver_exited = wait_exit(&mut self.receiver, Duration::from_secs(10));
        let _ = wait_exit(&mut self.sender, Duration::from_secs(5));
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        self.stopped = true;
        let got = std::mem::take(&mut *self.lock());
        let received = got.arrivals.last().map_or(0, |&(_, n)| n);
        StreamReport {
            label: self.label.clone(),
            started: self.started,
            received,
            sent: outcome.sent,
            arrivals: got.arrivals,
            corrupt_at: got.corrupt_at,
            ended_early: got.eof.is_some_and(|(_, asked)| !asked),
            drained: receiver_exited && received == outcome.sent,
            sender_error: outcome.error,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Received> {
        self.received.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for Stream {
    fn drop(&mut self) {
        if self.stopped {
            return;
        }
        self.stopping.store(true, Ordering::SeqCst);
        for child in [&mut self.sender, &mut self.receiver] {
            let _ = child.kill();
            let _ = child.wait();
        }
        // With both processes gone, the writer gets EPIPE and the reader EOF.
        if let Some(w) = self.writer.take() {
            let _ = w.join();
        }
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
    }
}

/// Reader thread: timestamps and checks every byte until end of stream.
fn read_stream(
    mut out: impl Read,
    stopping: &AtomicBool,
    total: &AtomicU64,
    received: &Mutex<Received>,
) {
    let mut buf = vec![0u8; 64 * 1024];
    let mut offset = 0u64;
    loop {
        let n = out.read(&mut buf).unwrap_or(0);
        let now = Instant::now();
        let mut got = received.lock().unwrap_or_else(|e| e.into_inner());
        if n == 0 {
            got.eof = Some((now, stopping.load(Ordering::SeqCst)));
            return;
        }
        if got.corrupt_at.is_none() {
            got.corrupt_at = buf[..n]
                .iter()
                .zip(offset..)
                .find(|&(&b, at)| b != pattern(at))
                .map(|(_, at)| at);
        }
        offset += n as u64;
        got.arrivals.push((now, offset));
        total.store(offset, Ordering::Relaxed);
    }
}

/// Writer thread: one chunk per tick until asked to stop or nc is gone;
/// dropping `input` at the end closes nc's stdin.
fn feed(mut input: ChildStdin, stopping: &AtomicBool) -> WriteOutcome {
    let mut outcome = WriteOutcome::default();
    let mut chunk = vec![0u8; CHUNK];
    let mut next = Instant::now();
    while !stopping.load(Ordering::SeqCst) {
        for (byte, at) in chunk.iter_mut().zip(outcome.sent..) {
            *byte = pattern(at);
        }
        if let Err(e) = input.write_all(&chunk) {
            outcome.error = Some(format!("writing to nc: {e}"));
            break;
        }
        outcome.sent += CHUNK as u64;
        next += TICK;
        thread::sleep(next.saturating_duration_since(Instant::now()));
    }
    outcome
}

/// Waits up to `timeout` for `child` to exit, then kills it; true if it
/// exited by itself.
fn wait_exit(child: &mut Child, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(_)) => return true,
            Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(10)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return false;
            }
        }
    }
}

fn wait_listening(ns: &str, port: u16) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(5);
    let filter = format!("sport = :{port}");
    while Instant::now() < deadline {
        let ss = net::exec_in(ns, &["ss", "-Hltn", &filter], &[], Duration::from_secs(5));
        if ss.ok() && !ss.stdout_text().trim().is_empty() {
            return Ok(());
        }
        thread::sleep(Duration::from_millis(20));
    }
    Err(format!("nc never listened on port {port} in {ns}"))
}

/// A pause in a stream: no byte arrived from `from` for `length`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gap {
    /// Arrival of the last byte before the pause.
    pub from: Instant,
    /// How long no byte arrived.
    pub length: Duration,
}

/// What a stopped [`Stream`] went through.
#[derive(Debug, Clone)]
pub struct StreamReport {
    /// `client_ns -> server_ip:port`.
    pub label: String,
    /// When the stream was started.
    pub started: Instant,
    /// Bytes the receiver got.
    pub received: u64,
    /// Bytes handed to the sender.
    pub sent: u64,
    /// (when, total bytes so far) for every read by the receiver.
    pub arrivals: Vec<(Instant, u64)>,
    /// Stream offset of the first byte that broke the pattern, if any.
    pub corrupt_at: Option<u64>,
    /// The connection ended before [`Stream::stop`] (a reset, or nc died).
    pub ended_early: bool,
    /// After the stop the receiver got every byte sent and saw a clean end.
    pub drained: bool,
    /// Why the sender could not be fed (it died: reset or refused).
    pub sender_error: Option<String>,
}

impl StreamReport {
    /// The longest pause between two arrivals (zero with fewer than two).
    pub fn longest_gap(&self) -> Duration {
        self.gaps().map(|g| g.length).max().unwrap_or_default()
    }

    /// The longest pause that ended after `after` (e.g. the moment of a
    /// migration), so the wait for the connection to start does not count.
    pub fn longest_gap_after(&self, after: Instant) -> Option<Gap> {
        self.gaps()
            .filter(|g| g.from + g.length > after)
            .max_by_key(|g| g.length)
    }

    /// Every pause between two consecutive arrivals.
    pub fn gaps(&self) -> impl Iterator<Item = Gap> + '_ {
        self.arrivals.windows(2).map(|w| Gap {
            from: w[0].0,
            length: w[1].0 - w[0].0,
        })
    }

    /// Bytes that arrived after `at`.
    pub fn bytes_after(&self, at: Instant) -> u64 {
        let before = self
            .arrivals
            .iter()
            .take_while(|&&(when, _)| when <= at)
            .last()
            .map_or(0, |&(_, total)| total);
        self.received - before
    }

    /// One line for the test log: bytes, duration, longest gap.
    pub fn summary(&self) -> String {
        let span = match (self.arrivals.first(), self.arrivals.last()) {
            (Some(first), Some(last)) => last.0 - first.0,
            _ => Duration::ZERO,
        };
        format!(
            "stream {}: {} of {} bytes in {:.3} s, longest gap {:.3} s, ended early: {}, \
             corrupt at: {:?}, sender error: {:?}",
            self.label,
            self.received,
            self.sent,
            span.as_secs_f64(),
            self.longest_gap().as_secs_f64(),
            self.ended_early,
            self.corrupt_at,
            self.sender_error
        )
    }

    /// True when the connection was never broken: no early end, no sender
    /// error, no corrupted byte, and every byte sent arrived.
    pub fn is_unbroken(&self) -> bool {
        !self.ended_early
            && self.sender_error.is_none()
            && self.corrupt_at.is_none()
            && self.drained
    }

    /// Panics (with [`StreamReport::summary`]) unless [`StreamReport::is_unbroken`].
    pub fn assert_unbroken(&self) {
        assert!(self.is_unbroken(), "connection broken: {}", self.summary());
    }
}
