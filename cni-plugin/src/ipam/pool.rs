//! Which addresses of a network are free, and which one to hand out.

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use conf::{StaticIp, Subnet};
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

/// The first host address of a subnet: the gateway of a primary network
/// (the network address itself for a subnet too small to have one, which
/// validation never lets through).
pub fn gateway(cidr: IpNet) -> IpAddr {
    let n = to_u128(cidr.network());
    let first_host = n
        .checked_add(1)
        .filter(|g| *g <= to_u128(cidr.broadcast()))
        .unwrap_or(n);
    from_u128(cidr.addr(), first_host)
}

impl Pool<'_> {
    /// The requested static addresses, each checked and not in `used`.
    pub fn claim_statics(
        &self,
        used: &HashSet<IpAddr>,
        requested: &[StaticIp],
    ) -> Result<Vec<IpNet>, PluginError> {
        requested
            .iter()
            .map(|ip| {
                if used.contains(&ip.addr) {
                    return Err(unavailable(ip, "already in use"));
                }
                self.check_static(ip)
            })
            .collect()
    }

    /// Up to `limit` free addresses of subnet `cidr` inside `range` (an
    /// address block of it), lowest first, with the subnet's prefix: never
    /// a reserved, excluded or used one. Scans upward, jumping over
    /// excluded ranges, so the work is bounded by the used addresses and
    /// excludes, not the range's size; every step is checked, so the scan
    /// ends at the range's last address even at the end of the address space.
    pub fn free_in(
        &self,
        cidr: IpNet,
        range: IpNet,
        used: &HashSet<IpAddr>,
        limit: usize,
    ) -> Vec<IpNet> {
        let mut free = Vec::new();
        let first = to_u128(range.network()).max(to_u128(cidr.network()));
        let last = to_u128(range.broadcast()).min(to_u128(cidr.broadcast()));
        let mut n = first;
        while n <= last && free.len() < limit {
            let addr = from_u128(cidr.addr(), n);
            if let Some(excluded) = self.excludes.iter().find(|e| e.contains(&addr)) {
                match to_u128(excluded.broadcast()).checked_add(1) {
                    Some(next) => n = next,
                    None => break,
                }
                continue;
            }
            if !self.is_reserved(cidr, addr) && !used.contains(&addr) {
                free.push(with_prefix(addr, cidr));
            }
            match n.checked_add(1) {
                Some(next) => n = next,
                None => break,
            }
        }
        free
    }

    /// `ip` with the prefix it gets here, unless it can never be had: no
    /// prefix on a network without subnets (the user owns addressing then),
    /// outside the subnets, reserved, or excluded. Whether it is free is
    /// not checked.
    pub fn check_static(&self, ip: &StaticIp) -> Result<IpNet, PluginError> {
        if self.subnets.is_empty() {
            return ip.with_prefix().ok_or_else(|| {
                unavailable(ip, "needs a prefix length on a network without subnets")
            });
        }
        let subnet = self.check_inside(ip)?;
        if self.is_reserved(subnet, ip.addr) {
            return Err(unavailable(ip, &format!("reserved in {subnet}")));
        }
        if let Some(excluded) = self.excludes.iter().find(|e| e.contains(&ip.addr)) {
            return Err(unavailable(
                ip,
                &format!("inside excludeSubnets {excluded}"),
            ));
        }
        Ok(with_prefix(ip.addr, subnet))
    }

    /// The subnet `ip` is inside; on a network without subnets any address.
    pub fn check_inside(&self, ip: &StaticIp) -> Result<IpNet, PluginError> {
        if self.subnets.is_empty() {
            return Ok(IpNet::from(ip.addr));
        }
        self.subnet_of(ip.addr)
            .ok_or_else(|| unavailable(ip, "outside the network's subnets"))
    }

    /// The subnet of the pool that holds `addr`, if any.
    pub fn subnet_of(&self, addr: IpAddr) -> Option<IpNet> {
        self.subnets
            .iter()
            .map(|s| s.cidr)
            .find(|cidr| cidr.contains(&addr))
    }

    /// Network address, IPv4 broadcast, and the gateway on primary networks.
    fn is_reserved(&self, cidr: IpNet, addr: IpAddr) -> bool {
        addr == cidr.network()
            || (cidr.addr().is_ipv4() && addr == cidr.broadcast())
            || (self.reserve_gateway && addr == gateway(cidr))
    }
}

/// No address left in `cidr`: code 102, naming the subnet.
pub fn exhausted(cidr: IpNet) -> PluginError {
    PluginError::AddressUnavailable(format!("subnets: no free address left in {cidr}"))
}

