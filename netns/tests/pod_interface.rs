//! Root tests of setup_pod_interface and inspect_link against real
//! namespaces, observed both through this crate and through iproute2/ethtool.

mod common;

use std::collections::HashSet;
use std::net::IpAddr;

use common::{TempNetns, has_flag, mac_text, thread_netns_inode};
use ipnet::IpNet;
use netns::{Error, Handle, Netns, PodInterface, Route, inspect_link, setup_pod_interface, sysctl};

const POD_MAC: [u8; 6] = [0x0a, 0x58, 0x0a, 0x00, 0x00, 0x05];

fn net(text: &str) -> IpNet {
    text.parse().expect("test prefix")
}

fn ip(text: &str) -> IpAddr {
    text.parse().expect("test address")
}

fn route(destination: &str, gateway: &str) -> Route {
    Route {
        destination: net(destination),
        gateway: ip(gateway),
    }
}

/// A dual-stack pod interface with default routes in both families.
fn dual_stack(name: &str) -> PodInterface {
    PodInterface {
        name: name.to_string(),
        mac: POD_MAC,
        mtu: 1400,
        addresses: vec![net("10.0.0.5/24"), net("fd00::5/64")],
        routes: vec![
            route("0.0.0.0/0", "10.0.0.1"),
            route("::/0", "fd00::1"),
            route("10.96.0.0/12", "10.0.0.1"),
        ],
        disable_tx_checksum: true,
    }
}

/// A "host" and a "pod" namespace, opened, with a handle in the host one.
struct Fixture {
    host_ns: TempNetns,
    pod_ns: TempNetns,
    pod: Netns,
    host: Handle,
}

impl Fixture {
    fn new(tag: &str) -> Fixture {
        let host_ns = TempNetns::new(&format!("{tag}-h"));
        let pod_ns = TempNetns::new(&format!("{tag}-p"));
        let pod = Netns::open(&pod_ns.path()).expect("open pod netns");
        let host =
            Handle::new(&Netns::open(&host_ns.path()).expect("open host netns")).expect("handle");
        Fixture {
            host_ns,
            pod_ns,
            pod,
            host,
        }
    }

    fn pod_handle(&self) -> Handle {
        Handle::new(&self.pod).expect("pod handle")
    }
}

