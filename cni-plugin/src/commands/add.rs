//! ADD: addresses (from OVN, or from a delegated IPAM plugin) and the
//! logical port first, then the veth, then the OVS port, then wait for
//! ovn-controller. Any failure after something was created runs the DEL
//! teardown (and the IPAM plugin's DEL) before the error is returned.

use std::net::IpAddr;
use std::path::Path;

use conf::{Network, PodRef, Role, StaticIp, Topology};

use ipnet::IpNet;
use netns::{Handle, Netns, PodInterface, Route};
use ovsdb::Client;
use serde_json::Value;

use super::default_network;
use super::open_pod_netns;
use super::teardown::{Parts, teardown};
use crate::cni::args::StaticAddressing;
use crate::cni::default_network::DefaultNetwork;
use crate::cni::env::Command;
use crate::cni::result::{AddResult, mac_text};
use crate::error::PluginError;
use crate::ipam::delegate::{self, Delegated};
use crate::ovn::ovs::{self, NodeInfo};
use crate::ovn::port::claim;
use crate::ovn::port::{self, LogicalPort, PortRequest};
use crate::ovn::{dhcp, egress, ids, segment};
use crate::request::Request;
use crate::topology::{self, Segment};

/// Runs ADD and returns the CNI result.
pub async fn add(
    req: &Request,
    network: &Network,
    addressing: &StaticAddressing,
) -> Result<Value, PluginError> {
    let netns_path = req
        .env
        .netns
        .as_deref()
        .ok_or_else(|| PluginError::Environment("CNI_NETNS is required for ADD".into()))?;
    topology::check_static_addresses(network, &addressing.ips)?;
    topology::check_default_network(network, &req.node.default_network_subnets)?;
    // A primary network after the default network takes its default route.
    let default_network = req
        .prev_result()
        .filter(|_| network.role == Role::Primary)
        .and_then(|prev| {
            DefaultNetwork::from_prev(prev, &req.env.ifname, &req.node.default_network_subnets)
        });
    let ipam_plugin = network.ipam_plugin.as_deref();
    let pod_ns = open_pod_netns(netns_path)?;
    let pod = Handle::new(&pod_ns)?;
    if pod.link_index(&req.env.ifname).await?.is_some() {
        return Err(PluginError::InterfaceExists {
            ifname: req.env.ifname.clone(),
            netns: netns_path.display().to_string(),
        });
    }
    let host = Handle::new(&Netns::current()?)?;
    let (nb, ovs) = tokio::try_join!(req.connect_nb(), req.connect_ovs())?;
    let node = ovs::read_node(&ovs, &req.node.bridge, req.node.chassis.as_deref()).await?;
    // Also refuses a localnet network this chassis has no bridge for. A
    // layer3 node switch it creates stays, like every shared topology row.
    let segment = segment::prepare(&nb, network, &node, req.node.gateway.as_ref()).await?;
    // The checks that need nothing undone are behind us: from here on,
    // whatever fails undoes everything.
    let delegated = match ipam_plugin {
        Some(plugin) => Some(delegate::add(req, plugin).await?),
        None => None,
    };
    let lsp = req.lsp_name();
    let wiring = Wiring {
        req,
        network,
        addressing,
        nb: &nb,
        ovs: &ovs,
        host: &host,
        node: &node,
        lsp: &lsp,
        segment: &segment,
        default_network: default_network.as_ref(),
    };
    let release_ipam = || async {
        if let Some(plugin) = ipam_plugin
            && let Err(undo) = delegate::run_verb(req, plugin, Command::Del).await
        {
            tracing::error!(step = "rollback", "IPAM release failed: {undo}");
        }
    };
    // Until the port is ours, nothing of ours exists in OVN to undo (and a
    // port of this name may be another attachment's).
    let port = match wiring.create_port(delegated.as_ref()).await {
        Ok(port) => port,
        Err(err) => {
            release_ipam().await;
            return Err(err);
        }
    };
    match wiring
        .attach(pod, &pod_ns, netns_path, &port, delegated.as_ref())
        .await
    {
        Ok(attachment) => {
            let prev = match (&default_network, req.prev_result()) {
                (Some(dn), Some(prev)) => Some(dn.rewrite_prev(prev)),
                (_, prev) => prev.cloned(),
            };
            Ok(attachment.render(prev.as_ref(), &req.cni_version))
        }
        Err(err) => {
            tracing::warn!(step = "rollback", "ADD failed, undoing: {err}");
            let parts = Parts {
                host_ifname: &req.host_ifname(),
                lsp: &lsp,
                sandbox: &req.env.container_id,
            };
            for undo in teardown(Some(&nb), Some(&ovs), &host, &parts).await {
                tracing::error!(step = "rollback", "rollback incomplete: {undo}");
            }
            // A claim this ADD reserved goes too; an older one stays reserved.
            if let Some(claim) = req.claim().filter(|_| port.created)
                && let Err(undo) = claim::release(&nb, &req.id.name, &claim).await
            {
                tracing::error!(step = "rollback", "releasing claim {claim} failed: {undo}");
            }
            release_ipam().await;
            Err(err)
        }
    }
}

