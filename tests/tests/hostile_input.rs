//! Tenant input never reaches the node: the network config, CNI_ARGS,
//! `args` and `runtimeConfig` of a hostile tenant get the right CNI error,
//! naming the field, before any effect; nothing is created in the pod or
//! node namespaces, in OVS or in OVN; nothing hangs. One test per finding
//! of the hardening issue.

use std::os::unix::net::UnixListener;
use std::time::{Duration, Instant};

use e2e::leftovers::{assert_refused, assert_rejected};
use e2e::node_config::NodeConfigFile;
use e2e::temp::TempPath;
use e2e::{Call, Network, Pod, PodSpec, net, ovn, process, sandbox};
use serde_json::{Value, json};

fn with(net: &Network, key: &str, value: Value) -> Value {
    let mut conf = net.conf.clone();
    conf[key] = value;
    conf
}

fn rejected_conf(net: &Network, conf: Value, code: u64, needles: &[&str], what: &str) {
    let spec = PodSpec::new(net, 1);
    let call = spec.call("ADD").config(&conf);
    assert_rejected(net, &spec, call, code, needles, what);
}

/// Finding 1: node settings in a network config are refused by name, and
/// the database a tenant names is never contacted.
#[test]
fn node_settings_in_a_network_config_are_refused() {
    let net = Network::layer2("nodekeys", "10.60.0.0/24");
    let evil = TempPath::new("evil.sock");
    let listener = UnixListener::bind(evil.path()).expect("bind the evil socket");
    listener.set_nonblocking(true).expect("nonblocking");
    let remote = format!("unix:{}", evil.text());
    for (key, value) in [
        ("nbAddress", json!(remote)),
        ("ovsAddress", json!(remote)),
        ("bridge", json!("br-ex")),
        ("readyTimeout", json!(18_446_744_073_709_551_615_u64)),
        ("tls", json!({"privateKey": "/etc/shadow"})),
        ("chassis", json!("node2")),
        ("logFile", json!("/etc/passwd")),
        ("logLevel", json!("trace")),
    ] {
        rejected_conf(
            &net,
            with(&net, key, value),
            7,
            &[&format!("`{key}` is a node setting")],
            &format!("{key} in the network config"),
        );
    }
    assert!(
        listener.accept().is_err(),
        "the plugin connected to the socket the tenant named"
    );
    let br_ex = sandbox().vsctl(1, &["list-ports", "br-ex"]);
    assert!(
        br_ex.lines().all(|p| !p.starts_with("udn")),
        "a pod was plugged into br-ex: {br_ex}"
    );
}

/// Finding 3: the node config's own values are bounded too.
#[test]
fn node_config_values_are_bounded_and_typed() {
    let net = Network::layer2("nodebounds", "10.60.1.0/24");
    for (changes, needle) in [
        (
            vec![("readyTimeout", json!(18_446_744_073_709_551_615_u64))],
            "readyTimeout",
        ),
        (vec![("readyTimeout", json!(0))], "readyTimeout"),
        (vec![("readyTimeout", json!("30"))], "readyTimeout"),
        (vec![("logMaxBytes", json!(1))], "logMaxBytes"),
        (vec![("bridge", json!("br/int"))], "bridge"),
    ] {
        let node = NodeConfigFile::for_node(1, &changes);
        let spec = PodSpec::new(&net, 1);
        let call = spec
            .call("ADD")
            .var("OVN_UDN_CNI_NODE_CONFIG", Some(&node.path()));
        assert_rejected(
            &net,
            &spec,
            call,
            7,
            &[needle],
            &format!("node config {changes:?}"),
        );
    }
    // Finding 11: a node config that is not an object is not read positionally.
    for text in ["[]", r#"["unix:/x"]"#, "5"] {
        let node = NodeConfigFile::raw(text.as_bytes(), Value::Null);
        let spec = PodSpec::new(&net, 1);
        let call = spec
            .call("ADD")
            .var("OVN_UDN_CNI_NODE_CONFIG", Some(&node.path()));
        assert_rejected(&net, &spec, call, 7, &["JSON object", &node.path()], text);
    }
}