#[tokio::test]
async fn setup_builds_the_whole_pod_interface() {
    let before = thread_netns_inode();
    let f = Fixture::new("full");
    let pod = dual_stack("net1");

    let pair = setup_pod_interface(&f.host, &f.pod, "veth-full0", &pod)
        .await
        .expect("setup");
    assert_eq!(
        thread_netns_inode(),
        before,
        "thread netns changed by setup"
    );
    assert_eq!(pair.host_name, "veth-full0");

    // Host end: in the host namespace only, same MTU, up, MAC as reported.
    let host_link = f.host_ns.link("veth-full0");
    assert_eq!(host_link["mtu"], 1400);
    assert!(has_flag(&host_link, "UP"), "{host_link}");
    assert_eq!(host_link["address"], mac_text(pair.host_mac));
    assert!(!f.host_ns.link_names().contains(&"net1".to_string()));

    // Pod end, seen by iproute2.
    let pod_link = f.pod_ns.link("net1");
    assert_eq!(pod_link["ifindex"], pair.pod_index);
    assert_eq!(pod_link["address"], mac_text(POD_MAC));
    assert_eq!(pod_link["mtu"], 1400);
    assert!(has_flag(&pod_link, "UP"), "{pod_link}");
    assert!(has_flag(&f.pod_ns.link("lo"), "UP"), "lo is not up");
    let addresses: HashSet<String> =
        f.pod_ns.ip_json(&["addr", "show", "dev", "net1"])[0]["addr_info"]
            .as_array()
            .expect("addr_info")
            .iter()
            .filter(|a| a["scope"] == "global")
            .map(|a| format!("{}/{}", a["local"].as_str().expect("local"), a["prefixlen"]))
            .collect();
    assert_eq!(
        addresses,
        HashSet::from(["10.0.0.5/24".to_string(), "fd00::5/64".to_string()])
    );
    let v4 = f.pod_ns.ip_json(&["-4", "route", "show", "default"]);
    assert_eq!(v4[0]["gateway"], "10.0.0.1", "{v4}");
    assert_eq!(v4[0]["dev"], "net1", "{v4}");
    let v6 = f.pod_ns.ip_json(&["-6", "route", "show", "default"]);
    assert_eq!(v6[0]["gateway"], "fd00::1", "{v6}");
    assert_eq!(v6[0]["dev"], "net1", "{v6}");
    let service = f.pod_ns.ip_json(&["-4", "route", "show", "10.96.0.0/12"]);
    assert_eq!(service[0]["gateway"], "10.0.0.1", "{service}");
    assert_eq!(f.pod_ns.ethtool_feature("net1", "tx-checksumming"), "off");
    assert_eq!(
        f.pod_ns
            .exec("cat", &["/proc/sys/net/ipv6/conf/net1/accept_dad"])
            .trim(),
        "0"
    );
    // NODAD: nothing tentative, so the IPv6 default route is usable at once.
    let v6_addr = f
        .pod_ns
        .ip_json(&["-6", "addr", "show", "dev", "net1", "tentative"]);
    assert!(
        v6_addr.as_array().is_none_or(|a| a
            .iter()
            .all(|l| l["addr_info"].as_array().is_none_or(|i| i.is_empty()))),
        "tentative addresses: {v6_addr}"
    );

    // The same through this crate.
    let pod_handle = f.pod_handle();
    let state = inspect_link(&pod_handle, "net1")
        .await
        .expect("inspect")
        .expect("net1 exists");
    assert_eq!(state.index, pair.pod_index);
    assert_eq!(state.mac, POD_MAC);
    assert_eq!(state.mtu, 1400);
    assert!(state.up);
    assert_eq!(state.addresses, vec![net("10.0.0.5/24"), net("fd00::5/64")]);
    let routes: HashSet<Route> = state.routes.into_iter().collect();
    assert_eq!(routes, pod.routes.iter().copied().collect::<HashSet<_>>());
    assert_eq!(
        sysctl::read(&f.pod, &sysctl::accept_dad_key("net1")).expect("read accept_dad"),
        "0"
    );
    let host_state = inspect_link(&f.host, "veth-full0")
        .await
        .expect("inspect host end")
        .expect("host end exists");
    assert_eq!(host_state.mac, pair.host_mac);
    assert!(host_state.up && host_state.addresses.is_empty() && host_state.routes.is_empty());
    assert!(
        inspect_link(&pod_handle, "nope0")
            .await
            .expect("inspect")
            .is_none()
    );
    assert_eq!(thread_netns_inode(), before, "thread netns changed");
}

