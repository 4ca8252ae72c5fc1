//! Opening the socket to one remote, retrying while the server is alive but
//! cannot take the connection yet.
//!
//! A single-threaded ovsdb-server accepts connections between requests, so
//! when dozens of CNI calls start at once its listen backlog fills up and a
//! unix `connect(2)` fails with `EAGAIN` (measured: 27 of 100 parallel ADDs).
//! Those are retried with a growing, randomised pause until the remote's
//! deadline. Other failures are final at once: a missing socket, a refused
//! permission or a bad address will not change in the next second, and the
//! plugin's DEL with the NB down relies on failing fast.

use std::future::Future;
use std::io;
use std::path::Path;
use std::time::Duration;

use tokio::net::{TcpStream, UnixStream};
use tokio::time::Instant;

use crate::Jitter;

/// The first pause after a failed attempt; it doubles with each attempt.
const FIRST_PAUSE: Duration = Duration::from_millis(5);

/// The longest pause between attempts: long enough to let a busy server
/// drain its backlog, short enough to notice soon after it has.
const MAX_PAUSE: Duration = Duration::from_millis(200);

/// How long a refused connection is retried when the remote is the only
/// one. On Linux a full TCP backlog drops the SYN (the connect waits) and a
/// full unix backlog gives `EAGAIN`, so a refusal means nobody listens: the
/// server is down or restarting (or died and left its socket file). A
/// second covers a restart without making a DEL with the NB down wait
/// long. With other remotes (a clustered NB) a refused one is left at
/// once: another member can answer now.
const REFUSED_PATIENCE: Duration = Duration::from_secs(1);

/// Busy retries stop this long before the remote's deadline, so the caller
/// reads the last connect error rather than a bare timeout, and a late
/// success still has a moment for its first round trip.
const LAST_WORD: Duration = Duration::from_millis(100);

/// Until when each kind of retried failure is retried, for one remote.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RetryUntil {
    /// `EAGAIN`: the server's listen backlog is full.
    busy: Instant,
    /// `ECONNREFUSED`: nobody listens, perhaps only for a moment.
    refused: Instant,
}

impl RetryUntil {
    /// The limits for a remote tried from now until `deadline`; `lone`
    /// when it is the only remote of the list.
    pub(crate) fn new(deadline: Instant, lone: bool) -> RetryUntil {
        let now = Instant::now();
        let refused = if lone { now + REFUSED_PATIENCE } else { now };
        let busy = deadline.checked_sub(LAST_WORD).unwrap_or(now).max(now);
        RetryUntil {
            busy,
            refused: refused.min(busy),
        }
    }

    /// Until when a connect that failed with `error` is retried; `None`
    /// when it is not retried at all.
    fn for_error(&self, error: &io::Error) -> Option<Instant> {
        match error.kind() {
            // EAGAIN: std maps it to WouldBlock.
            io::ErrorKind::WouldBlock => Some(self.busy),
            io::ErrorKind::ConnectionRefused => Some(self.refused),
            _ => None,
        }
    }
}

/// Connects to a unix socket, retrying while the server is busy.
pub(crate) async fn unix(path: &Path, remote: &str, until: RetryUntil) -> io::Result<UnixStream> {
    retrying(remote, until, || UnixStream::connect(path)).await
}

