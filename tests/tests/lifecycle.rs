//! ADD's result and OVN/OVS state, and DEL in every situation the spec names.

use std::collections::BTreeSet;

use e2e::leftovers::{Before, assert_attachment_gone, assert_nothing_created};
use e2e::net;
use e2e::node_config::NodeConfigFile;
use e2e::ovn::{self, column_str, list, map_get};
use e2e::{Network, Pod, PodSpec, sandbox};
use serde_json::{Value, json};

/// ADD's result, the pod's interface and the OVN/OVS rows all follow the contract.
#[test]
fn add_builds_result_pod_interface_and_ovn_rows() {
    let net = Network::layer2("add", "10.20.0.0/24");
    let pod = Pod::add(&net, 1);
    let r = &pod.result;
    let ip = pod.ip();

    // Result.
    assert_eq!(r["cniVersion"], "1.1.0", "result: {r}");
    let ifaces = r["interfaces"].as_array().expect("interfaces array");
    assert_eq!(ifaces.len(), 2, "host veth and pod interface: {r}");
    let pod_if = pod.pod_interface();
    assert_eq!(pod_if["name"], "ovn-udn1");
    assert_eq!(pod_if["sandbox"], pod.spec.netns.path().as_str());
    let octets: Vec<u8> = ip.split('.').map(|o| o.parse().expect("octet")).collect();
    let mac = format!(
        "0a:58:{:02x}:{:02x}:{:02x}:{:02x}",
        octets[0], octets[1], octets[2], octets[3]
    );
    assert_eq!(
        pod_if["mac"].as_str().map(str::to_lowercase),
        Some(mac.clone())
    );
    let ips = r["ips"].as_array().expect("ips array");
    assert_eq!(ips.len(), 1, "{r}");
    assert_eq!(ips[0]["address"], format!("{ip}/24").as_str());
    assert_eq!(ips[0]["gateway"], "10.20.0.1");
    let index = ips[0]["interface"].as_u64().expect("ips[0].interface") as usize;
    assert_eq!(
        ifaces[index]["name"], "ovn-udn1",
        "ips[0].interface points at the pod interface"
    );
    assert!(
        !["10.20.0.0", "10.20.0.1", "10.20.0.255"].contains(&ip.as_str()),
        "{ip}"
    );
    let routes = r["routes"].as_array().expect("routes array");
    assert!(
        routes
            .iter()
            .any(|rt| rt["dst"] == "0.0.0.0/0" && rt["gw"] == "10.20.0.1"),
        "no default route via the gateway: {r}"
    );

    // Pod side.
    let link = net::link(pod.ns(), "ovn-udn1").expect("pod interface exists");
    assert_eq!(link["address"].as_str(), Some(mac.as_str()));
    assert_eq!(link["mtu"], 1400);
    assert!(
        link["flags"]
            .as_array()
            .is_some_and(|f| f.iter().any(|x| x == "UP")),
        "pod interface is down: {link}"
    );
    assert_eq!(
        net::addresses(pod.ns(), "ovn-udn1"),
        vec![format!("{ip}/24")]
    );
    let defaults: Vec<Value> = net::routes(pod.ns(), "-4")
        .into_iter()
        .filter(|rt| rt["dst"] == "default")
        .collect();
    assert_eq!(defaults.len(), 1, "{defaults:?}");
    assert_eq!(defaults[0]["gateway"], "10.20.0.1");
    assert_eq!(defaults[0]["dev"], "ovn-udn1");
    assert_eq!(net::tx_checksumming(pod.ns(), "ovn-udn1"), "off");

    // OVN northbound.
    let switches = ovn::switches_named(&net.switch_name());
    assert_eq!(switches.len(), 1, "switch {}", net.switch_name());
    let ls = &switches[0];
    assert_eq!(
        map_get(ls, "external_ids", "k8s.ovn.org/network"),
        Some(net.name.as_str())
    );
    assert_eq!(
        map_get(ls, "external_ids", "k8s.ovn.org/role"),
        Some("primary")
    );
    assert_eq!(
        map_get(ls, "external_ids", "k8s.ovn.org/topology"),
        Some("layer2")
    );
    assert_eq!(map_get(ls, "other_config", "subnet"), Some("10.20.0.0/24"));
    let lsp_name = pod.lsp_name();
    assert!(lsp_name.starts_with(&format!("e2e.{}_e2e_", net.name.replace('-', "."))));
    let lsp = ovn::lsp(&lsp_name).unwrap_or_else(|| panic!("LSP {lsp_name} missing"));
    assert_eq!(
        map_get(&lsp, "external_ids", "sandbox"),
        Some(pod.spec.container_id.as_str())
    );
    assert_eq!(
        map_get(&lsp, "external_ids", "pod-if-name"),
        Some("ovn-udn1")
    );
    assert_eq!(
        map_get(&lsp, "external_ids", "k8s.ovn.org/network"),
        Some(net.name.as_str())
    );
    assert_eq!(map_get(&lsp, "options", "requested-chassis"), Some("node1"));
    // The rest of DESIGN.md's LSP tags, as ovn-kubernetes sets them.
    let k8s = pod.spec.k8s.as_ref().expect("default pods carry K8S args");
    assert_eq!(map_get(&lsp, "external_ids", "namespace"), Some("e2e"));
    assert_eq!(map_get(&lsp, "external_ids", "pod"), Some("true"));
    assert_eq!(map_get(&lsp, "external_ids", "k8s.ovn.org/nad"), net.nad());
    assert_eq!(
        map_get(&lsp, "external_ids", "k8s.ovn.org/topology"),
        Some("layer2")
    );
    assert_eq!(
        map_get(&lsp, "options", "iface-id-ver"),
        Some(k8s.uid.as_str())
    );
    let addresses: Vec<String> = list(lsp.get("addresses"))
        .iter()
        .filter_map(|a| a.as_str().map(str::to_owned))
        .collect();
    assert!(
        addresses
            .iter()
            .any(|a| a.contains(&mac) && a.contains(&ip)),
        "LSP addresses {addresses:?} lack {mac} {ip}"
    );
    assert_eq!(net.lsp_names(), BTreeSet::from([lsp_name.clone()]));

    // OVS on the chassis.
    let ifs = ovn::interfaces_with_iface_id(1, &lsp_name);
    assert_eq!(
        ifs.len(),
        1,
        "OVS interfaces with iface-id {lsp_name}: {ifs:?}"
    );
    assert_eq!(
        map_get(&ifs[0], "external_ids", "ovn-installed"),
        Some("true")
    );
    let tags = |key: &str| map_get(&ifs[0], "external_ids", key).map(str::to_owned);
    assert_eq!(
        tags("sandbox").as_deref(),
        Some(pod.spec.container_id.as_str())
    );
    assert_eq!(tags("pod-if-name").as_deref(), Some("ovn-udn1"));
    assert_eq!(tags("attached_mac").as_deref(), Some(mac.as_str()));
    assert_eq!(tags("iface-id-ver").as_deref(), Some(k8s.uid.as_str()));
    assert_eq!(
        tags("k8s.ovn.org/network").as_deref(),
        Some(net.name.as_str())
    );
    assert!(
        tags("ip_addresses").is_some_and(|a| a.contains(&format!("{ip}/24"))),
        "OVS ip_addresses {:?} lack {ip}/24",
        tags("ip_addresses")
    );
    let if_name = column_str(&ifs[0], "name")
        .expect("interface name")
        .to_owned();
    if let Some(host) = pod.host_veth() {
        assert_eq!(if_name, host, "result's host veth is the OVS interface");
    }
    assert!(
        net::link(&sandbox().node_netns(1), &if_name).is_some(),
        "host veth {if_name} in udn-node1"
    );
    let port = ovn::ovs_port(1, &if_name).unwrap_or_else(|| panic!("no OVS Port {if_name}"));
    assert_eq!(map_get(&port, "other_config", "transient"), Some("true"));
    assert!(ovn::br_int_ports(1).contains(&if_name));
}