/// Finding 2: GC deletes a host link only if the plugin derived its name
/// for that attachment and it is a veth, never because an OVS row names it.
#[test]
fn gc_never_deletes_a_link_it_did_not_make() {
    let net = Network::layer2("gcvictim", "10.60.2.0/24");
    let sb = sandbox();
    let ns = sb.node_netns(1);
    let victim = format!("vic{}", &e2e::names::container_id()[..8]);
    let peer = format!("{victim}p");
    process::must(
        "ip",
        &[
            "-n", &ns, "link", "add", &victim, "type", "veth", "peer", "name", &peer,
        ],
    );
    let nad = net.nad().expect("nad").to_owned();
    let ids = format!(
        "external_ids={{\"k8s.ovn.org/network\"=\"{}\",\"k8s.ovn.org/nad\"=\"{nad}\",sandbox=x,\"pod-if-name\"=eth0,\"iface-id\"=x}}",
        net.name
    );
    sb.vsctl(
        1,
        &[
            "add-port",
            "br-int",
            &victim,
            "--",
            "set",
            "Interface",
            &victim,
            &ids,
        ],
    );
    let mut conf = net.conf.clone();
    conf["cni.dev/valid-attachments"] = json!([]);
    let reply = Call::new("GC", 1).config(&conf).run();
    let link_kept = net::link(&ns, &victim).is_some();
    let port_kept = ovn::ovs_port(1, &victim).is_some();
    sb.vsctl(1, &["--if-exists", "del-port", "br-int", &victim]);
    let _ = process::attempt("ip", &["-n", &ns, "link", "del", &victim]);
    reply.expect_ok("GC");
    assert!(
        link_kept,
        "GC deleted {victim}, a link the plugin never made"
    );
    assert!(
        port_kept,
        "GC deleted OVS port {victim}, not named by the plugin"
    );
}

/// Finding 5: the plugin's own (or the node's) namespace is no pod's.
#[test]
fn the_plugins_own_namespace_is_refused() {
    let net = Network::layer2("ownns", "10.60.3.0/24");
    let chassis_ns = sandbox().node_netns(1);
    // (The node's own, /proc/1/ns/net, is refused the same way where it
    // can be opened; in a CI container pid 1's namespaces may not be.)
    for netns in [
        format!("/var/run/netns/{chassis_ns}"),
        "/proc/self/ns/net".to_owned(),
    ] {
        let spec = PodSpec::new(&net, 1);
        let call = spec.call("ADD").var("CNI_NETNS", Some(&netns));
        assert_rejected(&net, &spec, call, 4, &["CNI_NETNS"], &netns);
    }
    // The pod interface would have been made there under its own name.
    assert!(
        net::link(&chassis_ns, "ovn-udn1").is_none(),
        "ovn-udn1 in {chassis_ns}"
    );
    assert!(
        !process::attempt("ip", &["link", "show", "ovn-udn1"]).ok(),
        "ovn-udn1 in the node's namespace"
    );
}

/// Findings 6 and 12: a FIFO, a socket, a mount namespace or a regular file
/// as CNI_NETNS is "no such container" (3), at once.
#[test]
fn cni_netns_must_be_a_network_namespace() {
    let net = Network::layer2("netnstype", "10.60.4.0/24");
    let fifo = TempPath::new("fifo");
    process::must("mkfifo", &[&fifo.text()]);
    let socket = TempPath::new("sock");
    let _listener = UnixListener::bind(socket.path()).expect("bind");
    let file = TempPath::new("file");
    std::fs::write(file.path(), "x").expect("file");
    for path in [
        fifo.text(),
        socket.text(),
        file.text(),
        "/proc/self/ns/mnt".into(),
        "/proc/self/ns/uts".into(),
    ] {
        let spec = PodSpec::new(&net, 1);
        let call = spec.call("ADD").var("CNI_NETNS", Some(&path));
        let started = Instant::now();
        assert_rejected(
            &net,
            &spec,
            call,
            3,
            &["CNI_NETNS", "not a network namespace"],
            &path,
        );
        assert!(started.elapsed() < Duration::from_secs(30), "{path}: hung");
    }
}

