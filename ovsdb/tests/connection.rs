//! Connecting, transports, probes and lost connections.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{DB, Server, TempDir};
use ovsdb::{Client, Error, Operation, Row, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test(flavor = "current_thread")]
async fn missing_unix_socket_names_the_path() {
    let dir = std::env::temp_dir().join(format!("ovsdb-missing-{}", std::process::id()));
    let path = dir.join("nope.sock");
    let remote = format!("unix:{}", path.display());
    let err = Client::connect(&remote).await.unwrap_err();
    match &err {
        Error::Connect { remotes, reason } => {
            assert_eq!(remotes, &remote);
            assert!(reason.contains(&remote), "{reason}");
        }
        other => panic!("expected Error::Connect, got {other:?}"),
    }
    assert!(err.to_string().contains(path.to_str().unwrap()), "{err}");
}

#[tokio::test(flavor = "current_thread")]
async fn falls_through_to_the_next_remote() {
    let server = Server::start();
    let list = format!(
        "unix:{}/missing.sock,{}",
        server.dir().display(),
        server.unix
    );
    let client = Client::connect(&list).await.unwrap();
    assert_eq!(client.remote(), server.unix);
    client.echo().await.unwrap();
}

#[tokio::test(flavor = "current_thread")]
async fn skips_a_cluster_member_cut_off_from_its_cluster() {
    let cut_off = Server::start_cut_off_cluster_member();
    // A lone remote is not checked (there is no other to choose); a list is.
    let only_cut_off = format!("{0},{0}", cut_off.unix);
    let err = Client::connect(&only_cut_off).await.unwrap_err();
    match &err {
        Error::Connect { reason, .. } => {
            assert!(reason.contains("not connected to the cluster"), "{reason}")
        }
        other => panic!("expected Error::Connect, got {other:?}"),
    }
    let good = Server::start();
    let client = Client::connect(&format!("{},{}", cut_off.unix, good.unix))
        .await
        .unwrap();
    assert_eq!(client.remote(), good.unix);
}

#[tokio::test(flavor = "current_thread")]
async fn ssl_without_tls_and_garbage_remotes_are_rejected_up_front() {
    assert!(matches!(
        Client::connect("ssl:127.0.0.1:6641").await,
        Err(Error::TlsRequired(remote)) if remote == "ssl:127.0.0.1:6641"
    ));
    assert!(matches!(
        Client::connect("bogus").await,
        Err(Error::InvalidRemote(_))
    ));
}

#[tokio::test(flavor = "current_thread")]
async fn tcp_remote_works() {
    let server = Server::start();
    // Once the unix remote answers the server is in its main loop, so the
    // tcp listener is bound too.
    Client::connect(&server.unix).await.unwrap();
    let client = Client::connect(&server.tcp).await.unwrap();
    client
        .transact(
            DB,
            &[Operation::insert(
                "Switch",
                Row::new().with("name", Value::string("tcp")),
            )],
        )
        .await
        .unwrap();
    assert!(client.list_dbs().await.unwrap().contains(&DB.to_string()));
}

/// ovsdb-server probes tcp clients after 5 s idle and drops them 5 s later
/// unless they answer its echo: the reader task must answer.
#[tokio::test(flavor = "current_thread")]
async fn answers_the_server_inactivity_probe() {
    let server = Server::start();
    Client::connect(&server.unix).await.unwrap();
    let client = Client::connect(&server.tcp).await.unwrap();
    tokio::time::sleep(Duration::from_secs(12)).await;
    assert!(client.is_connected(), "server dropped us: {}", server.log());
    client.echo().await.unwrap();
}

#[tokio::test(flavor = "current_thread")]
async fn server_death_wakes_monitors_and_fails_requests() {
    let mut server = Server::start();
    let client = Client::connect(&server.unix).await.unwrap();
    let mut monitor = client.monitor(DB, "Switch", vec![], vec![]).await.unwrap();
    let waiter = tokio::spawn(async move {
        monitor
            .wait_until(Duration::from_secs(30), |rows| !rows.is_empty())
            .await
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    server.kill();
    let result = tokio::time::timeout(Duration::from_secs(5), waiter)
        .await
        .expect("the monitor must not hang")
        .unwrap();
    assert!(matches!(result, Err(Error::Disconnected)), "{result:?}");
    assert!(!client.is_connected());
    assert!(matches!(client.echo().await, Err(Error::Disconnected)));
    assert!(matches!(
        client.monitor(DB, "Switch", vec![], vec![]).await,
        Err(Error::Disconnected)
    ));
}

/// A request already sent when the connection drops gets Disconnected.
/// A stand-in server answers what connect asks (echo; a `_Server` select it
/// refuses, as an old server would), then hangs up on `list_dbs` instead of
/// replying. Its replies are written in two halves to exercise partial reads.
#[tokio::test(flavor = "current_thread")]
async fn pending_request_fails_when_the_connection_drops() {
    let dir = TempDir::new("fake");
    let path = dir.path().join("fake.sock");
    let listener = tokio::net::UnixListener::bind(&path).unwrap();
    let fake = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut buf = Vec::new();
        let mut chunk = vec![0u8; 4096];
        loop {
            let n = stream.read(&mut chunk).await.unwrap();
            assert!(n > 0, "client hung up first");
            buf.extend_from_slice(&chunk[..n]);
            let mut stream_de =
                serde_json::Deserializer::from_slice(&buf).into_iter::<serde_json::Value>();
            let mut requests = Vec::new();
            while let Some(Ok(request)) = stream_de.next() {
                requests.push(request);
            }
            let consumed = stream_de.byte_offset();
            buf.drain(..consumed);
            for request in requests {
                let reply = match request["method"].as_str().unwrap() {
                    "echo" => serde_json::json!({"result": [], "error": null, "id": request["id"]}),
                    "transact" => serde_json::json!(
                        {"result": null, "error": "unknown database", "id": request["id"]}),
                    "list_dbs" => return,
                    other => panic!("unexpected request {other}"),
                }
                .to_string();
                let (a, b) = reply.split_at(reply.len() / 2);
                stream.write_all(a.as_bytes()).await.unwrap();
                stream.flush().await.unwrap();
                tokio::time::sleep(Duration::from_millis(20)).await;
                stream.write_all(b.as_bytes()).await.unwrap();
            }
        }
    });
    let client = Client::connect(&format!("unix:{}", path.display()))
        .await
        .unwrap();
    let result = tokio::time::timeout(Duration::from_secs(5), client.list_dbs())
        .await
        .expect("the request must not hang");
    assert!(matches!(result, Err(Error::Disconnected)), "{result:?}");
    fake.await.unwrap();
}

/// A server that accepts but never answers fails a request with Timeout
/// after the client's request timeout, instead of hanging the caller.
#[tokio::test(flavor = "current_thread")]
async fn a_silent_server_times_out() {
    let dir = TempDir::new("silent");
    let path = dir.path().join("silent.sock");
    let listener = tokio::net::UnixListener::bind(&path).unwrap();
    let silent = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        // Read everything, answer nothing.
        let mut sink = Vec::new();
        let _ = stream.read_to_end(&mut sink).await;
    });
    // A lone remote is used once it accepts: the request is what times out.
    let client = Client::connect(&format!("unix:{}", path.display()))
        .await
        .unwrap();
    client.set_request_timeout(Duration::from_millis(300));
    let started = std::time::Instant::now();
    match client.echo().await {
        Err(Error::Timeout(what)) => assert!(what.contains("echo"), "{what}"),
        other => panic!("expected Error::Timeout, got {other:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(5));
    silent.abort();
}
