//! STATUS: can this node serve ADDs? Both databases answer and the bridge
//! exists; anything else is code 50 with the reason.

use crate::error::PluginError;
use crate::ovn::ovs;
use crate::request::Request;

/// Runs STATUS.
pub async fn status(req: &Request) -> Result<(), PluginError> {
    let probe = async {
        let (nb, ovs_client) = tokio::try_join!(req.connect_nb(), req.connect_ovs())?;
        nb.echo()
            .await
            .map_err(|e| PluginError::ovsdb("NB database echo", e))?;
        ovs::read_node(&ovs_client, &req.node.bridge, req.node.chassis.as_deref()).await?;
        Ok::<(), PluginError>(())
    };
    probe
        .await
        .map_err(|e| PluginError::NotAvailable(format!("plugin not available: {e}")))
}
