//! The Go libcni (Debian bookworm's golang-github-appc-cni-dev, libcni
//! 1.1) drives the plugin through `tests/libcni-client`: VERSION and
//! config validation, ADD with capability args and CNI_ARGS, CHECK from the
//! result cache, DEL twice. libcni 1.1 predates GC and STATUS (libcni 1.2,
//! spec 1.1), so those verbs are covered by check_gc_status.rs alone.

use e2e::leftovers::assert_lsp_and_port_gone;
use e2e::libcni::{Attachment, Libcni};
use e2e::network::ovn_prefix;
use e2e::{Netns, Network, names, net, ovn};
use serde_json::{Value, json};

fn first_address(result: &Value) -> String {
    result["ips"][0]["address"]
        .as_str()
        .unwrap_or_else(|| panic!("no address in the ADD result {result}"))
        .to_owned()
}

#[test]
fn libcni_version_and_validate_see_the_plugins_versions_and_capabilities() {
    let net = Network::layer2("libcniver", "10.92.1.0/24");
    let caps = json!({ "ips": true, "mac": true });
    let runtime = Libcni::on(1, &net, &[("capabilities", caps)]);
    let version = runtime.json("version", None);
    for wanted in ["0.3.1", "0.4.0", "1.0.0", "1.1.0"] {
        assert!(
            version["supportedVersions"]
                .as_array()
                .is_some_and(|v| v.contains(&json!(wanted))),
            "VERSION lacks {wanted}: {version}"
        );
    }
    let mut capabilities: Vec<Value> = runtime
        .json("validate", None)
        .as_array()
        .cloned()
        .unwrap_or_default();
    capabilities.sort_by_key(Value::to_string);
    assert_eq!(capabilities, vec![json!("ips"), json!("mac")]);
}

#[test]
fn libcni_add_check_del_del_across_two_chassis() {
    let net = Network::layer2("libcni", "10.92.0.0/24");
    let caps = json!({ "ips": true, "mac": true });
    let one = Libcni::on(1, &net, &[("capabilities", caps.clone())]);
    let two = Libcni::on(2, &net, &[("capabilities", caps)]);
    let ns_a = Netns::new();
    let ns_b = Netns::new();
    let a = Attachment {
        id: names::container_id(),
        netns: ns_a.path(),
        ifname: "eth0".into(),
        flags: ["-ips", "10.92.0.70/24", "-mac", "02:92:00:00:00:70"]
            .map(str::to_owned)
            .to_vec(),
    };
    let b = Attachment {
        id: names::container_id(),
        netns: ns_b.path(),
        ifname: "eth0".into(),
        flags: vec![
            "-args".into(),
            format!(
                "IgnoreUnknown=1;K8S_POD_NAMESPACE=e2e;K8S_POD_NAME={}",
                ns_b.name
            ),
        ],
    };
    let lsp_a = format!("{}{}_eth0", ovn_prefix(&net.name), &a.id[..12]);
    let owner = net.nad().expect("the test network has a NAD name");
    let lsp_b = format!("{}e2e_{}", ovn_prefix(owner), ns_b.name);

    let result_a = one.add(&a);
    assert_eq!(result_a["cniVersion"], "1.0.0");
    assert_eq!(first_address(&result_a), "10.92.0.70/24");
    assert!(
        result_a["interfaces"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|i| i["mac"] == "02:92:00:00:00:70" && i["sandbox"] == a.netns.as_str()),
        "ADD result lacks the requested MAC in the sandbox: {result_a}"
    );
    let result_b = two.add(&b);
    let cidr_b = first_address(&result_b);
    assert!(cidr_b.starts_with("10.92.0.") && cidr_b != "10.92.0.70/24");
    let ip_b = cidr_b.split('/').next().expect("address").to_owned();
    assert_eq!(net::addresses(&ns_a.name, "eth0"), vec!["10.92.0.70/24"]);
    assert_eq!(net::addresses(&ns_b.name, "eth0"), vec![cidr_b.clone()]);
    assert!(ovn::lsp(&lsp_a).is_some(), "no LSP {lsp_a}");
    assert!(
        ovn::lsp(&lsp_b).is_some(),
        "no LSP {lsp_b} (CNI_ARGS ignored?)"
    );
    net::assert_ping(&ns_a.name, &ip_b);
    net::assert_ping(&ns_b.name, "10.92.0.70");

    // CHECK runs with the cached ADD result as prevResult.
    one.must("check", Some(&a));
    two.must("check", Some(&b));
    assert_eq!(one.cached_results().len(), 1, "libcni cached no result");
    e2e::process::must(
        "ip",
        &["-n", &ns_b.name, "addr", "del", &cidr_b, "dev", "eth0"],
    );
    let broken = two.run("check", Some(&b));
    assert!(
        !broken.ok() && broken.stderr.contains(&ip_b),
        "CHECK through libcni must fail naming {ip_b}: {}",
        broken.stderr
    );

    for (runtime, attachment, node, lsp) in [(&one, &a, 1, &lsp_a), (&two, &b, 2, &lsp_b)] {
        runtime.must("del", Some(attachment));
        assert_lsp_and_port_gone(node, &attachment.id, lsp, "libcni DEL");
        let ns = attachment.netns.rsplit('/').next().expect("netns name");
        assert!(net::link(ns, "eth0").is_none(), "eth0 left in {ns}");
        assert_eq!(runtime.cached_results(), Vec::<String>::new());
        runtime.must("del", Some(attachment));
        assert_lsp_and_port_gone(node, &attachment.id, lsp, "second libcni DEL");
    }
    assert!(
        net.lsp_names().is_empty(),
        "LSPs left: {:?}",
        net.lsp_names()
    );
}
