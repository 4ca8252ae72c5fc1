//! Reading back what setup built, for CNI CHECK.

use ipnet::IpNet;
use netlink_packet_route::link::LinkFlags;

use crate::link::{link_mac, link_mtu};
use crate::{Error, Handle, Route};

/// The state of an interface in a namespace, for CNI CHECK.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkState {
    /// Interface index in its namespace.
    pub index: u32,
    /// MAC address.
    pub mac: [u8; 6],
    /// MTU.
    pub mtu: u32,
    /// Administratively up (`IFF_UP`).
    pub up: bool,
    /// Global-scope addresses only (no link-local `fe80::/10`).
    pub addresses: Vec<IpNet>,
    /// Main-table routes via a gateway out of this link.
    pub routes: Vec<Route>,
}

/// Reads back interface `name` in the handle's namespace; `None` when absent.
pub async fn inspect_link(handle: &Handle, name: &str) -> Result<Option<LinkState>, Error> {
    let Some(link) = handle.link(name).await? else {
        return Ok(None);
    };
    let index = link.header.index;
    let mac =
        link_mac(&link).ok_or_else(|| Error::UnexpectedReply(format!("MAC address of {name}")))?;
    let mtu = link_mtu(&link).ok_or_else(|| Error::UnexpectedReply(format!("MTU of {name}")))?;
    Ok(Some(LinkState {
        index,
        mac,
        mtu,
        up: link.header.flags.contains(LinkFlags::Up),
        addresses: handle.addresses(index, name).await?,
        routes: handle.routes(index, name).await?,
    }))
}