#[tokio::test]
async fn tx_checksum_stays_on_unless_asked() {
    let f = Fixture::new("csum");
    let pod = PodInterface {
        addresses: vec![],
        routes: vec![],
        disable_tx_checksum: false,
        ..dual_stack("eth0")
    };
    setup_pod_interface(&f.host, &f.pod, "veth-csum0", &pod)
        .await
        .expect("setup without addresses");
    assert_eq!(f.pod_ns.ethtool_feature("eth0", "tx-checksumming"), "on");
    netns::offload::disable_tx_checksum(&f.pod, "eth0").expect("disable tx csum");
    assert_eq!(f.pod_ns.ethtool_feature("eth0", "tx-checksumming"), "off");
    let err = netns::offload::disable_tx_checksum(&f.pod, "missing0").expect_err("no such link");
    assert!(
        matches!(
            &err,
            Error::Offload {
                source: nix::Error::ENODEV,
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn second_setup_with_same_pod_name_fails_and_adds_nothing() {
    let before = thread_netns_inode();
    let f = Fixture::new("dup");
    let pod = dual_stack("net1");
    setup_pod_interface(&f.host, &f.pod, "veth-dup0", &pod)
        .await
        .expect("first setup");
    let host_links = f.host_ns.link_names();
    let pod_links = f.pod_ns.link_names();

    let err = setup_pod_interface(&f.host, &f.pod, "veth-dup1", &pod)
        .await
        .expect_err("second setup must fail");
    assert!(
        matches!(&err, Error::LinkExists(name) if name == "net1"),
        "{err:?}"
    );
    assert_eq!(f.host_ns.link_names(), host_links, "host links changed");
    assert_eq!(f.pod_ns.link_names(), pod_links, "pod links changed");
    // The first attachment is untouched.
    assert!(has_flag(&f.pod_ns.link("net1"), "UP"));
    assert_eq!(thread_netns_inode(), before);
}

#[tokio::test]
async fn taken_host_name_fails_and_adds_nothing() {
    let f = Fixture::new("hostdup");
    f.host_ns.add_veth("veth-taken");
    let err = setup_pod_interface(&f.host, &f.pod, "veth-taken", &dual_stack("net1"))
        .await
        .expect_err("host name taken");
    assert!(
        matches!(&err, Error::LinkExists(name) if name == "veth-taken"),
        "{err:?}"
    );
    assert_eq!(f.pod_ns.link_names(), vec!["lo".to_string()]);
    // The pre-existing interface is not ours: still there.
    assert_eq!(f.host_ns.link("veth-taken")["ifname"], "veth-taken");
}

#[tokio::test]
async fn unreachable_gateway_leaves_nothing_behind() {
    let before = thread_netns_inode();
    let f = Fixture::new("unreach");
    let pod = PodInterface {
        routes: vec![route("0.0.0.0/0", "192.168.77.1")],
        ..dual_stack("net1")
    };
    let err = setup_pod_interface(&f.host, &f.pod, "veth-unr0", &pod)
        .await
        .expect_err("gateway outside every subnet");
    assert_eq!(err.errno(), Some(libc::ENETUNREACH), "{err:?}");
    assert!(err.to_string().contains("192.168.77.1"), "{err}");
    assert!(err.to_string().contains("net1"), "{err}");
    assert_eq!(f.pod_ns.link_names(), vec!["lo".to_string()]);
    assert_eq!(f.host_ns.link_names(), vec!["lo".to_string()]);
    assert_eq!(thread_netns_inode(), before);
}

#[tokio::test]
async fn invalid_route_leaves_nothing_behind() {
    let f = Fixture::new("invalid");
    let pod = PodInterface {
        routes: vec![route("0.0.0.0/0", "fd00::1")],
        ..dual_stack("net1")
    };
    let err = setup_pod_interface(&f.host, &f.pod, "veth-inv0", &pod)
        .await
        .expect_err("mixed-family route");
    assert!(matches!(err, Error::InvalidRoute { .. }), "{err:?}");
    assert_eq!(f.pod_ns.link_names(), vec!["lo".to_string()]);
    assert_eq!(f.host_ns.link_names(), vec!["lo".to_string()]);
}

#[tokio::test]
async fn ipv6_disabled_namespace_still_gets_ipv4() {
    let f = Fixture::new("nov6");
    for key in ["all", "default"] {
        f.pod_ns.exec(
            "sysctl",
            &["-qw", &format!("net.ipv6.conf.{key}.disable_ipv6=1")],
        );
    }
    let pod = PodInterface {
        addresses: vec![net("10.0.0.5/24")],
        routes: vec![route("0.0.0.0/0", "10.0.0.1")],
        ..dual_stack("net1")
    };
    setup_pod_interface(&f.host, &f.pod, "veth-nov6", &pod)
        .await
        .expect("setup with IPv6 disabled");
    let state = inspect_link(&f.pod_handle(), "net1")
        .await
        .expect("inspect")
        .expect("net1");
    assert_eq!(state.addresses, vec![net("10.0.0.5/24")]);
    assert_eq!(state.routes, pod.routes);
}