/// Connects a TCP stream (also the one under TLS), retrying while the
/// server is busy, with TCP_NODELAY set: requests are small and
/// latency-bound.
pub(crate) async fn tcp(
    host: &str,
    port: u16,
    remote: &str,
    until: RetryUntil,
) -> io::Result<TcpStream> {
    let stream = retrying(remote, until, || TcpStream::connect((host, port))).await?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// Runs `connect` until it succeeds, fails for good, or its failure's
/// retry limit has passed; then returns the last error, which says how
/// many attempts it took if there were several.
async fn retrying<T, F, Fut>(remote: &str, until: RetryUntil, mut connect: F) -> io::Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = io::Result<T>>,
{
    let started = Instant::now();
    let mut jitter = Jitter::seeded();
    let mut attempt: u32 = 1;
    loop {
        let error = match connect().await {
            Ok(stream) => return Ok(stream),
            Err(error) => error,
        };
        let Some(limit) = until.for_error(&error) else {
            return Err(error);
        };
        let now = Instant::now();
        if now >= limit {
            return Err(given_up(error, attempt, started.elapsed()));
        }
        // The last attempt is made at the limit itself, not a pause before.
        let pause = pause(&mut jitter, attempt).min(limit - now);
        tracing::debug!(
            remote,
            attempt,
            error = %error,
            pause_ms = pause.as_millis(),
            "OVSDB connect failed, retrying"
        );
        tokio::time::sleep(pause).await;
        attempt = attempt.saturating_add(1);
    }
}

/// The last error, with the attempts made when there were several: the
/// kind is kept, the text tells the operator the server was busy for long.
fn given_up(error: io::Error, attempts: u32, elapsed: Duration) -> io::Error {
    if attempts <= 1 {
        return error;
    }
    let ms = elapsed.as_millis();
    io::Error::new(
        error.kind(),
        format!("{error} ({attempts} attempts in {ms} ms)"),
    )
}

/// The pause after failed attempt `attempt` (from 1): a ceiling that
/// doubles from [`FIRST_PAUSE`] up to [`MAX_PAUSE`], and a random time
/// between half of it and all of it. Not from zero ("full jitter"):
/// near-zero pauses would hammer a server that is already behind.
fn pause(jitter: &mut Jitter, attempt: u32) -> Duration {
    let doublings = attempt.saturating_sub(1).min(16);
    let ceiling = FIRST_PAUSE.saturating_mul(1 << doublings).min(MAX_PAUSE);
    let half = u64::try_from(ceiling.as_micros() / 2).unwrap_or(u64::MAX);
    Duration::from_micros(half + jitter.next_u64() % (half + 1))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn pauses_double_from_5ms_to_200ms_with_jitter() {
        let mut jitter = Jitter::seeded();
        for (attempt, ceiling_ms) in [(1, 5), (2, 10), (3, 20), (6, 160), (7, 200), (40, 200)] {
            let ceiling = Duration::from_millis(ceiling_ms);
            for _ in 0..100 {
                let pause = pause(&mut jitter, attempt);
                assert!(
                    pause >= ceiling / 2 && pause <= ceiling,
                    "{attempt}: {pause:?}"
                );
            }
        }
        let pauses: std::collections::HashSet<_> = (0..20).map(|_| pause(&mut jitter, 7)).collect();
        assert!(pauses.len() > 10, "not random: {pauses:?}");
    }

    #[tokio::test(flavor = "current_thread")]
    async fn only_busy_and_refused_are_retried() {
        let deadline = Instant::now() + Duration::from_secs(5);
        let lone = RetryUntil::new(deadline, true);
        let busy = io::Error::from(io::ErrorKind::WouldBlock);
        assert_eq!(lone.for_error(&busy), Some(lone.busy));
        let refused = io::Error::from(io::ErrorKind::ConnectionRefused);
        assert_eq!(lone.for_error(&refused), Some(lone.refused));
        assert!(lone.refused < lone.busy && lone.busy < deadline);
        for kind in [io::ErrorKind::NotFound, io::ErrorKind::PermissionDenied] {
            assert_eq!(lone.for_error(&io::Error::from(kind)), None, "{kind:?}");
        }
        // With other remotes to try, a refusal is not waited out.
        let listed = RetryUntil::new(deadline, false);
        assert!(listed.refused <= Instant::now());
    }

    #[tokio::test(flavor = "current_thread")]
    async fn gives_up_at_the_limit_with_the_last_error_and_the_count() {
        let until = RetryUntil::new(Instant::now() + LAST_WORD + Duration::from_millis(60), true);
        let mut calls = 0;
        let started = Instant::now();
        let result: io::Result<()> = retrying("unix:/busy", until, || {
            calls += 1;
            std::future::ready(Err(io::Error::from(io::ErrorKind::WouldBlock)))
        })
        .await;
        let error = result.unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::WouldBlock);
        assert!(
            error.to_string().contains(&format!("{calls} attempts")),
            "{error}"
        );
        assert!(calls > 2, "{calls}");
        assert!(started.elapsed() >= Duration::from_millis(60));
    }
}
