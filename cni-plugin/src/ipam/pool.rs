//! Which addresses of a network are free, and which one to hand out.

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use conf::Subnet;
use ipnet::IpNet;

use crate::error::PluginError;

/// The allocatable space of one network.
#[derive(Debug, Clone, Copy)]
pub struct Pool<'a> {
    /// The network's subnets.
    pub subnets: &'a [Subnet],
    /// Never handed out dynamically.
    pub excludes: &'a [IpNet],
    /// Primary networks keep the first host address for the gateway.
    pub reserve_gateway: bool,
}

/// The first host address of a subnet: the gateway of a primary network.
pub fn gateway(cidr: IpNet) -> IpAddr {
    from_u128(cidr.addr(), to_u128(cidr.network()) + 1)
}

impl Pool<'_> {
    /// Addresses for a new attachment: the requested static ones (each
    /// checked), or the first free address of every subnet.
    pub fn allocate(
        &self,
        used: &HashSet<IpAddr>,
        requested: &[String],
    ) -> Result<Vec<IpNet>, PluginError> {
        if !requested.is_empty() {
            return requested
                .iter()
                .map(|text| self.claim_static(used, text))
                .collect();
        }
        self.subnets
            .iter()
            .map(|subnet| {
                self.first_free(subnet.cidr, used).ok_or_else(|| {
                    PluginError::AddressUnavailable(format!(
                        "subnets: no free address left in {}",
                        subnet.cidr
                    ))
                })
            })
            .collect()
    }

    fn claim_static(&self, used: &HashSet<IpAddr>, text: &str) -> Result<IpNet, PluginError> {
        let unavailable =
            |why: String| PluginError::AddressUnavailable(format!("requested IP {text}: {why}"));
        let addr: IpAddr = match text.split_once('/') {
            Some((addr, _)) => addr.parse(),
            None => text.parse(),
        }
        .map_err(|_| unavailable("not an IP address".into()))?;
        if used.contains(&addr) {
            return Err(unavailable("already in use".into()));
        }
        if self.subnets.is_empty() {
            // No IPAM: the user owns addressing, the prefix must come with it.
            return text.parse::<IpNet>().map_err(|_| {
                unavailable("needs a prefix length on a network without subnets".into())
            });
        }
        let subnet = self
            .subnets
            .iter()
            .find(|s| s.cidr.contains(&addr))
            .ok_or_else(|| unavailable("outside the network's subnets".into()))?;
        if self.is_reserved(subnet.cidr, addr) {
            return Err(unavailable(format!("reserved in {}", subnet.cidr)));
        }
        if let Some(excluded) = self.excludes.iter().find(|e| e.contains(&addr)) {
            return Err(unavailable(format!("inside excludeSubnets {excluded}")));
        }
        Ok(with_prefix(addr, subnet.cidr))
    }

    /// Network address, IPv4 broadcast, and the gateway on primary networks.
    fn is_reserved(&self, cidr: IpNet, addr: IpAddr) -> bool {
        let n = to_u128(addr);
        let network = to_u128(cidr.network());
        let last = to_u128(cidr.broadcast());
        n == network
            || (cidr.addr().is_ipv4() && n == last)
            || (self.reserve_gateway && n == network + 1)
    }

    /// Scans upward, jumping over excluded ranges, so the work is bounded by
    /// the number of used addresses and excludes, not the subnet's size.
    fn first_free(&self, cidr: IpNet, used: &HashSet<IpAddr>) -> Option<IpNet> {
        let last = to_u128(cidr.broadcast());
        let mut n = to_u128(cidr.network()) + 1;
        while n <= last {
            let addr = from_u128(cidr.addr(), n);
            if let Some(excluded) = self.excludes.iter().find(|e| e.contains(&addr)) {
                n = to_u128(excluded.broadcast()).checked_add(1)?;
                continue;
            }
            if !self.is_reserved(cidr, addr) && !used.contains(&addr) {
                return Some(with_prefix(addr, cidr));
            }
            n += 1;
        }
        None
    }
}

fn with_prefix(addr: IpAddr, cidr: IpNet) -> IpNet {
    // The prefix comes from a valid IpNet of the same family: it always fits.
    IpNet::new(addr, cidr.prefix_len()).unwrap_or(cidr)
}

fn to_u128(addr: IpAddr) -> u128 {
    match addr {
        IpAddr::V4(v4) => u128::from(u32::from(v4)),
        IpAddr::V6(v6) => u128::from(v6),
    }
}