/// Finding 6: a FIFO as node config is refused, as log file it is not used;
/// nothing blocks on it.
#[test]
fn fifos_in_place_of_files_never_hang_the_plugin() {
    let net = Network::layer2("fifos", "10.60.5.0/24");
    let fifo = TempPath::new("node.fifo");
    process::must("mkfifo", &[&fifo.text()]);
    let spec = PodSpec::new(&net, 1);
    let call = spec
        .call("ADD")
        .var("OVN_UDN_CNI_NODE_CONFIG", Some(&fifo.text()));
    assert_rejected(
        &net,
        &spec,
        call,
        7,
        &["not a regular file"],
        "node config FIFO",
    );

    let log_fifo = TempPath::new("log.fifo");
    process::must("mkfifo", &[&log_fifo.text()]);
    let node = NodeConfigFile::for_node(1, &[("logFile", json!(log_fifo.text()))]);
    let mut pod = PodSpec::new(&net, 1)
        .env("OVN_UDN_CNI_NODE_CONFIG", &node.path())
        .add();
    pod.del().expect_ok("DEL with a FIFO as log file");
}

/// Finding 7: what a tenant writes cannot forge log lines or flood the
/// log, and the log rotates by size.
#[test]
fn logs_are_escaped_bounded_and_rotated() {
    let net = Network::layer2("logs", "10.60.6.0/24");
    let dir = TempPath::dir("logdir");
    let log = dir.path().join("names.log");
    let node = NodeConfigFile::for_node(1, &[("logFile", json!(log.display().to_string()))]);
    let forged = format!("FORGED-{}", e2e::names::run_id());
    let name = format!("x\r\n{forged} level=ERROR fake line");
    let huge = "n".repeat(1 << 20);
    for (name, what) in [
        (name.as_str(), "CR/LF in the name"),
        (huge.as_str(), "1 MB name"),
    ] {
        let spec = PodSpec::new(&net, 1).env("OVN_UDN_CNI_NODE_CONFIG", &node.path());
        let reply = spec
            .call("ADD")
            .config(&with(&net, "name", json!(name)))
            .run();
        reply.expect_error_naming(7, &["`name`"], what);
        assert!(
            reply.stdout.len() < 4096,
            "{what}: answer of {} bytes",
            reply.stdout.len()
        );
    }
    let text = std::fs::read_to_string(&log).expect("log");
    assert!(
        !text.lines().any(|l| l.starts_with(&forged)),
        "a forged line made it into {}",
        log.display()
    );
    assert!(
        text.len() < 64 * 1024,
        "two calls wrote {} bytes of log",
        text.len()
    );

    let rotating = dir.path().join("plugin.log");
    let node = NodeConfigFile::for_node(
        1,
        &[
            ("logFile", json!(rotating.display().to_string())),
            ("logMaxBytes", json!(4096)),
            ("logMaxFiles", json!(2)),
            ("logLevel", json!("debug")),
        ],
    );
    for _ in 0..40 {
        Call::new("STATUS", 1)
            .var("OVN_UDN_CNI_NODE_CONFIG", Some(&node.path()))
            .config(&net.conf)
            .run()
            .expect_ok("STATUS");
    }
    let files: Vec<String> = std::fs::read_dir(dir.path())
        .expect("log dir")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|f| f.starts_with("plugin.log"))
        .collect();
    for expected in ["plugin.log", "plugin.log.1", "plugin.log.2"] {
        assert!(
            files.iter().any(|f| f == expected),
            "{expected} in {files:?}"
        );
    }
    assert!(
        !files.iter().any(|f| f == "plugin.log.3"),
        "more than 2 rotated files: {files:?}"
    );
}

