//! Traffic between pods: same network on two chassis and on one, and
//! isolation between networks that share a subnet.

use e2e::net::{assert_no_ping, assert_ping, assert_tcp_transfer, tcp_transfer};
use e2e::{Network, Pod, PodSpec};
use serde_json::json;

#[test]
fn pods_on_two_chassis_ping_and_transfer_tcp() {
    let net = Network::layer2("conn2", "10.10.0.0/24");
    let a = Pod::add(&net, 1);
    let b = Pod::add(&net, 2);
    assert_ne!(a.ip(), b.ip());
    assert_ping(a.ns(), &b.ip());
    assert_ping(b.ns(), &a.ip());
    assert_tcp_transfer(b.ns(), &b.ip(), a.ns());
    assert_tcp_transfer(a.ns(), &a.ip(), b.ns());
}

#[test]
fn pods_on_one_chassis_ping_and_transfer_tcp() {
    let net = Network::layer2("conn1", "10.11.0.0/24");
    let a = Pod::add(&net, 1);
    let b = Pod::add(&net, 1);
    assert_ping(a.ns(), &b.ip());
    assert_ping(b.ns(), &a.ip());
    assert_tcp_transfer(a.ns(), &a.ip(), b.ns());
}

#[test]
fn gateway_address_is_not_a_pod() {
    // The gateway is reserved in IPAM, so no pod answers it on a network of pods only.
    let net = Network::layer2("gwfree", "10.16.0.0/24");
    let a = Pod::add(&net, 1);
    let b = Pod::add(&net, 2);
    assert_ping(a.ns(), &b.ip());
    assert_ne!(a.ip(), "10.16.0.1");
    assert_ne!(b.ip(), "10.16.0.1");
}

/// Two networks with one subnet: each works inside, nothing crosses over, even
/// to an address that exists on both.
#[test]
fn networks_with_the_same_subnet_are_isolated() {
    let subnet = "10.12.0.0/24";
    let red = Network::layer2("red", subnet);
    let green = Network::layer2("green", subnet);
    let static_ip = |ip: &str| json!({ "ips": [format!("{ip}/24")] });
    // .10 exists on both networks; .11 only on red, .12 only on green.
    let red1 = PodSpec::new(&red, 1)
        .conf_key("runtimeConfig", static_ip("10.12.0.10"))
        .add();
    let red2 = PodSpec::new(&red, 2)
        .conf_key("runtimeConfig", static_ip("10.12.0.11"))
        .add();
    let green1 = PodSpec::new(&green, 1)
        .conf_key("runtimeConfig", static_ip("10.12.0.10"))
        .add();
    let green2 = PodSpec::new(&green, 2)
        .conf_key("runtimeConfig", static_ip("10.12.0.12"))
        .add();
    assert_eq!(red1.ip(), "10.12.0.10");
    assert_eq!(green1.ip(), "10.12.0.10");

    assert_ping(red2.ns(), "10.12.0.10");
    assert_ping(green2.ns(), "10.12.0.10");
    assert_ping(red1.ns(), "10.12.0.11");
    assert_ping(green1.ns(), "10.12.0.12");

    assert_no_ping(red1.ns(), "10.12.0.12");
    assert_no_ping(red2.ns(), "10.12.0.12");
    assert_no_ping(green1.ns(), "10.12.0.11");
    assert_no_ping(green2.ns(), "10.12.0.11");

    // .10 answers on both networks; a TCP listener only on green's .10 must
    // not be reachable from red.
    let data = e2e::net::payload(1024, 7);
    assert!(
        tcp_transfer(green1.ns(), "10.12.0.10", 5300, red2.ns(), &data).is_err(),
        "red pod reached a TCP listener on the green network"
    );
    // And the same listener is reachable from inside green.
    let got = tcp_transfer(green1.ns(), "10.12.0.10", 5301, green2.ns(), &data)
        .unwrap_or_else(|e| panic!("TCP inside green: {e}"));
    assert_eq!(got, data);
}
