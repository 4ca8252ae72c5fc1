//! The default network's interface in the pod when a primary UDN follows it
//! in a chain ([`DefaultNetwork`]): ADD moves the default route to the UDN
//! and CHECK verifies the route set. DEL leaves `eth0` alone: it belongs to
//! the default network, whose own DEL follows.

use netns::{Handle, Route};
use nix::errno::Errno;

use crate::cni::default_network::DefaultNetwork;
use crate::error::PluginError;

/// ADD's last step: `eth0` loses its default routes and keeps those to the
/// default network's subnets, then the UDN's routes (`own_routes` out of
/// `own_ifname`) go in. On failure `eth0`'s default routes are put back, so
/// the rollback of the rest leaves the pod as it was.
pub async fn take_over(
    pod: &Handle,
    dn: &DefaultNetwork,
    own_ifname: &str,
    own_routes: &[Route],
) -> Result<(), PluginError> {
    let index = interface_index(pod, &dn.ifname).await?;
    let removed: Vec<Route> = pod
        .routes(index, &dn.ifname)
        .await?
        .into_iter()
        .filter(|r| r.destination.prefix_len() == 0)
        .collect();
    for route in &removed {
        pod.delete_route(index, &dn.ifname, route).await?;
    }
    let outcome = async {
        for route in &dn.routes {
            match pod.add_route(index, &dn.ifname, route).await {
                Err(e) if e.errno() == Some(Errno::EEXIST as i32) => {}
                other => other?,
            }
        }
        let own = interface_index(pod, own_ifname).await?;
        for route in own_routes {
            pod.add_route(own, own_ifname, route).await?;
        }
        Ok::<(), PluginError>(())
    }
    .await;
    if outcome.is_err() {
        for route in &removed {
            if let Err(undo) = pod.add_route(index, &dn.ifname, route).await {
                tracing::error!(
                    step = "rollback",
                    "restoring {route} dev {}: {undo}",
                    dn.ifname
                );
            }
        }
    } else {
        tracing::info!(step = "default-network", ifname = %dn.ifname, removed = ?removed,
            kept = ?dn.routes, "default route moved to {own_ifname}");
    }
    outcome
}

/// CHECK: `eth0` has the kept routes and no default route.
pub async fn verify(pod: &Handle, dn: &DefaultNetwork) -> Result<(), PluginError> {
    let index = interface_index(pod, &dn.ifname).await?;
    let routes = pod.routes(index, &dn.ifname).await?;
    if let Some(default) = routes.iter().find(|r| r.destination.prefix_len() == 0) {
        return Err(PluginError::CheckFailed(format!(
            "{} still has the default route {default}: the primary network's interface must have it",
            dn.ifname
        )));
    }
    for kept in &dn.routes {
        if !routes.contains(kept) {
            return Err(PluginError::CheckFailed(format!(
                "route {kept} dev {} to the default network is missing",
                dn.ifname
            )));
        }
    }
    Ok(())
}

/// The index of an interface prevResult names; its absence is prevResult's
/// fault.
async fn interface_index(pod: &Handle, ifname: &str) -> Result<u32, PluginError> {
    pod.link_index(ifname).await?.ok_or_else(|| {
        conf::ConfError::invalid(
            "prevResult",
            format!("interface {} is not in the pod", conf::shown(ifname)),
        )
        .into()
    })
}