/// Finding 8: two network names with one OVN prefix never share a switch
/// or router.
#[test]
fn networks_whose_names_map_alike_never_share_ovn_rows() {
    for topology in ["layer2", "layer3"] {
        let first =
            Network::layer2("prefix-clash", "10.60.7.0/24").with("topology", json!(topology));
        let pod = Pod::add(&first, 1);
        let twin_name = first.name.replace('-', ".");
        // Its Network guard carries another name, so dropping it can never
        // delete the first network's rows.
        let twin = Network::layer2("unused", "10.60.7.0/24")
            .with("topology", json!(topology))
            .with("name", json!(twin_name));
        rejected_conf(
            &twin,
            twin.conf.clone(),
            7,
            &[&first.name],
            &format!("{topology} network {twin_name} named like {}", first.name),
        );
        let switch = first.switch_on(1);
        assert_eq!(ovn::switches_named(&switch).len(), 1, "one switch {switch}");
        let peer = Pod::add(&first, 1);
        net::assert_ping(peer.ns(), &pod.ip());
    }
}

/// Finding 8: a plain container's port is taken over only by the same
/// full container id, not by one that starts the same.
#[test]
fn a_container_id_that_merely_starts_the_same_takes_nothing_over() {
    let net = Network::layer2("idprefix", "10.60.8.0/24");
    let owner = PodSpec::new(&net, 1).without_k8s().add();
    let mut spec = PodSpec::new(&net, 1).without_k8s();
    spec.container_id = format!("{}{}", &owner.spec.container_id[..12], "f".repeat(52));
    assert_eq!(spec.lsp_name(), owner.lsp_name());
    let call = spec.call("ADD");
    assert_rejected(
        &net,
        &spec,
        call,
        101,
        &[&owner.lsp_name()],
        "container id prefix",
    );
    let lsp = ovn::lsp(&owner.lsp_name()).expect("the owner's port stays");
    assert_eq!(
        ovn::map_get(&lsp, "external_ids", "sandbox"),
        Some(owner.spec.container_id.as_str())
    );
    let peer = Pod::add(&net, 2);
    net::assert_ping(peer.ns(), &owner.ip());
}

/// Finding 9: DEL reads only what names the attachment; ADD-only fields of
/// the wrong type, or a config ADD refuses altogether, never block it.
#[test]
fn del_is_never_blocked_by_add_only_input() {
    let net = Network::layer2("delgarbage", "10.60.9.0/24");
    for (key, garbage) in [
        ("runtimeConfig", json!({"ips": "x"})),
        ("dns", json!({"nameservers": 5})),
        ("subnets", json!(7)),
        ("nbAddress", json!("unix:/tmp/evil.sock")),
    ] {
        let mut pod = Pod::add(&net, 1);
        let veth = pod.host_veth().expect("host veth");
        pod.call("DEL")
            .config(&with(&net, key, garbage))
            .run()
            .expect_ok(&format!("DEL with {key} garbage"));
        e2e::leftovers::assert_attachment_gone(&pod.spec, Some(&veth), key);
        pod.del().expect_ok("DEL again");
    }
    // A config whose very name ADD refuses cannot own anything in OVN:
    // DEL removes what is local to the attachment and succeeds.
    let mut pod = Pod::add(&net, 1);
    let veth = pod.host_veth().expect("host veth");
    let chassis_ns = sandbox().node_netns(1);
    pod.call("DEL")
        .config(&with(&net, "name", json!("bad name\n")))
        .run()
        .expect_ok("DEL with a name ADD refuses");
    assert!(net::link(&chassis_ns, &veth).is_none(), "the veth went");
    assert!(ovn::ovs_port(1, &veth).is_none(), "the OVS port went");
    pod.del().expect_ok("the proper DEL frees the logical port");
    assert!(ovn::lsp(&pod.lsp_name()).is_none());
}

