//! What the plugin talks to misbehaves: an OVSDB server that never stops
//! answering, a delegated IPAM plugin that hangs or fails oddly. The plugin
//! answers in time with an error naming the culprit and leaves nothing.

use std::io::{Read, Write};
use std::os::unix::net::UnixListener;
use std::time::{Duration, Instant};

use e2e::leftovers::{assert_refused, assert_rejected};
use e2e::node_config::NodeConfigFile;
use e2e::temp::TempPath;
use e2e::{Network, PodSpec, names, process};
use serde_json::json;

/// Finding 4: an NB "server" whose reply never ends. The plugin stops at
/// its message limit with an error naming the remote, instead of growing
/// until it is killed.
#[test]
fn an_endless_ovsdb_reply_is_cut_off_at_the_limit() {
    let dir = TempPath::dir("endless");
    let socket = dir.path().join("nb.sock");
    let listener = UnixListener::bind(&socket).expect("bind");
    let server = std::thread::spawn(move || {
        let Ok((mut stream, _)) = listener.accept() else {
            return 0_usize;
        };
        let mut request = [0_u8; 4096];
        let _ = stream.read(&mut request);
        let chunk = "1,".repeat(32 * 1024);
        let mut sent = stream
            .write(br#"{"id":1,"error":null,"result":["#)
            .unwrap_or(0);
        // Stop at 1 GiB: far past the limit, so a plugin without one fails.
        while sent < (1 << 30) {
            match stream.write(chunk.as_bytes()) {
                Ok(n) => sent += n,
                Err(_) => break,
            }
        }
        sent
    });
    let net = Network::layer2("endless", "10.62.0.0/24");
    let remote = format!("unix:{}", socket.display());
    let node = NodeConfigFile::for_node(1, &[("nbAddress", json!(remote))]);
    let spec = PodSpec::new(&net, 1);
    let call = spec
        .call("ADD")
        .var("OVN_UDN_CNI_NODE_CONFIG", Some(&node.path()));
    let started = Instant::now();
    assert_rejected(
        &net,
        &spec,
        call,
        103,
        &[&format!("{remote} exceeds")],
        "endless NB reply",
    );
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "took {:?}",
        started.elapsed()
    );
    let sent = server.join().expect("server thread");
    assert!(sent < 1 << 30, "the plugin read all of {sent} bytes");
}

/// A delegated IPAM plugin that never answers is killed after readyTimeout;
/// the ADD fails with 11 naming it, and nothing is left running.
#[test]
fn a_hanging_ipam_plugin_cannot_hang_the_add() {
    let plugins = TempPath::dir("ipam");
    let marker = names::unique("hangipam");
    plugins.script(
        "hang-ipam",
        &format!("#!/bin/bash\nexec -a {marker} sleep 600\n"),
    );
    let net = Network::layer2("hangipam", "")
        .with("subnets", serde_json::Value::Null)
        .with("ipam", json!({"type": "hang-ipam"}));
    let node = NodeConfigFile::for_node(1, &[("readyTimeout", json!(2))]);
    let spec = PodSpec::new(&net, 1)
        .env("CNI_PATH", &plugins.text())
        .env("OVN_UDN_CNI_NODE_CONFIG", &node.path());
    let call = spec.call("ADD");
    let started = Instant::now();
    assert_refused(&net, &spec, call, 11, &["hang-ipam"], "hanging IPAM plugin");
    // ADD waited for the plugin, then for its DEL in the rollback.
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "took {:?}",
        started.elapsed()
    );
    let left = process::attempt("pgrep", &["-f", &marker]);
    assert!(
        !left.ok(),
        "the IPAM plugin still runs: {}",
        left.stdout_text()
    );
}

/// A delegated IPAM plugin's error code and message are passed on exactly,
/// however large the code and long the message.
#[test]
fn an_ipam_plugins_error_is_carried_over_whole() {
    let plugins = TempPath::dir("ipam");
    let msg = format!("lease store unavailable {}", "x".repeat(10_000));
    let answer = json!({"cniVersion": "1.0.0", "code": 4_294_967_297_u64, "msg": msg});
    plugins.script(
        "fail-ipam",
        &format!("#!/bin/sh\ncat >/dev/null\necho '{answer}'\nexit 1\n"),
    );
    let net = Network::layer2("failipam", "")
        .with("subnets", serde_json::Value::Null)
        .with("cniVersion", json!("1.0.0"))
        .with("ipam", json!({"type": "fail-ipam"}));
    let spec = PodSpec::new(&net, 1).env("CNI_PATH", &plugins.text());
    let reply = spec.call("ADD").run();
    let got = reply.expect_error(4_294_967_297, "IPAM plugin error");
    assert!(got.contains(&msg), "message cut: {} bytes", got.len());
}
