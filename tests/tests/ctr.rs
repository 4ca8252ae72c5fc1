//! containerd 1.6's `ctr run --cni` (Debian bookworm) drives the plugin:
//! ADD after the task is created, DEL with an empty CNI_NETNS once the task
//! has died. `ctr` has no flag for CNI_ARGS or capabilities, so a static
//! address goes through the network config's `args.cni`.

use e2e::Network;
use e2e::ctr::Containerd;
use e2e::leftovers::assert_lsp_and_port_gone;
use e2e::network::ovn_prefix;
use e2e::ovn;
use e2e::runtime::conflist;
use serde_json::json;

/// The LSP of `ctr` container `id`: `ctr` sends no K8S_* args and the
/// container id `default-<id>` (namespace `default`).
fn lsp_of(net: &Network, id: &str) -> String {
    let container_id = format!("default-{id}");
    let head: String = container_id.chars().take(12).collect();
    format!("{}{head}_eth0", ovn_prefix(&net.name))
}

#[test]
fn ctr_containers_on_two_chassis_ping_and_del_with_empty_netns() {
    let net = Network::layer2("ctr2", "10.91.0.0/24");
    let list = conflist(&net, &[]);
    let one = Containerd::on(1, &list);
    let two = Containerd::on(3, &list);
    let mut a = one.run("a");
    let mut b = two.run("b");
    let (a_cidr, _) = one.eth0("a");
    let (b_cidr, _) = two.eth0("b");
    let a_ip = a_cidr.split('/').next().expect("address").to_owned();
    let b_ip = b_cidr.split('/').next().expect("address").to_owned();
    assert!(a_cidr.starts_with("10.91.0.") && b_cidr.starts_with("10.91.0."));
    assert_ne!(a_ip, b_ip);
    assert!(ovn::lsp(&lsp_of(&net, "a")).is_some(), "no LSP for a");
    assert!(one.ping("a", &b_ip), "container a cannot ping b at {b_ip}");
    assert!(two.ping("b", &a_ip), "container b cannot ping a at {a_ip}");

    for (containerd, run, node) in [(&one, &mut a, 1), (&two, &mut b, 3)] {
        let output = containerd.kill(run);
        let id = format!("default-{}", run.id);
        let calls = containerd.calls();
        assert!(
            calls.contains(&format!("DEL netns=[] id={id}")),
            "ctr sent no DEL with an empty CNI_NETNS for {id}: {calls:?}; ctr run said: {output}"
        );
        assert!(
            !output.contains("plugin"),
            "ctr run reports a plugin error: {output}"
        );
        assert_lsp_and_port_gone(node, &id, &lsp_of(&net, &run.id), "ctr run --rm");
        assert_eq!(containerd.containers(), Vec::<String>::new());
    }
    assert!(
        net.lsp_names().is_empty(),
        "LSPs left: {:?}",
        net.lsp_names()
    );
}

#[test]
fn ctr_static_ip_and_mac_from_the_configs_args() {
    let net = Network::layer2("ctrip", "10.91.1.0/24");
    let args = json!({ "cni": { "ips": ["10.91.1.60/24"], "mac": "02:91:01:00:00:60" } });
    let one = Containerd::on(2, &conflist(&net, &[("args", args)]));
    let mut fixed = one.run("fixed");
    let (cidr, mac) = one.eth0("fixed");
    assert_eq!(cidr, "10.91.1.60/24");
    assert_eq!(mac, "02:91:01:00:00:60");
    let lsp = ovn::lsp(&lsp_of(&net, "fixed")).expect("the container's LSP");
    assert_eq!(
        ovn::list(lsp.get("addresses")),
        vec![json!("02:91:01:00:00:60 10.91.1.60")]
    );
    one.kill(&mut fixed);
    assert_lsp_and_port_gone(2, "default-fixed", &lsp_of(&net, "fixed"), "ctr run --rm");
}
