//! Every kind of bad input: the right CNI error code, a message naming the
//! problem, and nothing created (no LSP, IP, OVS port or veth).

use e2e::leftovers::{Before, assert_nothing_created, assert_rejected};
use e2e::node_config::{NodeConfigFile, log_file};
use e2e::{Call, Network, Pod, PodSpec, process};
use serde_json::{Value, json};

fn add_with_conf(net: &Network, conf: Value, code: u64, needles: &[&str], what: &str) {
    let spec = PodSpec::new(net, 1);
    let call = spec.call("ADD").config(&conf);
    assert_rejected(net, &spec, call, code, needles, what);
}

#[test]
fn unsupported_cni_version_is_code_1() {
    let net = Network::layer2("badver", "10.50.0.0/24");
    for version in ["0.2.0", "2.0.0", "banana"] {
        add_with_conf(
            &net,
            net.config_at(version),
            1,
            &["cniVersion"],
            &format!("cniVersion {version}"),
        );
    }
}

/// A request refused before any work still leaves a line in the node's log,
/// naming the problem.
#[test]
fn rejected_requests_are_logged() {
    let net = Network::layer2("logged", "10.50.0.0/24");
    let version = format!("9.9.{}", std::process::id());
    add_with_conf(
        &net,
        net.config_at(&version),
        1,
        &["cniVersion"],
        "unknown version",
    );
    let log_file = log_file(1);
    let log = std::fs::read_to_string(&log_file).expect("log file");
    assert!(
        log.lines()
            .any(|l| l.contains("rejected") && l.contains(&version)),
        "no log line for the rejected request in {}",
        log_file.display()
    );
}

#[test]
fn missing_netns_path_is_code_3() {
    let net = Network::layer2("nonetns", "10.50.0.0/24");
    let spec = PodSpec::new(&net, 1);
    let call = spec
        .call("ADD")
        .var("CNI_NETNS", Some("/var/run/netns/e2e-no-such-netns"));
    assert_rejected(&net, &spec, call, 3, &["netns"], "CNI_NETNS not existing");
}

#[test]
fn bad_environment_is_code_4() {
    let net = Network::layer2("badenv", "10.50.0.0/24");
    let spec = PodSpec::new(&net, 1);
    let cases: Vec<(Call, Vec<&str>, &str)> = vec![
        (
            spec.call("ADD").var("CNI_NETNS", None),
            vec!["CNI_NETNS"],
            "CNI_NETNS unset",
        ),
        (
            spec.call("ADD").var("CNI_NETNS", Some("")),
            vec!["CNI_NETNS"],
            "CNI_NETNS empty",
        ),
        (
            spec.call("ADD").var("CNI_CONTAINERID", None),
            vec!["CNI_CONTAINERID"],
            "CNI_CONTAINERID unset",
        ),
        (
            spec.call("ADD").var("CNI_CONTAINERID", Some("bad id/!")),
            vec!["CNI_CONTAINERID"],
            "container id with / and space",
        ),
        (
            spec.call("ADD")
                .var("CNI_CONTAINERID", Some("-leading-dash")),
            vec!["CNI_CONTAINERID"],
            "container id with leading dash",
        ),
        (
            spec.call("ADD").var("CNI_IFNAME", None),
            vec!["CNI_IFNAME"],
            "CNI_IFNAME unset",
        ),
        (
            spec.call("ADD").var("CNI_IFNAME", Some("abcdefghijklmnop")),
            vec!["abcdefghijklmnop", "CNI_IFNAME"],
            "ifname of 16 characters",
        ),
        (
            spec.call("ADD").var("CNI_IFNAME", Some("eth/0")),
            vec!["eth/0", "CNI_IFNAME"],
            "ifname with /",
        ),
        (
            spec.call("ADD").var("CNI_COMMAND", Some("FROB")),
            vec!["CNI_COMMAND", "FROB"],
            "unknown CNI_COMMAND",
        ),
    ];
    for (call, needles, what) in cases {
        assert_rejected(&net, &spec, call, 4, &needles, what);
    }
}

#[test]
fn unknown_cni_args_need_ignore_unknown() {
    let net = Network::layer2("unkargs", "10.50.0.0/24");
    let mut spec = PodSpec::new(&net, 1).cni_arg("E2E_FROBNICATE=yes");
    spec.ignore_unknown = false;
    let call = spec.call("ADD");
    assert_rejected(
        &net,
        &spec,
        call,
        4,
        &["E2E_FROBNICATE"],
        "unknown CNI_ARGS key",
    );
    drop(spec);
    // The same key with IgnoreUnknown=1 is accepted.
    let pod = PodSpec::new(&net, 1).cni_arg("E2E_FROBNICATE=yes").add();
    assert!(e2e::ovn::lsp(&pod.lsp_name()).is_some());
}

#[test]
fn malformed_json_is_code_6() {
    let net = Network::layer2("badjson", "10.50.0.0/24");
    let spec = PodSpec::new(&net, 1);
    for (stdin, what) in [
        (
            &b"{\"cniVersion\":\"1.1.0\",\"name\":"[..],
            "truncated JSON",
        ),
        (&b"not json at all"[..], "not JSON"),
        (&b"[1,2,3]"[..], "a JSON array"),
    ] {
        let before = Before::take(&net, &spec);
        let reply = spec.call("ADD").raw_stdin(stdin).run();
        reply.expect_error(6, what);
        assert_nothing_created(&net, &before, &spec, what);
    }
}