/// Finding 10: every input is checked before any database is contacted:
/// with the NB unreachable, bad input is still a 4/7 (or 102) naming the
/// field, not an 11.
#[test]
fn bad_input_is_refused_before_the_nb_is_contacted() {
    let net = Network::layer2("validatefirst", "10.60.10.0/24");
    let down = NodeConfigFile::for_node(1, &[("nbAddress", json!("unix:/nonexistent/nb.sock"))]);
    let cases: Vec<(Value, &str, u64, &str)> = vec![
        (net.conf.clone(), "IP=garbage", 4, "CNI_ARGS IP"),
        (net.conf.clone(), "MAC=00:00:00:00:00:00", 4, "CNI_ARGS MAC"),
        (net.conf.clone(), "IP=127.0.0.2", 4, "loopback"),
        (net.conf.clone(), "IP=10.99.0.5", 102, "outside"),
        (with(&net, "subnets", json!("0.0.0.0/0")), "", 7, "subnets"),
        (
            with(&net, "subnets", json!("10.0.0.0/31")),
            "",
            7,
            "subnets",
        ),
        (
            with(&net, "subnets", json!("255.255.255.255/32")),
            "",
            7,
            "subnets",
        ),
        (
            with(&net, "subnets", json!("127.0.0.0/8")),
            "",
            7,
            "loopback",
        ),
        (
            with(
                &net,
                "subnets",
                json!("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe/127"),
            ),
            "",
            7,
            "subnets",
        ),
        (with(&net, "mtu", json!("big")), "", 6, "`mtu`"),
        (
            with(&net, "runtimeConfig", json!({"ips": "x"})),
            "",
            6,
            "runtimeConfig.ips",
        ),
    ];
    for (conf, arg, code, needle) in cases {
        let spec = PodSpec::new(&net, 1)
            .cni_arg(arg)
            .env("OVN_UDN_CNI_NODE_CONFIG", &down.path());
        let call = spec.call("ADD").config(&conf);
        let what = format!("{arg} {}", conf["subnets"]);
        let before = e2e::leftovers::Before::take(&net, &spec);
        call.run().expect_error_naming(code, &[needle], &what);
        e2e::leftovers::assert_nothing_created(&net, &before, &spec, &what);
    }
}

/// Finding 11: CNI_ARGS that is not UTF-8 is refused, not dropped.
#[test]
fn non_utf8_cni_args_are_refused() {
    let net = Network::layer2("utf8", "10.60.11.0/24");
    let spec = PodSpec::new(&net, 1);
    let call = spec
        .call("ADD")
        .var_bytes("CNI_ARGS", b"IgnoreUnknown=1;K8S_POD_NAME=\xff\xfe");
    assert_rejected(
        &net,
        &spec,
        call,
        4,
        &["CNI_ARGS", "UTF-8"],
        "non-UTF-8 CNI_ARGS",
    );
}

/// Finding 12: names are checked for characters and length the way the
/// kernel and Kubernetes define them.
#[test]
fn names_are_checked_like_the_kernel_and_kubernetes_do() {
    let net = Network::layer2("names", "10.60.12.0/24");
    for ifname in ["eth%d", "all", "default", "a\u{7}b", "a\tb"] {
        let spec = PodSpec::new(&net, 1).ifname(ifname);
        let call = spec.call("ADD");
        assert_refused(
            &net,
            &spec,
            call,
            4,
            &["CNI_IFNAME"],
            &format!("ifname {ifname:?}"),
        );
    }
    let long_nad = format!("e2e/{}", "a".repeat(300));
    for nad in ["../..", "a//b", long_nad.as_str(), "e2e/x\ny"] {
        rejected_conf(
            &net,
            with(&net, "netAttachDefName", json!(nad)),
            7,
            &["netAttachDefName"],
            nad,
        );
    }
    rejected_conf(
        &net,
        with(&net, "name", json!("n".repeat(400))),
        7,
        &["`name`"],
        "400-byte name",
    );
    let claim = format!("IPAM_CLAIM={}", "c".repeat(300));
    let spec = PodSpec::new(&net, 1).cni_arg(&claim);
    let call = spec.call("ADD");
    assert_rejected(&net, &spec, call, 4, &["IPAM_CLAIM"], "300-byte claim");
    let spec = PodSpec::new(&net, 1).k8s("Upper", "pod");
    let call = spec.call("ADD");
    assert_rejected(
        &net,
        &spec,
        call,
        4,
        &["K8S_POD_NAMESPACE"],
        "namespace with capitals",
    );
    let mut spec = PodSpec::new(&net, 1);
    spec.container_id = "c".repeat(200);
    let call = spec.call("ADD");
    assert_refused(
        &net,
        &spec,
        call,
        4,
        &["CNI_CONTAINERID"],
        "200-byte container id",
    );
}
