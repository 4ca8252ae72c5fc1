//! IP addresses on links.

use std::net::IpAddr;

use futures::TryStreamExt;
use ipnet::IpNet;
use netlink_packet_route::address::{AddressAttribute, AddressFlags, AddressScope};

use crate::{Error, Handle};

impl Handle {
    /// Adds `address` (with its prefix length) to the link with `index`;
    /// `name` is for messages.
    ///
    /// IPv6 addresses are added with `IFA_F_NODAD`: the plugin owns the
    /// address through IPAM, and duplicate address detection would only keep
    /// it "tentative" (unusable as a route source) for a second or more.
    pub async fn add_address(&self, index: u32, name: &str, address: IpNet) -> Result<(), Error> {
        let mut request = self
            .inner
            .address()
            .add(index, address.addr(), address.prefix_len());
        if address.addr().is_ipv6() {
            request
                .message_mut()
                .attributes
                .push(AddressAttribute::Flags(AddressFlags::Nodad));
        }
        request
            .execute()
            .await
            .map_err(|e| self.failed(format_args!("add address {address} to {name}"), e))
    }

    /// The global-scope addresses of the link with `index`, in kernel order;
    /// link-local (`fe80::/10`) and host-scope ones are left out because
    /// the kernel makes them, not the plugin.
    pub async fn addresses(&self, index: u32, name: &str) -> Result<Vec<IpNet>, Error> {
        let failed = |e| self.failed(format_args!("list addresses of {name}"), e);
        let mut messages = self
            .inner
            .address()
            .get()
            .set_link_index_filter(index)
            .execute();
        let mut found = Vec::new();
        while let Some(message) = messages.try_next().await.map_err(failed)? {
            if message.header.scope != AddressScope::Universe {
                continue;
            }
            // IFA_LOCAL is the interface's own address; IFA_ADDRESS is the
            // peer on point-to-point links, so prefer IFA_LOCAL when present.
            let local = message.attributes.iter().find_map(|attr| match attr {
                AddressAttribute::Local(ip) => Some(*ip),
                _ => None,
            });
            let address = local.or_else(|| {
                message.attributes.iter().find_map(|attr| match attr {
                    AddressAttribute::Address(ip) => Some(*ip),
                    _ => None,
                })
            });
            if let Some(ip) = address {
                found.push(ip_net(ip, message.header.prefix_len, name)?);
            }
        }
        Ok(found)
    }
}

/// An `IpNet` from a kernel address and prefix length.
fn ip_net(ip: IpAddr, prefix_len: u8, name: &str) -> Result<IpNet, Error> {
    IpNet::new(ip, prefix_len)
        .map_err(|_| Error::UnexpectedReply(format!("address {ip}/{prefix_len} on {name}")))
}
