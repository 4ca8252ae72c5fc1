//! Looking up, creating, bringing up, listing and deleting links.

use futures::TryStreamExt;
use netlink_packet_route::link::{
    InfoData, InfoKind, InfoVeth, LinkAttribute, LinkInfo, LinkMessage,
};
use rtnetlink::{LinkUnspec, LinkVeth};

use crate::error::netlink_errno;
use crate::{Error, Handle, Netns};

/// What a veth pair is made of: one end here, its peer created straight in
/// another namespace.
#[derive(Debug, Clone)]
pub struct VethSpec<'a> {
    /// Name of the end created in the handle's namespace.
    pub host_name: &'a str,
    /// Name of the peer, created directly inside `peer_ns`.
    pub peer_name: &'a str,
    /// Namespace of the peer.
    pub peer_ns: &'a Netns,
    /// MTU of both ends.
    pub mtu: u32,
    /// MAC address of the peer; the host end gets a random one.
    pub peer_mac: Option<[u8; 6]>,
}

impl Handle {
    /// The full link message of `name`, or `None` when there is no such link.
    pub async fn link(&self, name: &str) -> Result<Option<LinkMessage>, Error> {
        let mut links = self.inner.link().get().match_name(name).execute();
        match links.try_next().await {
            Ok(link) => Ok(link),
            // The kernel answers a lookup by name with ENODEV when absent.
            Err(e) if netlink_errno(&e) == Some(libc::ENODEV) => Ok(None),
            Err(e) => Err(self.failed(format_args!("look up interface {name}"), e)),
        }
    }

    /// The index of `name`, or `None` when there is no such link.
    pub async fn link_index(&self, name: &str) -> Result<Option<u32>, Error> {
        Ok(self.link(name).await?.map(|link| link.header.index))
    }

    /// Deletes the veth `name` (both ends); `Ok(false)` when there is no link
    /// of that name, so teardown can run any number of times.
    ///
    /// A link of that name that is not a veth is left alone and reported as
    /// [`Error::NotAVeth`]: a host interface name derived from pod data could
    /// otherwise name (or be taken over by) a bridge, a bond or an uplink,
    /// and deleting it would cut the node off.
    pub async fn delete_veth(&self, name: &str) -> Result<bool, Error> {
        let Some(link) = self.link(name).await? else {
            return Ok(false);
        };
        if link_kind(&link) != Some(&InfoKind::Veth) {
            return Err(Error::NotAVeth {
                name: name.to_string(),
                netns: self.netns_path().to_path_buf(),
                kind: link_kind(&link).map_or_else(|| "none".to_string(), ToString::to_string),
            });
        }
        // By the index just checked rather than by name: a name can be
        // reused at once, but ifindexes are handed out cyclically per
        // namespace over 2^31 values, so this index cannot name another link
        // a moment later.
        match self.inner.link().del(link.header.index).execute().await {
            Ok(()) => Ok(true),
            // Gone between the lookup and the delete (e.g. its peer was
            // deleted meanwhile): the caller's goal is reached all the same.
            Err(e) if netlink_errno(&e) == Some(libc::ENODEV) => Ok(false),
            Err(e) => Err(self.failed(format_args!("delete veth {name}"), e)),
        }
    }

    /// Names of the veth links in this namespace whose name starts with
    /// `prefix`, in the kernel's (ifindex) order; other kinds of links are
    /// skipped even when their name matches, as [`Handle::delete_veth`]
    /// would refuse them anyway.
    pub async fn list_veths_with_prefix(&self, prefix: &str) -> Result<Vec<String>, Error> {
        let mut links = self.inner.link().get().execute();
        let mut names = Vec::new();
        while let Some(link) = links
            .try_next()
            .await
            .map_err(|e| self.failed(format_args!("list veths named {prefix}*"), e))?
        {
            if link_kind(&link) != Some(&InfoKind::Veth) {
                continue;
            }
            if let Some(name) = link_name(&link)
                && name.starts_with(prefix)
            {
                names.push(name.to_string());
            }
        }
        Ok(names)
    }

    /// Sets the link with `index` administratively up; `name` is for messages.
    pub async fn set_link_up(&self, index: u32, name: &str) -> Result<(), Error> {
        self.inner
            .link()
            .set(LinkUnspec::new_with_index(index).up().build())
            .execute()
            .await
            .map_err(|e| self.failed(format_args!("set interface {name} up"), e))
    }

    /// Creates a veth pair in one request: the host end here (up, with the
    /// MTU) and the peer directly inside `spec.peer_ns` with its name, MTU and
    /// MAC, as netavark does. The peer never exists in this namespace, so its
    /// name cannot clash with an interface here and nothing has to be moved.
    ///
    /// `EEXIST` from the kernel (either end's name taken) is returned as
    /// [`Error::Netlink`]; callers that want to know which end clashed look
    /// the names up.
    pub async fn create_veth(&self, spec: &VethSpec<'_>) -> Result<(), Error> {
        let mut peer = LinkUnspec::new_with_name(spec.peer_name)
            .setns_by_fd(spec.peer_ns.as_raw_fd())
            .mtu(spec.mtu);
        if let Some(mac) = spec.peer_mac {
            peer = peer.address(mac.to_vec());
        }
        let message = LinkVeth::new(spec.host_name, spec.peer_name)
            .mtu(spec.mtu)
            .up()
            // Replaces the peer message LinkVeth::new built, which has no
            // namespace, MTU or MAC.
            .set_info_data(InfoData::Veth(InfoVeth::Peer(peer.build())))
            .build();
        self.inner.link().add(message).execute().await.map_err(|e| {
            self.failed(
                format_args!(
                    "create veth {} with peer {} in {}",
                    spec.host_name,
                    spec.peer_name,
                    spec.peer_ns.path().display()
                ),
                e,
            )
        })
    }
}

/// The MAC address of a link message, when it has a 6-byte one.
pub(crate) fn link_mac(link: &LinkMessage) -> Option<[u8; 6]> {
    link.attributes.iter().find_map(|attr| match attr {
        LinkAttribute::Address(bytes) => bytes.as_slice().try_into().ok(),
        _ => None,
    })
}

/// The MTU of a link message.
pub(crate) fn link_mtu(link: &LinkMessage) -> Option<u32> {
    link.attributes.iter().find_map(|attr| match attr {
        LinkAttribute::Mtu(mtu) => Some(*mtu),
        _ => None,
    })
}

/// The name of a link message.
fn link_name(link: &LinkMessage) -> Option<&str> {
    link.attributes.iter().find_map(|attr| match attr {
        LinkAttribute::IfName(name) => Some(name.as_str()),
        _ => None,
    })
}

/// The kind of a link (`veth`, `bridge`, ...); `None` for links without one,
/// such as `lo` and physical NICs.
fn link_kind(link: &LinkMessage) -> Option<&InfoKind> {
    link.attributes.iter().find_map(|attr| match attr {
        LinkAttribute::LinkInfo(infos) => infos.iter().find_map(|info| match info {
            LinkInfo::Kind(kind) => Some(kind),
            _ => None,
        }),
        _ => None,
    })
}