#[test]
fn invalid_network_config_is_code_7() {
    let net = Network::layer2("badconf", "10.51.0.0/24");
    let with = |key: &str, value: Value| {
        let mut conf = net.conf.clone();
        conf[key] = value;
        conf
    };
    let mut nameless = net.conf.clone();
    nameless.as_object_mut().expect("object").remove("name");
    let cases: Vec<(Value, &[&str], &str)> = vec![
        (nameless, &["name"], "missing name"),
        (
            with("topology", json!("layer9")),
            &["topology"],
            "unknown topology",
        ),
        (
            with("subnets", json!("10.51.0.0/33")),
            &["subnets"],
            "prefix /33",
        ),
        (
            with("subnets", json!("not-a-cidr")),
            &["subnets"],
            "subnets not a CIDR",
        ),
        (
            with("subnets", json!("10.51.0.0/24,300.1.0.0/16")),
            &["subnets"],
            "second subnet bad",
        ),
        (
            with("excludeSubnets", json!("10.99.0.0/24")),
            &["excludeSubnets"],
            "excludeSubnets outside subnets",
        ),
        (
            with("excludeSubnets", json!("garbage")),
            &["excludeSubnets"],
            "excludeSubnets not a CIDR",
        ),
        (with("mtu", json!(100000)), &["mtu"], "mtu 100000"),
        (
            with("ipam", json!({"type": "host-local"})),
            &["ipam"],
            "ipam and subnets are exclusive",
        ),
        (
            with("type", json!("bridge")),
            &["type", "bridge"],
            "another plugin's type",
        ),
        (
            with("nbAddress", json!("nb.example:6641")),
            &["nbAddress"],
            "a remote that can never work",
        ),
        (
            with("subnets", json!("10.51.0.0/24/16")),
            &["subnets", "/16"],
            "host prefix shorter than the subnet",
        ),
        (
            with("vlanID", json!(100)),
            &["vlanID"],
            "a VLAN on a layer2 network",
        ),
    ];
    for (conf, needles, what) in cases {
        add_with_conf(&net, conf, 7, needles, what);
    }
}

#[test]
fn unreachable_nb_or_ovs_is_code_11() {
    let net = Network::layer2("unreach", "10.52.0.0/24");
    for (key, remote) in [
        ("nbAddress", "unix:/nonexistent/e2e-nb.sock"),
        ("ovsAddress", "unix:/nonexistent/e2e-ovs.sock"),
    ] {
        let node = NodeConfigFile::for_node(1, &[(key, json!(remote))]);
        let spec = PodSpec::new(&net, 1);
        let call = spec
            .call("ADD")
            .var("OVN_UDN_CNI_NODE_CONFIG", Some(&node.path()));
        assert_rejected(
            &net,
            &spec,
            call,
            11,
            &[remote],
            &format!("{key} missing socket"),
        );
    }
}

#[test]
fn existing_ifname_in_the_netns_is_code_101() {
    let net = Network::layer2("ifexists", "10.53.0.0/24");
    let spec = PodSpec::new(&net, 1);
    process::must(
        "ip",
        &[
            "-n",
            &spec.netns.name,
            "link",
            "add",
            "ovn-udn1",
            "type",
            "veth",
            "peer",
            "name",
            "e2e-peer",
        ],
    );
    let call = spec.call("ADD");
    assert_rejected(
        &net,
        &spec,
        call,
        101,
        &["ovn-udn1"],
        "CNI_IFNAME already in the netns",
    );
    // The existing interface (a veth here: the kernel may lack `dummy`) is untouched.
    let link = e2e::net::link(&spec.netns.name, "ovn-udn1").expect("the existing link stays");
    assert_eq!(link["linkinfo"]["info_kind"], "veth");
    assert!(e2e::net::link(&spec.netns.name, "e2e-peer").is_some());
}

#[test]
fn unavailable_static_ip_is_code_102() {
    let net =
        Network::layer2("ipused", "10.54.0.0/24").with("excludeSubnets", json!("10.54.0.192/26"));
    let ips = |ip: &str| json!({ "ips": [ip] });
    let holder = PodSpec::new(&net, 2)
        .conf_key("runtimeConfig", ips("10.54.0.50/24"))
        .add();
    assert_eq!(holder.ip(), "10.54.0.50");

    for (ip, what) in [
        ("10.54.0.50/24", "static IP in use"),
        ("10.99.9.9/24", "static IP outside the subnet"),
        ("10.54.0.200/24", "static IP inside excludeSubnets"),
    ] {
        let spec = PodSpec::new(&net, 1).conf_key("runtimeConfig", ips(ip));
        let call = spec.call("ADD");
        let addr = ip.split('/').next().unwrap_or(ip);
        assert_rejected(&net, &spec, call, 102, &[addr], what);
    }
    // The holder is unharmed.
    let peer = Pod::add(&net, 1);
    e2e::net::assert_ping(peer.ns(), "10.54.0.50");
}

#[test]
fn static_ip_in_use_is_code_102_without_subnets_too() {
    // No IPAM: the user picks addresses, but two ports never share one.
    let net = Network::layer2("ipusednoipam", "").with("subnets", Value::Null);
    let ips = json!({ "ips": ["10.55.0.7/24"] });
    let holder = PodSpec::new(&net, 2)
        .conf_key("runtimeConfig", ips.clone())
        .add();
    assert_eq!(holder.ip(), "10.55.0.7");
    let spec = PodSpec::new(&net, 1).conf_key("runtimeConfig", ips);
    let call = spec.call("ADD");
    assert_rejected(
        &net,
        &spec,
        call,
        102,
        &["10.55.0.7", "in use"],
        "static IP in use without subnets",
    );
}