fn from_u128(family: IpAddr, n: u128) -> IpAddr {
    match family {
        IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::from(n as u32)),
        IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::from(n)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subnets(text: &str) -> Vec<Subnet> {
        text.split(',')
            .map(|s| Subnet::parse(s, "subnets").expect("subnet"))
            .collect()
    }

    fn ips(list: &[&str]) -> HashSet<IpAddr> {
        list.iter().map(|s| s.parse().expect("ip")).collect()
    }

    #[test]
    fn primary_skips_network_and_gateway_secondary_only_network() {
        let s = subnets("192.168.0.0/16,fd00:10::/64");
        let primary = Pool {
            subnets: &s,
            excludes: &[],
            reserve_gateway: true,
        };
        let got = primary.allocate(&HashSet::new(), &[]).expect("alloc");
        assert_eq!(got[0].to_string(), "192.168.0.2/16");
        assert_eq!(got[1].to_string(), "fd00:10::2/64");
        let secondary = Pool {
            reserve_gateway: false,
            ..primary
        };
        assert_eq!(
            secondary.allocate(&HashSet::new(), &[]).expect("alloc")[0].to_string(),
            "192.168.0.1/16"
        );
        assert_eq!(gateway(s[0].cidr).to_string(), "192.168.0.1");
    }

    #[test]
    fn excludes_and_used_addresses_are_skipped_and_exhaustion_is_reported() {
        let s = subnets("10.0.0.0/29");
        let excludes = ["10.0.0.2/31".parse().expect("net")];
        let pool = Pool {
            subnets: &s,
            excludes: &excludes,
            reserve_gateway: true,
        };
        let got = pool.allocate(&ips(&["10.0.0.4"]), &[]).expect("alloc");
        assert_eq!(got[0].to_string(), "10.0.0.5/29");
        let err = pool
            .allocate(&ips(&["10.0.0.4", "10.0.0.5", "10.0.0.6"]), &[])
            .expect_err("full");
        assert_eq!(err.code(), 102);
        assert!(err.to_string().contains("10.0.0.0/29"));
    }

    #[test]
    fn static_addresses_are_checked() {
        let s = subnets("10.0.0.0/24");
        let excludes = ["10.0.0.128/25".parse().expect("net")];
        let pool = Pool {
            subnets: &s,
            excludes: &excludes,
            reserve_gateway: true,
        };
        let ok = pool
            .allocate(&HashSet::new(), &["10.0.0.9".into()])
            .expect("static");
        assert_eq!(ok[0].to_string(), "10.0.0.9/24");
        for (ip, why) in [
            ("10.0.0.7", "in use"),
            ("10.1.0.7", "outside"),
            ("10.0.0.1", "reserved"),
            ("10.0.0.255", "reserved"),
            ("bogus", "not an IP"),
            ("10.0.0.200", "excludeSubnets"),
        ] {
            let err = pool
                .allocate(&ips(&["10.0.0.7"]), &[ip.into()])
                .expect_err(ip)
                .to_string();
            assert!(err.contains(why) && err.contains(ip), "{err}");
        }
    }

    #[test]
    fn static_addresses_without_subnets_need_a_prefix_and_must_be_free() {
        let pool = Pool {
            subnets: &[],
            excludes: &[],
            reserve_gateway: false,
        };
        let ok = pool
            .allocate(&HashSet::new(), &["10.0.0.9/24".into()])
            .expect("static");
        assert_eq!(ok[0].to_string(), "10.0.0.9/24");
        let err = pool
            .allocate(&ips(&["10.0.0.9"]), &["10.0.0.9/24".into()])
            .expect_err("taken");
        assert!(err.to_string().contains("in use"), "{err}");
        let err = pool
            .allocate(&HashSet::new(), &["10.0.0.9".into()])
            .expect_err("no prefix");
        assert!(err.to_string().contains("prefix"), "{err}");
    }

    #[test]
    fn a_huge_ipv6_subnet_allocates_quickly() {
        let s = subnets("fd00::/48");
        let excludes = ["fd00::/64".parse().expect("net")];
        let pool = Pool {
            subnets: &s,
            excludes: &excludes,
            reserve_gateway: false,
        };
        let got = pool.allocate(&HashSet::new(), &[]).expect("alloc");
        assert_eq!(got[0].to_string(), "fd00:0:0:1::/48");
    }
}
