//! Self-test of the traffic and inspection helpers on two plain namespaces
//! joined by a veth, so a harness bug is not mistaken for a plugin bug; and
//! proof that the state checkers reject what they must.

use e2e::leftovers::{Before, assert_attachment_gone, assert_nothing_created};
use e2e::net;
use std::thread;
use std::time::{Duration, Instant};

use e2e::stream::Stream;
use e2e::{Netns, Network, Pod, PodSpec, process};

#[test]
fn helpers_see_ping_tcp_and_veth_peers() {
    let (a, b) = veth_pair();
    assert_eq!(net::veths_into(&a.name, &b.name), vec!["e2e-a".to_owned()]);
    assert_eq!(
        net::addresses(&b.name, "e2e-b"),
        vec!["10.254.7.2/24".to_owned()]
    );
    net::assert_ping(&a.name, "10.254.7.2");
    net::assert_no_ping(&a.name, "10.254.7.9");
    net::assert_tcp_transfer(&b.name, "10.254.7.2", &a.name);
    let data = net::payload(1000, 3);
    assert!(net::tcp_transfer(&b.name, "10.254.7.9", 5400, &a.name, &data).is_err());
    process::must(
        "ip",
        &[
            "-n",
            &b.name,
            "addr",
            "add",
            "fd00:254:7::2/64",
            "dev",
            "e2e-b",
            "nodad",
        ],
    );
    process::must(
        "ip",
        &[
            "-n",
            &a.name,
            "addr",
            "add",
            "fd00:254:7::1/64",
            "dev",
            "e2e-a",
            "nodad",
        ],
    );
    net::assert_ping(&a.name, "fd00:254:7::2");
    net::assert_tcp_transfer(&b.name, "fd00:254:7::2", &a.name);
    assert_eq!(net::tx_checksumming(&a.name, "e2e-a"), "on");
}

// The checkers the other tests rely on must be able to fail: each of these
// applies one to a state it has to reject.

#[test]
#[should_panic(expected = "still in NB")]
fn attachment_gone_check_rejects_a_live_pod() {
    let net = Network::layer2("hlive", "10.70.0.0/24");
    let pod = Pod::add(&net, 1);
    assert_attachment_gone(&pod.spec, pod.host_veth().as_deref(), "live pod");
}

#[test]
#[should_panic(expected = "the network's LSPs changed")]
fn nothing_created_check_rejects_a_successful_add() {
    let net = Network::layer2("hadd", "10.71.0.0/24");
    let spec = PodSpec::new(&net, 2);
    let before = Before::take(&net, &spec);
    let pod = spec.add();
    assert_nothing_created(&net, &before, &pod.spec, "successful ADD");
}

#[test]
#[should_panic(expected = "must not")]
fn no_ping_check_rejects_pods_that_reach_each_other() {
    let net = Network::layer2("hping", "10.72.0.0/24");
    let a = Pod::add(&net, 1);
    let b = Pod::add(&net, 2);
    net::assert_no_ping(a.ns(), &b.ip());
}

/// Two namespaces joined by a veth (`e2e-a`, `e2e-b`), addresses
/// 10.254.7.1 and .2.
fn veth_pair() -> (Netns, Netns) {
    let a = Netns::new();
    let b = Netns::new();
    process::must(
        "ip",
        &[
            "-n", &a.name, "link", "add", "e2e-a", "type", "veth", "peer", "name", "e2e-b",
            "netns", &b.name,
        ],
    );
    for (ns, dev, cidr) in [
        (&a, "e2e-a", "10.254.7.1/24"),
        (&b, "e2e-b", "10.254.7.2/24"),
    ] {
        process::must("ip", &["-n", &ns.name, "addr", "add", cidr, "dev", dev]);
        process::must("ip", &["-n", &ns.name, "link", "set", dev, "up"]);
    }
    (a, b)
}

/// The stream the live-migration test trusts: it sees a pause as a gap and
/// a reset as a broken connection.
#[test]
fn stream_measures_a_pause_and_sees_a_reset() {
    let (a, b) = veth_pair();
    let stream = Stream::start(&b.name, "10.254.7.2", 5202, &a.name);
    assert!(stream.wait_received(1 << 20, Duration::from_secs(10)));
    let paused = Instant::now();
    process::must("ip", &["-n", &b.name, "link", "set", "e2e-b", "down"]);
    thread::sleep(Duration::from_millis(700));
    process::must("ip", &["-n", &b.name, "link", "set", "e2e-b", "up"]);
    let now = stream.received();
    assert!(stream.wait_received(now + (1 << 20), Duration::from_secs(10)));
    let report = stream.stop();
    println!("{}", report.summary());
    report.assert_unbroken();
    let gap = report.longest_gap_after(paused).expect("a gap");
    assert!(
        gap.length >= Duration::from_millis(600),
        "pause not seen: {gap:?}"
    );

    // A reset (the server's socket destroyed) must show as a broken stream.
    let stream = Stream::start(&b.name, "10.254.7.2", 5203, &a.name);
    assert!(stream.wait_received(1 << 20, Duration::from_secs(10)));
    let kill = net::exec_in(
        &b.name,
        &["ss", "-K", "-tn", "sport = :5203"],
        &[],
        Duration::from_secs(5),
    );
    assert!(kill.ok(), "ss -K: {}", kill.stderr);
    thread::sleep(Duration::from_millis(200));
    let report = stream.stop();
    println!("{}", report.summary());
    assert!(report.ended_early, "reset not seen: {}", report.summary());
    assert!(!report.is_unbroken(), "a reset stream counted as unbroken");
}