/// Six random bytes from the OS for a MAC without addresses.
fn random_bytes() -> Result<[u8; 6], PluginError> {
    use std::io::Read;
    let mut bytes = [0u8; 6];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .map_err(|source| PluginError::Io {
            context: "reading /dev/urandom".into(),
            source,
        })?;
    Ok(bytes)
}

/// The steps that create something, in order.
struct Wiring<'a> {
    req: &'a Request,
    network: &'a Network,
    addressing: &'a StaticAddressing,
    nb: &'a Client,
    ovs: &'a Client,
    host: &'a Handle,
    node: &'a NodeInfo,
    lsp: &'a str,
    segment: &'a Segment,
    default_network: Option<&'a DefaultNetwork>,
}

impl Wiring<'_> {
    /// The logical port with its addresses: static, delegated or allocated.
    async fn create_port(&self, delegated: Option<&Delegated>) -> Result<LogicalPort, PluginError> {
        let req = self.req;
        let network = self.network;
        let static_ips: Vec<StaticIp> = match delegated {
            Some(d) => d
                .addresses
                .iter()
                .map(|a| StaticIp {
                    addr: a.addr(),
                    prefix: Some(a.prefix_len()),
                })
                .collect(),
            None => self.addressing.ips.clone(),
        };
        tracing::info!(step = "allocate", lsp = %self.lsp, chassis = %self.node.chassis, "creating logical port");
        let claim = req.claim();
        let local_addresses = ovs::network_addresses(self.ovs, &req.id.name).await?;
        let mut request = PortRequest {
            name: self.lsp,
            network: &req.id.name,
            sandbox: &req.env.container_id,
            chassis: &self.node.chassis,
            local_addresses: &local_addresses,
            claim: claim.as_deref(),
            pod_namespace: match &req.args.pod {
                PodRef::Pod { namespace, .. } => Some(namespace),
                _ => None,
            },
            nad: req.id.nad.as_deref(),
            ifname: &req.env.ifname,
            switch: &self.segment.switch,
            pool: self.segment.pool(),
            static_ips: &static_ips,
            static_mac: self.addressing.mac,
            random_mac: conf::random_local_mac(random_bytes()?),
            external_ids: ids::lsp_external_ids(req, network.topology, &self.node.chassis),
            options: ids::lsp_options(req, &self.node.chassis),
            dhcp: Vec::new(),
        };
        // A VM on a primary layer2 network gets its claimed address by DHCP.
        if claim.is_some() && network.role == Role::Primary && network.topology == Topology::Layer2
        {
            request.dhcp = dhcp::ensure(self.nb, network, &self.segment.subnets).await?;
        }
        let port = port::create_port(self.nb, &request).await?;
        tracing::info!(step = "allocate", lsp = %self.lsp, mac = %mac_text(&port.mac),
            addresses = ?port.addresses, "logical port ready");
        Ok(port)
    }

    /// A primary network's way out through this chassis' gateway, once
    /// its switch exists (a layer2 switch comes with the first port).
    async fn egress(&self) -> Result<(), PluginError> {
        let gateway = self.req.node.gateway.as_ref();
        let Some(gateway) = gateway.filter(|_| topology::egress::applies(self.network)) else {
            return Ok(());
        };
        let input = egress::Input {
            network: self.network,
            chassis: &self.node.chassis,
            gateway,
            pod_switch: &self.segment.switch.name,
        };
        egress::ensure(self.nb, &input).await
    }

    /// Everything after the logical port: veth, OVS port, ovn-installed.
    async fn attach(
        &self,
        pod: Handle,
        pod_ns: &Netns,
        netns_path: &Path,
        port: &LogicalPort,
        delegated: Option<&Delegated>,
    ) -> Result<AddResult, PluginError> {
        let req = self.req;
        self.egress().await?;
        let host_ifname = req.host_ifname();
        let (gateways, routes) = match delegated {
            Some(d) => (d.gateways.clone(), delegated_routes(self.segment, d)),
            None => {
                let gateways = self.segment.gateways(&port.addresses);
                let routes = self.segment.routes(&gateways);
                (gateways, routes)
            }
        };
        let pod_routes: Vec<Route> = routes
            .iter()
            .map(|(destination, gateway)| Route {
                destination: *destination,
                gateway: *gateway,
            })
            .collect();
        let interface = PodInterface {
            name: req.env.ifname.clone(),
            mac: port.mac.into_array(),
            mtu: self.network.mtu,
            addresses: port.addresses.clone(),
            // After the default network, the routes go in last, once its
            // default route is gone.
            routes: if self.default_network.is_some() {
                Vec::new()
            } else {
                pod_routes.clone()
            },
            disable_tx_checksum: self.node.netdev,
        };
        let veth = netns::create_pod_veth(self.host, pod, pod_ns, &host_ifname, &interface).await?;
        tracing::info!(step = "veth", host_ifname = %host_ifname, "veth created");

        let external_ids = ids::interface_external_ids(req, self.lsp, &port.mac, &port.addresses);
        // The host end exists, so OVS and ovn-controller can start binding
        // it while the pod end is configured, and the wait for ovn-installed
        // is watched while the port is being added: the daemons' work, the
        // longest part of every pod start, overlaps ours. The first failure
        // ends the others at once.
        let (pair, (), ()) = tokio::try_join!(
            async {
                netns::configure_pod_interface(self.host, &veth, &interface)
                    .await
                    .map_err(PluginError::from)
            },
            async {
                ovs::add_port(self.ovs, self.node, &host_ifname, external_ids).await?;
                tracing::info!(step = "ovs-port", host_ifname = %host_ifname, "OVS port plugged");
                Ok(())
            },
            ovs::wait_installed(self.ovs, &host_ifname, req.node.ready_timeout()),
        )?;
        tracing::info!(step = "ovn-installed", host_ifname = %host_ifname, "port installed by ovn-controller");
        if let Some(dn) = self.default_network {
            let pod = Handle::new(pod_ns)?;
            default_network::take_over(&pod, dn, &req.env.ifname, &pod_routes).await?;
        }
        Ok(AddResult {
            host_ifname,
            host_mac: pair.host_mac.into(),
            pod_ifname: req.env.ifname.clone(),
            pod_mac: port.mac,
            sandbox: netns_path.display().to_string(),
            mtu: self.network.mtu,
            addresses: port.addresses.clone(),
            gateways,
            routes,
        })
    }
}

/// The IPAM plugin's routes and, via its gateways, the topology's routes
/// (defaults on a primary network) it left out.
fn delegated_routes(segment: &Segment, d: &Delegated) -> Vec<(IpNet, IpAddr)> {
    let mut routes = d.routes.clone();
    for route in segment.routes(&d.gateways) {
        if !routes.iter().any(|(dst, _)| *dst == route.0) {
            routes.push(route);
        }
    }
    routes
}
