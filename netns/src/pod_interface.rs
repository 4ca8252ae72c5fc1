//! The container end of an attachment: planned by the plugin as plain data,
//! applied here in one go, undone completely on failure.

use ipnet::IpNet;

use crate::link::{VethSpec, link_mac};
use crate::{Error, Handle, Netns, Route, offload, sysctl};

/// The container end of an attachment, planned by the plugin as plain data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodInterface {
    /// Interface name inside the pod (`CNI_IFNAME`).
    pub name: String,
    /// MAC address of the pod interface.
    pub mac: [u8; 6],
    /// MTU of both veth ends.
    pub mtu: u32,
    /// Addresses with their prefix, e.g. `10.0.0.5/24`, `fd00::5/64`.
    pub addresses: Vec<IpNet>,
    /// Routes via gateways on this interface, default routes included.
    pub routes: Vec<Route>,
    /// Turn TX checksum offload off (needed behind OVS's userspace datapath).
    pub disable_tx_checksum: bool,
}

/// What was created, for the CNI result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VethPair {
    /// Name of the host end, in the host handle's namespace.
    pub host_name: String,
    /// MAC address the kernel gave the host end.
    pub host_mac: [u8; 6],
    /// Index of the pod end inside the pod namespace.
    pub pod_index: u32,
}

/// Creates a veth pair whose peer is created directly inside `pod_ns`,
/// already named `pod.name` and carrying `pod.mac` and `pod.mtu` (one netlink
/// request, as netavark does, so no name clash in the host namespace); the
/// host end is named `host_name`, in the namespace of `host`, with the same
/// MTU, up.
///
/// Then, in the pod namespace: `accept_dad=0` on the interface (skipped when
/// IPv6 is disabled there) so ADD never waits on duplicate address detection,
/// the addresses (IPv6 ones with `IFA_F_NODAD`), the link up, `lo` up, the
/// routes, and TX checksum offload off when asked.
///
/// Fails with [`Error::LinkExists`] when `pod.name` already exists in the pod
/// namespace (checked before anything is created) or `host_name` exists in
/// the host namespace. On any failure after the veth was created, the veth is
/// deleted before the error is returned: nothing is left behind.
pub async fn setup_pod_interface(
    host: &Handle,
    pod_ns: &Netns,
    host_name: &str,
    pod: &PodInterface,
) -> Result<VethPair, Error> {
    let veth = create_pod_veth(host, Handle::new(pod_ns)?, pod_ns, host_name, pod).await?;
    configure_pod_interface(host, &veth, pod).await
}

/// A veth pair made by [`create_pod_veth`] whose pod end is not configured
/// yet: the host end already exists and is up, so it can be plugged into a
/// switch while [`configure_pod_interface`] works on the pod end.
pub struct CreatedVeth<'a> {
    pod_ns: &'a Netns,
    pod_handle: Handle,
    host_name: String,
}

/// The first half of [`setup_pod_interface`], with a handle the caller
/// already holds in `pod_ns`: checks both names and creates the pair, the
/// pod end already in `pod_ns` with its name, MAC and MTU. Nothing is left
/// behind on error.
pub async fn create_pod_veth<'a>(
    host: &Handle,
    pod_handle: Handle,
    pod_ns: &'a Netns,
    host_name: &str,
    pod: &PodInterface,
) -> Result<CreatedVeth<'a>, Error> {
    if pod_handle.link_index(&pod.name).await?.is_some() {
        return Err(Error::LinkExists(pod.name.clone()));
    }
    if host.link_index(host_name).await?.is_some() {
        return Err(Error::LinkExists(host_name.to_string()));
    }

    let spec = VethSpec {
        host_name,
        peer_name: &pod.name,
        peer_ns: pod_ns,
        mtu: pod.mtu,
        peer_mac: Some(pod.mac),
    };
    if let Err(error) = host.create_veth(&spec).await {
        if error.errno() == Some(libc::EEXIST) {
            // One of the names was taken after the checks above: say which,
            // and delete nothing, since that interface is not ours.
            return Err(match pod_handle.link_index(&pod.name).await {
                Ok(Some(_)) => Error::LinkExists(pod.name.clone()),
                _ => Error::LinkExists(host_name.to_string()),
            });
        }
        return Err(error);
    }
    Ok(CreatedVeth {
        pod_ns,
        pod_handle,
        host_name: host_name.to_string(),
    })
}

