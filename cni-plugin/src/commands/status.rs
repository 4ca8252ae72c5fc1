//! STATUS: can this node serve ADDs? Both databases answer and the bridge
//! exists; anything else is code 50 with the reason. A chassis without
//! egress still serves every network, so that is only logged.

use crate::error::PluginError;
use crate::ovn::ovs;
use crate::request::Request;
use crate::topology::egress;

/// Runs STATUS.
pub async fn status(req: &Request) -> Result<(), PluginError> {
    let probe = async {
        let (nb, ovs_client) = tokio::try_join!(req.connect_nb(), req.connect_ovs())?;
        nb.echo()
            .await
            .map_err(|e| PluginError::ovsdb("NB database echo", e))?;
        let node =
            ovs::read_node(&ovs_client, &req.node.bridge, req.node.chassis.as_deref()).await?;
        match &req.node.gateway {
            None => tracing::info!(
                step = "status",
                "chassis {} has no egress: primary networks reach only themselves \
                 (no `gateway` in the node config)",
                node.chassis
            ),
            Some(gateway) => {
                if let Err(why) =
                    egress::check_mapping(gateway, &node.chassis, &node.bridge_mappings)
                {
                    tracing::warn!(step = "status", "no egress: {why}");
                }
            }
        }
        Ok::<(), PluginError>(())
    };
    probe
        .await
        .map_err(|e| PluginError::NotAvailable(format!("plugin not available: {e}")))
}
