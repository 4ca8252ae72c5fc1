//! Connecting to a server too busy to accept: a full listen backlog
//! (EAGAIN on a unix socket) is waited out; a missing socket fails at once.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io;
use std::path::Path;
use std::time::{Duration, Instant};

use common::TempDir;
use common::fake::{self, Answer, FakeServer};
use ovsdb::{Client, Error};
use serde_json::json;
use tokio::net::{UnixListener, UnixSocket, UnixStream};

/// How long the server leaves its backlog full before it starts accepting.
const BUSY_FOR: Duration = Duration::from_millis(100);

/// A listener whose backlog is as small as the kernel allows, then filled
/// until a connect fails with EAGAIN; returns the queued connections too
/// (closing them would free the backlog).
async fn full_listener(path: &Path) -> (UnixListener, Vec<UnixStream>) {
    let socket = UnixSocket::new_stream().unwrap();
    socket.bind(path).unwrap();
    let listener = socket.listen(0).unwrap();
    let mut queued = Vec::new();
    loop {
        // tokio connects without blocking: a full backlog is an error, not a wait.
        match UnixStream::connect(path).await {
            Ok(stream) => queued.push(stream),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) => panic!("unexpected connect error: {e}"),
        }
        assert!(queued.len() < 1000, "the backlog never filled");
    }
    (listener, queued)
}

#[tokio::test(flavor = "current_thread")]
async fn a_full_backlog_is_waited_out() {
    let dir = TempDir::new("busy");
    let path = dir.path().join("busy.sock");
    let (listener, _queued) = full_listener(&path).await;
    let remote = format!("unix:{}", path.display());
    let started = Instant::now();
    let connecting = tokio::spawn(async move { Client::connect(&remote).await });
    tokio::time::sleep(BUSY_FOR).await;
    assert!(
        !connecting.is_finished(),
        "gave up on a busy server: {:?}",
        connecting.await
    );
    // The server gets round to accepting: the queued connections first,
    // then the client's once a retry finds room.
    let server = tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            tokio::spawn(fake::serve(stream, |_, _| Answer::Result(json!([]))));
        }
    });
    let client = tokio::time::timeout(Duration::from_secs(5), connecting)
        .await
        .expect("connect must succeed once the server accepts")
        .unwrap()
        .unwrap();
    let elapsed = started.elapsed();
    assert!(elapsed >= BUSY_FOR, "{elapsed:?}");
    // The backoff is capped at 200 ms: the connect follows the accept soon.
    assert!(elapsed < BUSY_FOR + Duration::from_secs(1), "{elapsed:?}");
    client.echo().await.unwrap();
    server.abort();
}

#[tokio::test(flavor = "current_thread")]
async fn a_missing_socket_fails_at_once() {
    let dir = TempDir::new("missing");
    let lone = format!("unix:{}", dir.path().join("nope.sock").display());
    let two = format!("{lone},unix:{}", dir.path().join("nope2.sock").display());
    for remotes in [lone, two] {
        let started = Instant::now();
        let err = Client::connect(&remotes).await.unwrap_err();
        let elapsed = started.elapsed();
        assert!(
            elapsed < Duration::from_millis(200),
            "{remotes}: {elapsed:?}"
        );
        match err {
            Error::Connect { reason, .. } => {
                assert!(reason.contains("No such file"), "{reason}");
                assert!(!reason.contains("attempts"), "retried: {reason}");
            }
            other => panic!("expected Error::Connect, got {other:?}"),
        }
    }
}

/// A socket file nobody listens on (a server that died): connect is
/// refused. Alone it is retried for about a second, in case the server is
/// restarting; in a list, the next remote is tried at once.
#[tokio::test(flavor = "current_thread")]
async fn a_refused_connection_is_retried_briefly_and_only_when_alone() {
    let dir = TempDir::new("refused");
    let path = dir.path().join("dead.sock");
    drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
    let dead = format!("unix:{}", path.display());

    let started = Instant::now();
    let err = Client::connect(&dead).await.unwrap_err();
    let elapsed = started.elapsed();
    let text = err.to_string();
    assert!(text.contains(&dead) && text.contains("refused"), "{text}");
    assert!(text.contains("attempts"), "not retried: {text}");
    assert!(elapsed >= Duration::from_millis(900), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(2), "{elapsed:?}");

    // The next remote answers the _Server check with no clustered database.
    let good = FakeServer::start(|_, _| Answer::Result(json!([{"rows": []}])));
    let started = Instant::now();
    let client = Client::connect(&format!("{dead},{}", good.remote))
        .await
        .unwrap();
    assert_eq!(client.remote(), good.remote);
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_millis(200), "{elapsed:?}");
}