#[test]
fn lsp_name_without_k8s_args_uses_container_id_and_ifname() {
    let net = Network::layer2("nok8s", "10.21.0.0/24");
    let pod = PodSpec::new(&net, 2).without_k8s().ifname("net1").add();
    let expected = format!(
        "{}{}_net1",
        e2e::network::ovn_prefix(&net.name),
        &pod.spec.container_id[..12]
    );
    assert_eq!(pod.lsp_name(), expected);
    let lsp = ovn::lsp(&expected).unwrap_or_else(|| panic!("LSP {expected} missing"));
    assert_eq!(map_get(&lsp, "options", "requested-chassis"), Some("node2"));
    assert_eq!(map_get(&lsp, "external_ids", "pod-if-name"), Some("net1"));
    assert!(net::link(pod.ns(), "net1").is_some());
}

/// A /29 with two excluded addresses has exactly three free: IPAM hands them
/// out, refuses a fourth, and hands one out again after its DEL.
#[test]
fn del_frees_the_address_of_an_exhausted_subnet() {
    let net =
        Network::layer2("exhaust", "10.22.0.0/29").with("excludeSubnets", json!("10.22.0.2/31"));
    let mut pods: Vec<Pod> = (0..3).map(|i| Pod::add(&net, 1 + i % 2)).collect();
    let got: BTreeSet<String> = pods.iter().map(Pod::ip).collect();
    let free: BTreeSet<String> = ["10.22.0.4", "10.22.0.5", "10.22.0.6"]
        .map(String::from)
        .into();
    assert_eq!(
        got, free,
        "IPAM must skip network, gateway, excluded and broadcast addresses"
    );

    let spec = PodSpec::new(&net, 2);
    let before = Before::take(&net, &spec);
    let failed = spec
        .try_add()
        .expect_err("a fourth ADD on a full subnet must fail");
    assert_nothing_created(&net, &before, &failed.spec, "ADD on an exhausted subnet");
    drop(failed);

    let mut victim = pods.remove(1);
    let freed = victim.ip();
    let host = victim.host_veth();
    victim.del().expect_ok("DEL");
    assert_attachment_gone(&victim.spec, host.as_deref(), "DEL");
    assert_eq!(net.lsp_names().len(), 2);

    let again = Pod::add(&net, 2);
    assert_eq!(again.ip(), freed, "the freed address is handed out again");
    net::assert_ping(again.ns(), &pods[0].ip());
}

