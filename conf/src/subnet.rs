//! The `subnets` and `excludeSubnets` lists.

use std::str::FromStr;

use ipnet::IpNet;

use crate::address::special_range;
use crate::{ConfError, shown};

/// One entry of `subnets`: a CIDR and, on layer3, the per-node prefix length
/// (`10.128.0.0/16/24`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subnet {
    /// The network's CIDR, host bits cleared.
    pub cidr: IpNet,
    /// layer3 only: the prefix length of each node's share.
    pub host_prefix: Option<u8>,
}

impl Subnet {
    /// Parses `CIDR` or `CIDR/hostPrefix`.
    pub fn parse(text: &str, field: &'static str) -> Result<Subnet, ConfError> {
        let text = text.trim();
        let (cidr_text, host_prefix) = match text.matches('/').count() {
            2 => {
                // rsplit_once cannot fail: the text holds two slashes.
                let (cidr, host) = text.rsplit_once('/').unwrap_or((text, ""));
                let host = host.parse::<u8>().map_err(|_| {
                    ConfError::invalid(field, format!("invalid host prefix in {}", shown(text)))
                })?;
                (cidr, Some(host))
            }
            _ => (text, None),
        };
        let cidr = parse_cidr(cidr_text, field)?;
        if let Some(host) = host_prefix
            && (host < cidr.prefix_len() || host > cidr.max_prefix_len())
        {
            return Err(ConfError::invalid(
                field,
                format!("host prefix /{host} does not fit in {cidr}"),
            ));
        }
        let subnet = Subnet { cidr, host_prefix };
        subnet.check_usable(field)?;
        Ok(subnet)
    }

    /// On layer3 a subnet without a host prefix gets `default` (/24, /64),
    /// which must fit in it like a given one.
    pub fn with_default_host_prefix(
        mut self,
        default: u8,
        field: &'static str,
    ) -> Result<Subnet, ConfError> {
        if self.host_prefix.is_some() {
            return Ok(self);
        }
        if default < self.cidr.prefix_len() {
            return Err(ConfError::invalid(
                field,
                format!(
                    "{} is smaller than the default /{default} node subnet: give a host prefix ({}/{})",
                    self.cidr,
                    self.cidr,
                    self.cidr.prefix_len().max(default)
                ),
            ));
        }
        self.host_prefix = Some(default);
        self.check_usable(field)?;
        Ok(self)
    }

    /// A pod must be able to live in it: no special range (loopback,
    /// link-local, multicast, `0.0.0.0/0` ...), and room for a gateway and
    /// at least one pod in every share a pod takes its address from.
    fn check_usable(&self, field: &'static str) -> Result<(), ConfError> {
        if let Some((range, what)) = special_range(self.cidr) {
            return Err(ConfError::invalid(
                field,
                format!("{} overlaps the {what} range {range}", self.cidr),
            ));
        }
        let smallest = self.host_prefix.unwrap_or(self.cidr.prefix_len());
        let longest = match self.cidr {
            IpNet::V4(_) => MAX_POD_PREFIX_V4,
            IpNet::V6(_) => MAX_POD_PREFIX_V6,
        };
        if smallest > longest {
            return Err(ConfError::invalid(
                field,
                format!(
                    "{}: a /{smallest} has no room for a gateway and a pod (at most /{longest})",
                    self.cidr
                ),
            ));
        }
        Ok(())
    }
}

/// Longest IPv4 prefix a pod can take an address from: a /30 holds the
/// network and broadcast addresses, a gateway and one pod.
const MAX_POD_PREFIX_V4: u8 = 30;
/// Longest IPv6 prefix: the subnet-router anycast address, a gateway and a pod.
const MAX_POD_PREFIX_V6: u8 = 126;

/// Parses a CIDR, insisting that the host bits are zero as ovn-kubernetes does.
pub(crate) fn parse_cidr(text: &str, field: &'static str) -> Result<IpNet, ConfError> {
    let net = IpNet::from_str(text.trim())
        .map_err(|_| ConfError::invalid(field, format!("invalid CIDR {}", shown(text.trim()))))?;
    if net.trunc() != net {
        return Err(ConfError::invalid(
            field,
            format!("{net} has host bits set (did you mean {}?)", net.trunc()),
        ));
    }
    Ok(net)
}

/// Whether two CIDRs share any address.
pub fn overlaps(a: IpNet, b: IpNet) -> bool {
    a.contains(&b.network()) || b.contains(&a.network())
}

/// Splits a comma-separated list, ignoring empty items.
pub(crate) fn split_list(text: &str) -> impl Iterator<Item = &str> {
    text.split(',').map(str::trim).filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_plain_and_host_prefix_forms() {
        let s = Subnet::parse("10.128.0.0/16/24", "subnets").expect("valid");
        assert_eq!(s.cidr.to_string(), "10.128.0.0/16");
        assert_eq!(s.host_prefix, Some(24));
        let s = Subnet::parse(" fd00:10::/64 ", "subnets").expect("valid");
        assert_eq!(s.host_prefix, None);
    }

    #[test]
    fn rejects_bad_cidrs_naming_the_field() {
        for bad in [
            "10.0.0.0/33",
            "banana",
            "10.0.0.1/24",
            "10.0.0.0/16/8",
            "10.0.0.0/16/x",
            "0.0.0.0/0",
            "10.0.0.0/31",
            "10.0.0.0/16/31",
            "255.255.255.255/32",
            "127.0.0.0/8",
            "224.0.0.0/24",
            "169.254.0.0/16",
            "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe/127",
            "fe80::/64",
            "::/0",
        ] {
            let err = Subnet::parse(bad, "subnets").expect_err(bad).to_string();
            assert!(err.contains("`subnets`"), "{err}");
        }
    }
}
