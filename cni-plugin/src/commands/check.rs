//! CHECK: verifies what ADD built, from the pod interface to ovn-installed,
//! and says which piece differs.

use conf::{Network, Role};
use ipnet::IpNet;
use netns::Handle;
use serde_json::Value;

use super::default_network;
use super::open_pod_netns;
use crate::cni::default_network::DefaultNetwork;
use crate::cni::env::Command;
use crate::cni::result::mac_text;
use crate::error::PluginError;
use crate::ipam::delegate;
use crate::ovn::port::record;
use crate::ovn::{ovs, segment};
use crate::request::Request;
use crate::vocabulary::iface;

/// Runs CHECK.
pub async fn check(req: &Request, network: &Network) -> Result<(), PluginError> {
    let prev = req
        .prev_result()
        .ok_or(conf::ConfError::Missing("prevResult"))?;
    let netns_path = req
        .env
        .netns
        .as_deref()
        .ok_or_else(|| PluginError::Environment("CNI_NETNS is required for CHECK".into()))?;
    let pod_ns = open_pod_netns(netns_path)?;
    if let Some(plugin) = &network.ipam_plugin {
        delegate::run_verb(req, plugin, Command::Check).await?;
    }
    let (nb_client, ovs_client) = tokio::try_join!(req.connect_nb(), req.connect_ovs())?;
    let fail = |msg: String| Err(PluginError::CheckFailed(msg));
    let ifname = &req.env.ifname;

    let lsp_name = req.lsp_name();
    let Some(port) = record::find_port(&nb_client, &lsp_name).await? else {
        return fail(format!("logical switch port {lsp_name} does not exist"));
    };
    if !port.attached_to(&req.env.container_id) {
        let owners: Vec<String> = port.attachments().into_iter().map(|a| a.sandbox).collect();
        return fail(format!(
            "logical switch port {lsp_name} belongs to sandbox {owners:?}"
        ));
    }

    let pod = Handle::new(&pod_ns)?;
    let Some(link) = netns::inspect_link(&pod, ifname).await? else {
        return fail(format!(
            "interface {ifname} not found in {}",
            netns_path.display()
        ));
    };
    if let Some(mac) = port.mac
        && link.mac != mac.into_array()
    {
        return fail(format!(
            "interface {ifname} has MAC {} but the logical port has {}",
            mac_text(&link.mac.into()),
            mac_text(&mac)
        ));
    }
    if !link.up {
        return fail(format!("interface {ifname} is down"));
    }
    if link.mtu != network.mtu {
        return fail(format!(
            "interface {ifname} has MTU {} instead of {}",
            link.mtu, network.mtu
        ));
    }
    for ip in &port.ips {
        if !link.addresses.iter().any(|a| a.addr() == *ip) {
            return fail(format!(
                "address {ip} of the logical port is missing on interface {ifname}"
            ));
        }
    }
    for address in prev_addresses(prev, ifname) {
        if !link.addresses.contains(&address) {
            return fail(format!(
                "address {address} from prevResult is missing on interface {ifname}"
            ));
        }
    }
    let node = ovs::read_node(&ovs_client, &req.node.bridge, req.node.chassis.as_deref()).await?;
    let segment = segment::existing(&nb_client, network, &node.chassis).await?;
    let gateways = segment.gateways(&link.addresses);
    for (destination, gateway) in segment.routes(&gateways) {
        if !link
            .routes
            .iter()
            .any(|r| r.destination == destination && r.gateway == gateway)
        {
            return fail(format!(
                "route {destination} via {gateway} is missing in {}",
                netns_path.display()
            ));
        }
    }

    if network.role == Role::Primary
        && let Some(dn) = DefaultNetwork::from_prev(prev, ifname, &req.node.default_network_subnets)
    {
        default_network::verify(&pod, &dn).await?;
    }

    let host_ifname = req.host_ifname();
    let Some(ids) = ovs::interface_ids(&ovs_client, &host_ifname).await? else {
        return fail(format!("OVS interface {host_ifname} does not exist"));
    };
    if ids.get(iface::IFACE_ID) != Some(&lsp_name) {
        return fail(format!(
            "OVS interface {host_ifname} is not bound to {lsp_name}"
        ));
    }
    if let (Some(mac), Some(attached)) = (port.mac, ids.get(iface::ATTACHED_MAC))
        && *attached != mac_text(&mac)
    {
        return fail(format!(
            "OVS interface {host_ifname} is attached with MAC {attached}, the logical port has {}",
            mac_text(&mac)
        ));
    }
    if ids.get(iface::OVN_INSTALLED).map(String::as_str) != Some("true") {
        return fail(format!("OVS interface {host_ifname} is not ovn-installed"));
    }
    Ok(())
}

/// The addresses prevResult gives the interface named `ifname`.
fn prev_addresses(prev: &Value, ifname: &str) -> Vec<IpNet> {
    let index = prev
        .get("interfaces")
        .and_then(Value::as_array)
        .and_then(|ifs| {
            ifs.iter()
                .position(|i| i.get("name").and_then(Value::as_str) == Some(ifname))
        });
    prev.get("ips")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|ip| {
            ip.get("interface")
                .and_then(Value::as_u64)
                .map(|i| i as usize)
                == index
        })
        .filter_map(|ip| ip.get("address")?.as_str()?.parse().ok())
        .collect()
}