#[test]
fn del_twice_succeeds() {
    let net = Network::layer2("deltwice", "10.23.0.0/24");
    let mut pod = Pod::add(&net, 1);
    let host = pod.host_veth();
    pod.del().expect_ok("first DEL");
    assert_attachment_gone(&pod.spec, host.as_deref(), "first DEL");
    pod.call("DEL").run().expect_ok("second DEL");
    assert_attachment_gone(&pod.spec, host.as_deref(), "second DEL");
}

#[test]
fn del_after_the_netns_is_gone_cleans_up() {
    let net = Network::layer2("delnons", "10.24.0.0/24");
    let mut pod = Pod::add(&net, 2);
    let host = pod.host_veth();
    pod.spec.netns.delete();
    pod.del().expect_ok("DEL after netns deletion");
    assert_attachment_gone(&pod.spec, host.as_deref(), "DEL after netns deletion");
    assert!(net.lsp_names().is_empty());
}

/// DEL with an empty CNI_NETNS still frees LSP, port and IP: a new ADD asking
/// for the same static IP succeeds.
#[test]
fn del_with_empty_netns_frees_lsp_and_ip() {
    let net = Network::layer2("delempty", "10.25.0.0/24");
    let static_ip = json!({ "ips": ["10.25.0.77/24"] });
    let pod = PodSpec::new(&net, 1)
        .conf_key("runtimeConfig", static_ip.clone())
        .add();
    assert_eq!(pod.ip(), "10.25.0.77");
    let host = pod.host_veth();
    pod.call("DEL")
        .var("CNI_NETNS", Some(""))
        .run()
        .expect_ok("DEL with empty CNI_NETNS");
    assert!(
        ovn::lsp(&pod.lsp_name()).is_none(),
        "LSP survives DEL with empty CNI_NETNS"
    );
    e2e::leftovers::assert_no_ovs_port(&pod.spec, "DEL with empty CNI_NETNS");
    if let Some(host) = &host {
        assert!(
            net::link(&sandbox().node_netns(1), host).is_none(),
            "host veth {host} remains"
        );
    }
    let again = PodSpec::new(&net, 2)
        .conf_key("runtimeConfig", static_ip)
        .add();
    assert_eq!(again.ip(), "10.25.0.77", "static IP is free again");
}