/// The second half of [`setup_pod_interface`]: addresses, routes, sysctls
/// and offloads of the pod end. On error the veth is deleted.
pub async fn configure_pod_interface(
    host: &Handle,
    veth: &CreatedVeth<'_>,
    pod: &PodInterface,
) -> Result<VethPair, Error> {
    let CreatedVeth {
        pod_ns,
        pod_handle,
        host_name,
    } = veth;
    match configure(host, pod_handle, pod_ns, host_name, pod).await {
        Ok(pair) => Ok(pair),
        Err(error) => Err(remove_veth(host, pod_handle, host_name, &pod.name, error).await),
    }
}

/// Everything after the veth exists; any error here makes the caller delete
/// the veth.
async fn configure(
    host: &Handle,
    pod_handle: &Handle,
    pod_ns: &Netns,
    host_name: &str,
    pod: &PodInterface,
) -> Result<VethPair, Error> {
    let host_link = host
        .link(host_name)
        .await?
        .ok_or_else(|| Error::LinkNotFound {
            name: host_name.to_string(),
            netns: host.netns_path().to_path_buf(),
        })?;
    let host_mac = link_mac(&host_link)
        .ok_or_else(|| Error::UnexpectedReply(format!("MAC address of {host_name}")))?;
    let pod_index = pod_handle
        .link_index(&pod.name)
        .await?
        .ok_or_else(|| Error::LinkNotFound {
            name: pod.name.clone(),
            netns: pod_ns.path().to_path_buf(),
        })?;

    // Before any address: DAD would keep IPv6 addresses tentative, and
    // routes via them unusable, for a second or more. The key only appears
    // once the interface exists and must be written from inside the pod
    // namespace.
    match sysctl::write(pod_ns, &sysctl::accept_dad_key(&pod.name), "0") {
        Ok(()) | Err(Error::SysctlMissing { .. }) => {}
        Err(error) => return Err(error),
    }
    for address in &pod.addresses {
        pod_handle
            .add_address(pod_index, &pod.name, *address)
            .await?;
    }
    pod_handle.set_link_up(pod_index, &pod.name).await?;
    let lo = pod_handle
        .link_index("lo")
        .await?
        .ok_or_else(|| Error::LinkNotFound {
            name: "lo".to_string(),
            netns: pod_ns.path().to_path_buf(),
        })?;
    pod_handle.set_link_up(lo, "lo").await?;
    // After the addresses and the link are up: the kernel only accepts a
    // gateway it can reach through a connected route.
    for route in &pod.routes {
        pod_handle.add_route(pod_index, &pod.name, route).await?;
    }
    if pod.disable_tx_checksum {
        offload::disable_tx_checksum(pod_ns, &pod.name)?;
    }
    Ok(VethPair {
        host_name: host_name.to_string(),
        host_mac,
        pod_index,
    })
}

/// Deletes the veth made by a failed setup and returns the error to report:
/// `error`, or both errors if the veth could not be deleted.
async fn remove_veth(
    host: &Handle,
    pod_handle: &Handle,
    host_name: &str,
    pod_name: &str,
    error: Error,
) -> Error {
    // Deleting one end deletes both; the pod end is the fallback in case the
    // host end is already gone or cannot be found. Only veths are deleted:
    // if either name now belongs to another kind of link, that link is not
    // the one this setup made.
    let removed = match host.delete_veth(host_name).await {
        Ok(true) => Ok(()),
        Ok(false) => pod_handle.delete_veth(pod_name).await.map(drop),
        Err(host_error) => match pod_handle.delete_veth(pod_name).await {
            Ok(true) => Ok(()),
            Ok(false) | Err(_) => Err(host_error),
        },
    };
    match removed {
        Ok(()) => error,
        Err(cleanup) => Error::Cleanup {
            error: Box::new(error),
            cleanup: Box::new(cleanup),
        },
    }
}
