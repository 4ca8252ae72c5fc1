//! A server that floods or sends garbage: the client must fail the waiting
//! call with an error that says so and names the server, quickly, and never
//! buffer more than its limit.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::fake::{Answer, FakeServer};
use ovsdb::{Client, Error, MAX_MESSAGE_BYTES, Operation};
use serde_json::json;

const LIMIT: usize = 1024 * 1024;

/// Connects to `server` with the 1 MiB limit.
async fn client(server: &FakeServer) -> Client {
    // A lone remote is used as soon as it accepts: nothing is asked yet.
    let client = Client::connect(&server.remote).await.unwrap();
    client.set_max_message_size(LIMIT);
    client
}

fn assert_too_large(result: Result<impl std::fmt::Debug, Error>, remote: &str) {
    match result {
        Err(Error::MessageTooLarge { remote: r, limit }) => {
            assert_eq!((r.as_str(), limit), (remote, LIMIT));
        }
        other => panic!("expected MessageTooLarge, got {other:?}"),
    }
}

/// `transact` answered with `[1,1,1,…` forever, then with a string that
/// never ends: the call fails with the too-large error naming the remote
/// within seconds, and the connection is closed.
#[tokio::test(flavor = "current_thread")]
async fn an_endless_reply_fails_the_call_with_message_too_large() {
    for (head, body) in [
        (&b"["[..], &b"1,"[..]),
        (b"{\"id\":1,\"result\":\"", b"xxxx"),
    ] {
        let server = FakeServer::start(move |_, _| Answer::Endless {
            head: head.to_vec(),
            body: body.repeat(4096),
        });
        let client = client(&server).await;
        let started = Instant::now();
        let result = tokio::time::timeout(
            Duration::from_secs(10),
            client.transact("Test", &[Operation::delete("T", vec![])]),
        )
        .await
        .expect("the call must not hang");
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
        let err = result.as_ref().unwrap_err().to_string();
        assert_eq!(
            err,
            format!(
                "OVSDB message from {} exceeds the limit of 1 MiB",
                server.remote
            )
        );
        assert_too_large(result, &server.remote);
        // The connection is closed, and later calls learn why.
        assert!(!client.is_connected());
        assert_too_large(client.echo().await, &server.remote);
    }
}

/// The same through `monitor`, whose initial rows may be the largest reply.
#[tokio::test(flavor = "current_thread")]
async fn an_endless_monitor_reply_fails_the_monitor_call() {
    let server = FakeServer::start(|method, _| match method {
        "get_schema" => Answer::Result(json!({"tables": {"T": {"columns": {}}}})),
        _ => Answer::Endless {
            head: b"[".to_vec(),
            body: b"[\"uuid\",\"x\"],".repeat(1024),
        },
    });
    let client = client(&server).await;
    let result = tokio::time::timeout(
        Duration::from_secs(10),
        client.monitor("Test", "T", vec![], vec![]),
    )
    .await
    .expect("the call must not hang");
    assert_too_large(result, &server.remote);
}

/// A reply of exactly the limit is accepted, and the default limit is the
/// documented one.
#[tokio::test(flavor = "current_thread")]
async fn a_reply_within_the_limit_is_accepted() {
    assert_eq!(MAX_MESSAGE_BYTES, 64 * 1024 * 1024);
    let server = FakeServer::start(|_, request| {
        let mut reply = json!({"result": [], "error": null, "id": request["id"], "pad": ""})
            .to_string()
            .into_bytes();
        // Pad the reply to exactly the limit.
        let pad = LIMIT - reply.len();
        let at = reply.len() - 2;
        reply.splice(at..at, std::iter::repeat_n(b' ', pad));
        Answer::Raw(reply)
    });
    let client = client(&server).await;
    client.echo().await.unwrap();
}

/// Garbage instead of a reply: the call fails with ConnectionLost naming
/// the remote and the reason, not a bare "closed".
#[tokio::test(flavor = "current_thread")]
async fn garbage_fails_the_call_with_the_reason() {
    let server = FakeServer::start(|_, _| Answer::Raw(b"HTTP/1.1 400 Bad Request\r\n".to_vec()));
    let client = client(&server).await;
    match client.list_dbs().await {
        Err(Error::ConnectionLost { remote, reason }) => {
            assert_eq!(remote, server.remote);
            assert!(reason.contains("unexpected byte 'H'"), "{reason}");
        }
        other => panic!("expected ConnectionLost, got {other:?}"),
    }
}

/// A plain close by the server stays [`Error::Disconnected`].
#[tokio::test(flavor = "current_thread")]
async fn a_hang_up_is_disconnected() {
    let server = FakeServer::start(|_, _| Answer::HangUp);
    let client = client(&server).await;
    assert!(matches!(client.echo().await, Err(Error::Disconnected)));
    assert!(matches!(client.echo().await, Err(Error::Disconnected)));
}

/// A request timeout too large to add to a clock means none, not a panic.
#[tokio::test(flavor = "current_thread")]
async fn a_huge_request_timeout_does_not_panic() {
    let server = FakeServer::start(|_, _| Answer::Result(json!([])));
    let client = client(&server).await;
    for timeout in [Duration::MAX, Duration::from_secs(u64::MAX)] {
        client.set_request_timeout(timeout);
        client.echo().await.unwrap();
    }
}
