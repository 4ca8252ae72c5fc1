//! GC: removes this network's attachments on this chassis that the runtime
//! no longer lists in `cni.dev/valid-attachments`.

use std::collections::HashSet;

use conf::ValidAttachment;
use netns::{Handle, Netns};

use super::teardown::{Parts, teardown};
use crate::error::PluginError;
use crate::ovn::ovs;
use crate::ovn::port::{self, record};
use crate::request::Request;

/// Runs GC.
pub async fn gc(req: &Request) -> Result<(), PluginError> {
    let valid: HashSet<(String, String)> = req
        .conf
        .get::<Vec<ValidAttachment>>("cni.dev/valid-attachments")?
        .ok_or(conf::ConfError::Missing("cni.dev/valid-attachments"))?
        .into_iter()
        .map(|a| (a.container_id, a.ifname))
        .collect();
    let host = Handle::new(&Netns::current()?)?;
    let (nb_client, ovs_client) = tokio::try_join!(req.connect_nb(), req.connect_ovs())?;
    let node = ovs::read_node(&ovs_client, &req.node.bridge, req.node.chassis.as_deref()).await?;

    let mut errors = Vec::new();
    // Only ports named as the plugin names an attachment's host end: a row
    // that merely carries the network's ids never gets a link deleted.
    for interface in ovs::plugin_interfaces(&ovs_client, Some(&req.id)).await? {
        if valid.contains(&(interface.sandbox.clone(), interface.ifname.clone())) {
            continue;
        }
        let parts = Parts {
            host_ifname: &interface.name,
            lsp: &interface.lsp,
            sandbox: &interface.sandbox,
        };
        tracing::info!(step = "gc", port = %interface.name, "removing stale attachment");
        errors.extend(teardown(Some(&nb_client), Some(&ovs_client), &host, &parts).await);
    }
    // Logical ports whose OVS side is already gone (node crash, lost DEL).
    // A claimed port only loses the attachment: the VM's address stays.
    for port in record::network_ports(&nb_client, &req.id).await? {
        for attachment in port.attachments() {
            let key = (attachment.sandbox.clone(), attachment.ifname.clone());
            if attachment.chassis != node.chassis || valid.contains(&key) {
                continue;
            }
            tracing::info!(step = "gc", lsp = %port.name, sandbox = %attachment.sandbox, "removing stale attachment of a logical port");
            if let Err(e) = port::delete_port(&nb_client, &port.name, &attachment.sandbox).await {
                errors.push(e);
            }
        }
    }
    PluginError::from_all(errors)
}
