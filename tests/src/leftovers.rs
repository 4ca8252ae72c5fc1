//! Checks that an attachment left nothing behind: no LSP (and so no IP held),
//! no OVS port, no veth on either side.

use std::collections::BTreeSet;

use crate::net;
use crate::network::Network;
use crate::ovn;
use crate::plugin::{Call, Reply};
use crate::pod::PodSpec;
use crate::sandbox::sandbox;

/// Runs `call` (an ADD of `spec`), expects error `code` naming one of
/// `needles`, checks that nothing was created, and that the DEL a runtime
/// sends after a failed ADD succeeds too.
pub fn assert_rejected(
    net: &Network,
    spec: &PodSpec,
    call: Call,
    code: u64,
    needles: &[&str],
    what: &str,
) -> Reply {
    let reply = assert_refused(net, spec, call, code, needles, what);
    spec.call("DEL")
        .config(&spec.conf)
        .run()
        .expect_ok(&format!("DEL after {what}"));
    reply
}

/// [`assert_rejected`] without the DEL (for an environment no verb accepts).
pub fn assert_refused(
    net: &Network,
    spec: &PodSpec,
    call: Call,
    code: u64,
    needles: &[&str],
    what: &str,
) -> Reply {
    let before = Before::take(net, spec);
    let reply = call.run();
    reply.expect_error_naming(code, needles, what);
    assert_nothing_created(net, &before, spec, what);
    reply
}

/// State taken before an ADD that is expected to fail.
#[derive(Debug, Clone)]
pub struct Before {
    /// LSPs of the network.
    pub lsps: BTreeSet<String>,
    /// Links in the pod namespace.
    pub pod_links: Vec<String>,
    /// OVS interfaces bound to the attachment's LSP name (another
    /// attachment of the same IPAM claim may own one).
    pub bound: BTreeSet<String>,
}

impl Before {
    /// Records the network's LSPs and the pod namespace's links.
    pub fn take(net: &Network, spec: &PodSpec) -> Before {
        Before {
            lsps: net.lsp_names(),
            pod_links: net::link_names(&spec.netns.name),
            bound: bound_interfaces(spec),
        }
    }
}

/// Panics if the failed ADD of `spec` left any LSP, OVS interface or veth.
pub fn assert_nothing_created(net: &Network, before: &Before, spec: &PodSpec, what: &str) {
    let lsps = net.lsp_names();
    assert_eq!(lsps, before.lsps, "{what}: the network's LSPs changed");
    if !before.lsps.contains(&spec.lsp_name()) {
        assert!(
            ovn::lsp(&spec.lsp_name()).is_none(),
            "{what}: LSP {} exists",
            spec.lsp_name()
        );
    }
    let by_sandbox = ovn::interfaces_of_sandbox(spec.node, &spec.container_id);
    assert!(
        by_sandbox.is_empty(),
        "{what}: OVS interfaces of sandbox {} remain: {by_sandbox:?}",
        spec.container_id
    );
    assert_eq!(
        bound_interfaces(spec),
        before.bound,
        "{what}: OVS interfaces bound to {}",
        spec.lsp_name()
    );
    if std::path::Path::new(&spec.netns.path()).exists() {
        assert_eq!(
            net::link_names(&spec.netns.name),
            before.pod_links,
            "{what}: links in the pod namespace changed"
        );
        let chassis_ns = sandbox().node_netns(spec.node);
        assert_eq!(
            net::veths_into(&chassis_ns, &spec.netns.name),
            Vec::<String>::new(),
            "{what}: veth from {chassis_ns} into the pod namespace"
        );
    }
}

/// Panics if chassis `spec.node` has an OVS interface for this sandbox or LSP.
pub fn assert_no_ovs_port(spec: &PodSpec, what: &str) {
    assert_no_port(spec.node, &spec.container_id, &spec.lsp_name(), what);
}

/// Panics if chassis `node` has an OVS interface of sandbox `container_id`
/// or bound to LSP `lsp`.
pub fn assert_no_port(node: usize, container_id: &str, lsp: &str, what: &str) {
    let by_sandbox = ovn::interfaces_of_sandbox(node, container_id);
    assert!(
        by_sandbox.is_empty(),
        "{what}: OVS interfaces of sandbox {container_id} remain: {by_sandbox:?}"
    );
    let by_iface_id = ovn::interfaces_with_iface_id(node, lsp);
    assert!(
        by_iface_id.is_empty(),
        "{what}: OVS interfaces with iface-id {lsp} remain: {by_iface_id:?}"
    );
}

/// Panics unless LSP `lsp` is gone from NB and chassis `node` has no OVS
/// interface of it or of sandbox `container_id`: what a runtime's removal
/// of a container it attached must leave (no [`PodSpec`] there).
pub fn assert_lsp_and_port_gone(node: usize, container_id: &str, lsp: &str, what: &str) {
    assert!(ovn::lsp(lsp).is_none(), "{what}: LSP {lsp} still in NB");
    assert_no_port(node, container_id, lsp, what);
}

/// Panics unless the attachment of `spec` (host veth `host_veth`) is fully gone.
pub fn assert_attachment_gone(spec: &PodSpec, host_veth: Option<&str>, what: &str) {
    assert!(
        ovn::lsp(&spec.lsp_name()).is_none(),
        "{what}: LSP {} still in NB",
        spec.lsp_name()
    );
    assert_no_ovs_port(spec, what);
    let chassis_ns = sandbox().node_netns(spec.node);
    if let Some(veth) = host_veth {
        assert!(
            net::link(&chassis_ns, veth).is_none(),
            "{what}: host veth {veth} still in {chassis_ns}"
        );
        assert!(
            !ovn::br_int_ports(spec.node).contains(veth),
            "{what}: {veth} still a port of br-int"
        );
    }
    if std::path::Path::new(&spec.netns.path()).exists() {
        assert!(
            net::link(&spec.netns.name, &spec.ifname).is_none(),
            "{what}: {} still in the pod namespace",
            spec.ifname
        );
    }
}

fn bound_interfaces(spec: &PodSpec) -> BTreeSet<String> {
    ovn::interfaces_with_iface_id(spec.node, &spec.lsp_name())
        .iter()
        .filter_map(|row| ovn::column_str(row, "name").map(str::to_owned))
        .collect()
}
