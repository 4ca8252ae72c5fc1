//! ADD: addresses (from OVN, or from a delegated IPAM plugin) and the
//! logical port first, then the veth, then the OVS port, then wait for
//! ovn-controller. Any failure after something was created runs the DEL
//! teardown (and the IPAM plugin's DEL) before the error is returned.

use std::net::IpAddr;
use std::path::Path;

use conf::{Role, Topology};

use ipnet::IpNet;
use netns::{Handle, Netns, PodInterface, Route};
use ovsdb::Client;
use serde_json::Value;

use super::open_pod_netns;
use super::teardown::{Attachment as Parts, teardown};
use crate::cni::env::Command;
use crate::cni::result::{Attachment, mac_text};
use crate::error::PluginError;
use crate::ipam::delegate::{self, Delegated};
use crate::ovn::nb::{self, LogicalPort, PortRequest};
use crate::ovn::ovs::{self, NodeInfo};
use crate::ovn::{claim, dhcp, ids};
use crate::request::Request;
use crate::topology::{self, Segment};

/// Runs ADD and returns the CNI result.
pub async fn add(req: &Request) -> Result<Value, PluginError> {
    let netns_path = req
        .env
        .netns
        .as_deref()
        .ok_or_else(|| PluginError::Environment("CNI_NETNS is required for ADD".into()))?;
    let ipam_plugin = delegate::plugin_type(req)?;
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
    let segment = topology::prepare(&nb, &req.network, &node).await?;
    // The checks that need nothing undone are behind us: from here on,
    // whatever fails undoes everything.
    let delegated = ipam_plugin
        .map(|plugin| delegate::add(req, plugin))
        .transpose()?;
    let lsp = req.lsp_name();
    let wiring = Wiring {
        req,
        nb: &nb,
        ovs: &ovs,
        host: &host,
        node: &node,
        lsp: &lsp,
        segment: &segment,
    };
    let release_ipam = || {
        if let Some(plugin) = ipam_plugin
            && let Err(undo) = delegate::run_verb(req, plugin, Command::Del)
        {
            tracing::error!(step = "rollback", "IPAM release failed: {undo}");
        }
    };
    // Until the port is ours, nothing of ours exists in OVN to undo (and a
    // port of this name may be another attachment's).
    let port = match wiring.create_port(delegated.as_ref()).await {
        Ok(port) => port,
        Err(err) => {
            release_ipam();
            return Err(err);
        }
    };
    match wiring
        .attach(pod, &pod_ns, netns_path, &port, delegated.as_ref())
        .await
    {
        Ok(attachment) => Ok(attachment.render(req.prev_result(), &req.cni_version)),
        Err(err) => {
            tracing::warn!(step = "rollback", "ADD failed, undoing: {err}");
            let parts = Parts {
                host_ifname: &req.host_ifname(),
                lsp: &lsp,
                sandbox: &req.env.container_id,
            };
            if let Err(undo) = teardown(&nb, &ovs, &host, &parts).await {
                tracing::error!(step = "rollback", "rollback incomplete: {undo}");
            }
            // A claim this ADD reserved goes too; an older one stays reserved.
            if let Some(claim) = req.claim().filter(|_| port.created)
                && let Err(undo) = claim::release(&nb, &req.network.name, &claim).await
            {
                tracing::error!(step = "rollback", "releasing claim {claim} failed: {undo}");
            }
            release_ipam();
            Err(err)
        }
    }
}

fn port_request<'a>(
    req: &'a Request,
    segment: &'a Segment,
    node: &'a NodeInfo,
    lsp: &'a str,
    static_ips: &'a [String],
    claim: Option<&'a str>,
) -> Result<PortRequest<'a>, PluginError> {
    Ok(PortRequest {
        name: lsp,
        network: &req.network.name,
        sandbox: &req.env.container_id,
        chassis: &node.chassis,
        claim,
        ifname: &req.env.ifname,
        switch: &segment.switch,
        pool: segment.pool(),
        static_ips,
        static_mac: req.args.static_mac,
        random_mac: conf::random_local_mac(random_bytes()?),
        external_ids: ids::lsp_external_ids(req, &node.chassis),
        options: ids::lsp_options(req, &node.chassis),
        dhcp: Vec::new(),
    })
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
    nb: &'a Client,
    ovs: &'a Client,
    host: &'a Handle,
    node: &'a NodeInfo,
    lsp: &'a str,
    segment: &'a Segment,
}

impl Wiring<'_> {
    /// The logical port with its addresses: static, delegated or allocated.
    async fn create_port(&self, delegated: Option<&Delegated>) -> Result<LogicalPort, PluginError> {
        let req = self.req;
        let static_ips: Vec<String> = match delegated {
            Some(d) => d.addresses.iter().map(ToString::to_string).collect(),
            None => req.args.static_ips.clone(),
        };
        tracing::info!(step = "allocate", lsp = %self.lsp, chassis = %self.node.chassis, "creating logical port");
        let claim = req.claim();
        let mut request = port_request(
            req,
            self.segment,
            self.node,
            self.lsp,
            &static_ips,
            claim.as_deref(),
        )?;
        // A VM on a primary layer2 network gets its claimed address by DHCP.
        if claim.is_some()
            && req.network.role == Role::Primary
            && req.network.topology == Topology::Layer2
        {
            request.dhcp = dhcp::ensure(self.nb, &req.network, &self.segment.subnets).await?;
        }
        let port = nb::create_port(self.nb, &request).await?;
        tracing::info!(step = "allocate", lsp = %self.lsp, mac = %mac_text(&port.mac),
            addresses = ?port.addresses, "logical port ready");
        Ok(port)
    }

    /// Everything after the logical port: veth, OVS port, ovn-installed.
    async fn attach(
        &self,
        pod: Handle,
        pod_ns: &Netns,
        netns_path: &Path,
        port: &LogicalPort,
        delegated: Option<&Delegated>,
    ) -> Result<Attachment, PluginError> {
        let req = self.req;
        let host_ifname = req.host_ifname();
        let (gateways, routes) = match delegated {
            Some(d) => (d.gateways.clone(), delegated_routes(self.segment, d)),
            None => {
                let gateways = self.segment.gateways(&port.addresses);
                let routes = self.segment.routes(&gateways);
                (gateways, routes)
            }
        };
        let interface = PodInterface {
            name: req.env.ifname.clone(),
            mac: port.mac.into_array(),
            mtu: req.network.mtu,
            addresses: port.addresses.clone(),
            routes: routes
                .iter()
                .map(|(destination, gateway)| Route {
                    destination: *destination,
                    gateway: *gateway,
                })
                .collect(),
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
            ovs::add_port(self.ovs, self.node, &host_ifname, external_ids),
            ovs::wait_installed(self.ovs, &host_ifname, req.node.ready_timeout()),
        )?;
        tracing::info!(step = "ovn-installed", host_ifname = %host_ifname, "port installed by ovn-controller");
        Ok(Attachment {
            host_ifname,
            host_mac: pair.host_mac.into(),
            pod_ifname: req.env.ifname.clone(),
            pod_mac: port.mac,
            sandbox: netns_path.display().to_string(),
            mtu: req.network.mtu,
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