/// A late DEL of an old sandbox of a pod must not undo the pod's newer sandbox.
#[test]
fn late_del_of_an_old_sandbox_keeps_the_new_one() {
    let net = Network::layer2("late", "10.29.0.0/24");
    let peer = Pod::add(&net, 2);
    let mut old = PodSpec::new(&net, 1).k8s("e2e", "restarted").add();
    let mut newer_spec = PodSpec::new(&net, 1);
    newer_spec.k8s = old.spec.k8s.clone();
    let newer = newer_spec.add();
    assert_eq!(old.lsp_name(), newer.lsp_name(), "same pod, same LSP name");
    assert_eq!(
        newer.ip(),
        old.ip(),
        "the pod keeps its address across sandboxes"
    );

    let old_veth = old.host_veth().expect("ADD reports the host veth");
    assert_ne!(
        Some(&old_veth),
        newer.host_veth().as_ref(),
        "one host veth per sandbox"
    );
    old.del().expect_ok("late DEL of the old sandbox");
    assert!(
        net::link(&sandbox().node_netns(1), &old_veth).is_none(),
        "the old sandbox's host veth {old_veth} remains"
    );

    let lsp = ovn::lsp(&newer.lsp_name()).expect("the newer sandbox's LSP survives the late DEL");
    assert_eq!(
        map_get(&lsp, "external_ids", "sandbox"),
        Some(newer.spec.container_id.as_str())
    );
    let ifs = ovn::interfaces_of_sandbox(1, &newer.spec.container_id);
    assert_eq!(ifs.len(), 1, "the newer sandbox's OVS port survives");
    assert_eq!(
        map_get(&ifs[0], "external_ids", "ovn-installed"),
        Some("true")
    );
    assert!(
        ovn::interfaces_of_sandbox(1, &old.spec.container_id).is_empty(),
        "the old sandbox's OVS port is gone"
    );
    assert!(net::link(newer.ns(), "ovn-udn1").is_some());
    net::assert_ping(newer.ns(), &peer.ip());
    net::assert_ping(peer.ns(), &newer.ip());
}

/// `ovn-k8s-cni-overlay` is accepted as the type, so existing NADs work unchanged.
#[test]
fn ovn_kubernetes_type_name_is_accepted() {
    let net =
        Network::layer2("ovnktype", "10.31.0.0/24").with("type", json!("ovn-k8s-cni-overlay"));
    let a = Pod::add(&net, 1);
    let b = Pod::add(&net, 2);
    net::assert_ping(a.ns(), &b.ip());
}

/// A failure after the logical port exists (here: no ovn-controller ever
/// installs it, as its chassis serves nobody) undoes everything: LSP and
/// address, OVS port, veth.
#[test]
fn a_failure_after_the_port_exists_is_rolled_back() {
    let net = Network::layer2("rollback", "10.32.0.0/24");
    let node = NodeConfigFile::for_node(
        1,
        &[
            ("readyTimeout", json!(1)),
            ("chassis", json!("a-chassis-nobody-runs")),
        ],
    );
    let spec = PodSpec::new(&net, 1).env("OVN_UDN_CNI_NODE_CONFIG", &node.path());
    let before = Before::take(&net, &spec);
    let reply = spec.call("ADD").run();
    reply.expect_error_naming(104, &["ovn-installed"], "port never installed");
    assert_nothing_created(
        &net,
        &before,
        &spec,
        "ADD rolled back after the LSP existed",
    );
    // The address went back to the pool: the next pod gets the first one.
    let next = Pod::add(&net, 1);
    assert_eq!(next.ip(), "10.32.0.2");
}

/// A pod attaches to a network once: a second interface of the same sandbox
/// on the same NAD is refused instead of sharing (and later deleting) the
/// first one's port.
#[test]
fn a_second_attachment_of_one_nad_is_refused() {
    let net = Network::layer2("twice", "10.33.0.0/24");
    let first = Pod::add(&net, 1);
    let second = PodSpec::another_interface(&first, &net, "net2");
    second.call("ADD").run().expect_error_naming(
        101,
        &["already attached", "ovn-udn1"],
        "same NAD twice",
    );
    assert!(
        net::link(first.ns(), "net2").is_none(),
        "no second interface"
    );
    let lsp = ovn::lsp(&first.lsp_name()).expect("the first port is untouched");
    assert_eq!(
        map_get(&lsp, "external_ids", "pod-if-name"),
        Some("ovn-udn1")
    );
}

/// DEL succeeds even when ADD-only input is malformed, so a runtime can
/// always clean up.
#[test]
fn del_ignores_add_only_input() {
    let net = Network::layer2("delinput", "10.34.0.0/24");
    let mut pod = Pod::add(&net, 1);
    let mut conf = pod.spec.conf.clone();
    conf["runtimeConfig"] = json!({"mac": "not-a-mac", "ips": ["nonsense"]});
    pod.call("DEL")
        .config(&conf)
        .run()
        .expect_ok("DEL with garbage runtimeConfig");
    assert!(net.lsp_names().is_empty(), "DEL removed the port");
    pod.del().expect_ok("and DEL stays idempotent");
}