/// The whole-pool allocation the address blocks must agree with: the
/// static addresses, or the lowest free address of every subnet.
#[cfg(test)]
pub fn allocate(
    pool: &Pool<'_>,
    used: &HashSet<IpAddr>,
    requested: &[StaticIp],
) -> Result<Vec<IpNet>, PluginError> {
    if !requested.is_empty() {
        return pool.claim_statics(used, requested);
    }
    pool.subnets
        .iter()
        .map(|s| {
            let free = pool.free_in(s.cidr, s.cidr, used, 1);
            free.into_iter().next().ok_or_else(|| exhausted(s.cidr))
        })
        .collect()
}

fn unavailable(ip: &StaticIp, why: &str) -> PluginError {
    PluginError::AddressUnavailable(format!("requested IP {ip}: {why}"))
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

    fn ip(text: &str) -> StaticIp {
        StaticIp::parse(text).expect("static ip")
    }

    #[test]
    fn primary_skips_network_and_gateway_secondary_only_network() {
        let s = subnets("192.168.0.0/16,fd00:10::/64");
        let primary = Pool {
            subnets: &s,
            excludes: &[],
            reserve_gateway: true,
        };
        let got = allocate(&primary, &HashSet::new(), &[]).expect("alloc");
        assert_eq!(got[0].to_string(), "192.168.0.2/16");
        assert_eq!(got[1].to_string(), "fd00:10::2/64");
        let secondary = Pool {
            reserve_gateway: false,
            ..primary
        };
        assert_eq!(
            allocate(&secondary, &HashSet::new(), &[]).expect("alloc")[0].to_string(),
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
        let got = allocate(&pool, &ips(&["10.0.0.4"]), &[]).expect("alloc");
        assert_eq!(got[0].to_string(), "10.0.0.5/29");
        let err =
            allocate(&pool, &ips(&["10.0.0.4", "10.0.0.5", "10.0.0.6"]), &[]).expect_err("full");
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
        let ok = allocate(&pool, &HashSet::new(), &[ip("10.0.0.9")]).expect("static");
        assert_eq!(ok[0].to_string(), "10.0.0.9/24");
        for (text, why) in [
            ("10.0.0.7", "in use"),
            ("10.1.0.7", "outside"),
            ("10.0.0.1", "reserved"),
            ("10.0.0.255", "reserved"),
            ("10.0.0.200", "excludeSubnets"),
        ] {
            let err = allocate(&pool, &ips(&["10.0.0.7"]), &[ip(text)])
                .expect_err(text)
                .to_string();
            assert!(err.contains(why) && err.contains(text), "{err}");
        }
    }

    #[test]
    fn the_end_of_the_address_space_does_not_wrap() {
        // Validation refuses these ranges (multicast, class E); the pool
        // must still stop at their end rather than wrap around to zero.
        for (subnet, count, last) in [
            (
                "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffc/126",
                3,
                "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
            ),
            ("255.255.255.252/30", 2, "255.255.255.254"),
        ] {
            let s = [Subnet {
                cidr: subnet.parse().expect("net"),
                host_prefix: None,
            }];
            let pool = Pool {
                subnets: &s,
                excludes: &[],
                reserve_gateway: false,
            };
            let mut used = HashSet::new();
            while let Ok(got) = allocate(&pool, &used, &[]) {
                assert!(
                    s[0].cidr.contains(&got[0].addr()),
                    "{got:?} outside {subnet}"
                );
                assert!(used.insert(got[0].addr()), "{got:?} handed out twice");
            }
            assert_eq!(used.len(), count, "{subnet}");
            assert!(
                used.contains(&last.parse::<IpAddr>().expect("ip")),
                "{subnet}"
            );
            let err = allocate(&pool, &used, &[]).expect_err("exhausted");
            assert_eq!(err.code(), 102);
        }
    }

    #[test]
    fn static_addresses_without_subnets_need_a_prefix_and_must_be_free() {
        let pool = Pool {
            subnets: &[],
            excludes: &[],
            reserve_gateway: false,
        };
        let ok = allocate(&pool, &HashSet::new(), &[ip("10.0.0.9/24")]).expect("static");
        assert_eq!(ok[0].to_string(), "10.0.0.9/24");
        let err = allocate(&pool, &ips(&["10.0.0.9"]), &[ip("10.0.0.9/24")]).expect_err("taken");
        assert!(err.to_string().contains("in use"), "{err}");
        let err = allocate(&pool, &HashSet::new(), &[ip("10.0.0.9")]).expect_err("no prefix");
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
        let got = allocate(&pool, &HashSet::new(), &[]).expect("alloc");
        assert_eq!(got[0].to_string(), "fd00:0:0:1::/48");
    }
}
