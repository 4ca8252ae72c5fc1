//! Routes via a gateway on one link.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use futures::TryStreamExt;
use ipnet::IpNet;
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteHeader, RouteMessage, RouteProtocol, RouteScope,
};
use rtnetlink::RouteMessageBuilder;

use crate::{Error, Handle};

/// A route to `destination` via `gateway`; the default route is `0.0.0.0/0`
/// or `::/0`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Route {
    /// The destination prefix.
    pub destination: IpNet,
    /// The next hop, reachable on the link the route is added to.
    pub gateway: IpAddr,
}

impl std::fmt::Display for Route {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} via {}", self.destination, self.gateway)
    }
}

impl Handle {
    /// Adds `route` in the main table, out of the link with `index`; `name`
    /// is for messages.
    ///
    /// Host bits of the destination are dropped (`10.1.2.3/8` means
    /// `10.0.0.0/8`), as the CNI reference plugins do; the kernel would
    /// refuse them otherwise.
    pub async fn add_route(&self, index: u32, name: &str, route: &Route) -> Result<(), Error> {
        let message = route_message(index, route)?;
        self.inner
            .route()
            .add(message)
            .execute()
            .await
            .map_err(|e| self.failed(format_args!("add route {route} dev {name}"), e))
    }

    /// Deletes `route` out of the link with `index`; `name` is for messages.
    pub async fn delete_route(&self, index: u32, name: &str, route: &Route) -> Result<(), Error> {
        let mut message = route_message(index, route)?;
        // Whoever added it (another plugin, the kernel's "boot" protocol):
        // the kernel matches protocol and scope only when they are given.
        message.header.protocol = RouteProtocol::Unspec;
        message.header.scope = RouteScope::NoWhere;
        self.inner
            .route()
            .del(message)
            .execute()
            .await
            .map_err(|e| self.failed(format_args!("delete route {route} dev {name}"), e))
    }

    /// The routes of the main table that leave through the link with `index`
    /// via a gateway (connected routes, which the kernel makes, are left out).
    pub async fn routes(&self, index: u32, name: &str) -> Result<Vec<Route>, Error> {
        let failed = |e| self.failed(format_args!("list routes of {name}"), e);
        // An address-family-less dump returns the IPv4 and IPv6 tables at once.
        let query = RouteMessageBuilder::<IpAddr>::new().build();
        let mut messages = self.inner.route().get(query).execute();
        let mut found = Vec::new();
        while let Some(message) = messages.try_next().await.map_err(failed)? {
            if let Some(route) = gateway_route_via(&message, index) {
                found.push(route);
            }
        }
        Ok(found)
    }
}

/// The netlink message for `route` out of `index`.
fn route_message(index: u32, route: &Route) -> Result<RouteMessage, Error> {
    let invalid = |reason: String| Error::InvalidRoute {
        destination: route.destination.to_string(),
        gateway: route.gateway.to_string(),
        reason,
    };
    // The builder would turn an IPv6 gateway for an IPv4 destination into an
    // RTA_VIA route; nothing in CNI asks for that, so it is refused as a typo.
    if route.destination.addr().is_ipv4() != route.gateway.is_ipv4() {
        return Err(invalid(
            "destination and gateway are of different IP families".into(),
        ));
    }
    let destination = route.destination.trunc();
    Ok(RouteMessageBuilder::<IpAddr>::new()
        .destination_prefix(destination.addr(), destination.prefix_len())
        .and_then(|builder| builder.gateway(route.gateway))
        .map_err(|e| invalid(e.to_string()))?
        .output_interface(index)
        .build())
}

/// The route in `message` if it is a main-table route via a gateway out of
/// the link with `index`.
fn gateway_route_via(message: &RouteMessage, index: u32) -> Option<Route> {
    // Tables above 255 only fit the RTA_TABLE attribute, which then wins.
    let table = message
        .attributes
        .iter()
        .find_map(|attr| match attr {
            RouteAttribute::Table(table) => Some(*table),
            _ => None,
        })
        .unwrap_or(u32::from(message.header.table));
    if table != u32::from(RouteHeader::RT_TABLE_MAIN) {
        return None;
    }
    let mut oif = None;
    let mut gateway = None;
    let mut destination = None;
    for attr in &message.attributes {
        match attr {
            RouteAttribute::Oif(i) => oif = Some(*i),
            RouteAttribute::Gateway(address) => gateway = ip_of(address),
            RouteAttribute::Destination(address) => destination = ip_of(address),
            _ => {}
        }
    }
    if oif != Some(index) {
        return None;
    }
    let gateway = gateway?;
    // No RTA_DST means the default route of the message's family.
    let destination = destination.unwrap_or(match gateway {
        IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    });
    let destination = IpNet::new(destination, message.header.destination_prefix_length).ok()?;
    Some(Route {
        destination,
        gateway,
    })
}

/// The IP address of a route attribute, if it holds one.
fn ip_of(address: &RouteAddress) -> Option<IpAddr> {
    match address {
        RouteAddress::Inet(ip) => Some(IpAddr::V4(*ip)),
        RouteAddress::Inet6(ip) => Some(IpAddr::V6(*ip)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(destination: &str, gateway: &str) -> Route {
        Route {
            destination: destination.parse().expect("test prefix"),
            gateway: gateway.parse().expect("test gateway"),
        }
    }

    #[test]
    fn mixed_families_are_refused() {
        let err = route_message(3, &route("0.0.0.0/0", "fd00::1")).expect_err("mixed families");
        assert!(matches!(err, Error::InvalidRoute { .. }), "{err}");
        assert!(err.to_string().contains("fd00::1"), "{err}");
    }

    #[test]
    fn host_bits_are_dropped_and_read_back() {
        let message = route_message(7, &route("10.1.2.3/8", "10.0.0.1")).expect("valid route");
        assert_eq!(message.header.destination_prefix_length, 8);
        assert_eq!(
            gateway_route_via(&message, 7),
            Some(route("10.0.0.0/8", "10.0.0.1"))
        );
        assert_eq!(gateway_route_via(&message, 8), None, "other link");
    }

    #[test]
    fn default_route_has_no_destination_attribute() {
        let mut message = route_message(2, &route("::/0", "fd00::1")).expect("valid route");
        message
            .attributes
            .retain(|attr| !matches!(attr, RouteAttribute::Destination(_)));
        assert_eq!(
            gateway_route_via(&message, 2),
            Some(route("::/0", "fd00::1"))
        );
    }
}
