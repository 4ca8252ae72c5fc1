//! Traffic counters: the exact bytes each way and the requests sent, seen
//! by every clone.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::{Arc, Mutex};

use common::fake::{Answer, FakeServer};
use ovsdb::{Client, Condition, Operation, Traffic, Value};
use serde_json::json;

/// The server probes us (`echo`) just before its reply to `transact`:
/// our answer to the probe counts as written, the probe as read.
#[tokio::test(flavor = "current_thread")]
async fn counts_exact_bytes_each_way_and_requests() {
    let probe = json!({"method": "echo", "params": ["probe"], "id": "probe"}).to_string();
    // Our answer to it, as the client spells it (same keys, same order).
    let probe_answer = json!({"result": ["probe"], "error": null, "id": "probe"}).to_string();
    // (bytes of each request as received, bytes sent back)
    let seen = Arc::new(Mutex::new(Vec::<(usize, usize)>::new()));
    let log = seen.clone();
    let server = FakeServer::start(move |method, request| {
        if method.is_empty() {
            // Our answer to the probe: nothing to say back.
            return Answer::Raw(Vec::new());
        }
        let reply = match method {
            "transact" => json!({"result": [{"count": 1}], "error": null, "id": request["id"]}),
            _ => json!({"result": [], "error": null, "id": request["id"]}),
        }
        .to_string();
        let answer = if method == "transact" {
            format!("{probe}{reply}")
        } else {
            reply
        };
        // The client sent the request as compact JSON: re-serialising what
        // the server parsed gives it back byte for byte.
        log.lock()
            .unwrap()
            .push((request.to_string().len(), answer.len()));
        Answer::Raw(answer.into_bytes())
    });
    let client = Client::connect(&server.remote).await.unwrap();
    // A lone remote is used as it accepts: nothing has been said yet.
    assert_eq!(client.traffic(), Traffic::default());

    let delete = Operation::delete("Switch", vec![Condition::eq("name", Value::string("a"))]);
    client.transact("Test", &[delete]).await.unwrap();
    let (request, answer) = seen.lock().unwrap()[0];
    // The probe is answered before the reply that follows it is handed
    // over, so its answer is already counted.
    let expected = Traffic {
        bytes_read: answer as u64,
        bytes_written: (request + probe_answer.len()) as u64,
        requests: 1,
    };
    assert_eq!(client.traffic(), expected);

    let clone = client.clone();
    clone.echo().await.unwrap();
    let (echo_request, echo_answer) = seen.lock().unwrap()[1];
    let expected = Traffic {
        bytes_read: expected.bytes_read + echo_answer as u64,
        bytes_written: expected.bytes_written + echo_request as u64,
        requests: 2,
    };
    assert_eq!(clone.traffic(), expected);
    assert_eq!(client.traffic(), expected);
}
