//! The address pool over arbitrary small subnets, at the ends of the
//! address space too, with arbitrary excludes and used addresses: allocate
//! until exhaustion and check every address handed out.

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use conf::{StaticIp, Subnet};
use ipnet::IpNet;
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use proptest::sample::Index;

use super::config;
use crate::ipam::pool::{Pool, allocate, gateway};

/// The address `offset` into `net`.
fn nth(net: IpNet, offset: u128) -> IpAddr {
    match net {
        IpNet::V4(n) => IpAddr::V4(Ipv4Addr::from(
            u32::from(n.network()).wrapping_add(offset as u32),
        )),
        IpNet::V6(n) => IpAddr::V6(Ipv6Addr::from(u128::from(n.network()).wrapping_add(offset))),
    }
}

/// How many addresses `net` holds.
fn size(net: IpNet) -> u128 {
    1u128 << (net.max_prefix_len() - net.prefix_len())
}

/// A small subnet (/24 to /30, /120 to /126) anywhere, often at the very
/// start or end of its family's space.
fn subnet() -> impl Strategy<Value = IpNet> {
    let v4 = (any::<u32>(), 24u8..=30, 0u8..4).prop_map(|(bits, prefix, place)| {
        let bits = match place {
            0 => u32::MAX,
            1 => 0,
            _ => bits,
        };
        IpNet::new(IpAddr::V4(Ipv4Addr::from(bits)), prefix)
            .unwrap()
            .trunc()
    });
    let v6 = (any::<u128>(), 120u8..=126, 0u8..4).prop_map(|(bits, prefix, place)| {
        let bits = match place {
            0 => u128::MAX,
            1 => 0,
            _ => bits,
        };
        IpNet::new(IpAddr::V6(Ipv6Addr::from(bits)), prefix)
            .unwrap()
            .trunc()
    });
    prop_oneof![v4, v6]
}

/// A network around `inside`: mostly a strict piece of it, else all of
/// it, a larger one holding it, or an address just past it (wrapping
/// around at the end of the space).
fn around(inside: IpNet, at: Index, bits: u8, kind: u8) -> IpNet {
    let (prefix, max) = (inside.prefix_len(), inside.max_prefix_len());
    match kind {
        0..=8 => {
            let start = nth(inside, at.index(size(inside) as usize) as u128);
            let longer = prefix + 1 + bits % (max - prefix);
            IpNet::new(start, longer).unwrap().trunc()
        }
        9 => inside,
        10 => IpNet::new(inside.addr(), prefix - (bits % 8 + 1))
            .unwrap()
            .trunc(),
        _ => IpNet::new(nth(inside, size(inside) + u128::from(bits % 4)), max).unwrap(),
    }
}

/// One or two non-overlapping subnets, their excludes, and used addresses
/// inside them and out.
#[derive(Debug, Clone)]
struct Case {
    subnets: Vec<Subnet>,
    excludes: Vec<IpNet>,
    used: HashSet<IpAddr>,
    reserve_gateway: bool,
}

fn case() -> impl Strategy<Value = Case> {
    (
        vec(subnet(), 1..3),
        vec((any::<Index>(), any::<Index>(), any::<u8>(), 0u8..12), 0..4),
        vec((any::<Index>(), any::<Index>()), 0..24),
        any::<bool>(),
    )
        .prop_map(|(nets, excludes, used, reserve_gateway)| {
            let mut subnets: Vec<IpNet> = Vec::new();
            for net in nets {
                if !subnets.iter().any(|s| conf::overlaps(*s, net)) {
                    subnets.push(net);
                }
            }
            let pick = |i: &Index| subnets[i.index(subnets.len())];
            let excludes = excludes
                .iter()
                .map(|(which, at, bits, kind)| around(pick(which), *at, *bits, *kind))
                .collect();
            let used = used
                .iter()
                .map(|(which, at)| {
                    let net = pick(which);
                    nth(net, at.index(size(net) as usize + 4) as u128)
                })
                .collect();
            Case {
                subnets: subnets
                    .into_iter()
                    .map(|cidr| Subnet {
                        cidr,
                        host_prefix: None,
                    })
                    .collect(),
                excludes,
                used,
                reserve_gateway,
            }
        })
}

impl Case {
    fn pool(&self) -> Pool<'_> {
        Pool {
            subnets: &self.subnets,
            excludes: &self.excludes,
            reserve_gateway: self.reserve_gateway,
        }
    }

    /// Whether `addr` of `cidr` may ever be handed out, whoever uses it.
    fn eligible(&self, cidr: IpNet, addr: IpAddr) -> bool {
        cidr.contains(&addr)
            && addr != cidr.network()
            && !(addr.is_ipv4() && addr == cidr.broadcast())
            && !(self.reserve_gateway && addr == gateway(cidr))
            && !self.excludes.iter().any(|e| e.contains(&addr))
    }

    /// Addresses of `cidr` still free given `used`, by brute force.
    fn free(&self, cidr: IpNet, used: &HashSet<IpAddr>) -> usize {
        (0..size(cidr))
            .map(|i| nth(cidr, i))
            .filter(|a| self.eligible(cidr, *a) && !used.contains(a))
            .count()
    }
}

proptest! {
    #![proptest_config(config(128))]

    /// Allocating until exhaustion hands out only eligible, unused,
    /// distinct addresses with their subnet's prefix, never wraps around,
    /// and stops only when a subnet is really full, with code 102 naming it.
    #[test]
    fn allocation_until_exhaustion_is_sound(case in case()) {
        let pool = case.pool();
        let mut used = case.used.clone();
        let budget: usize = case.subnets.iter().map(|s| size(s.cidr) as usize).sum::<usize>() + 1;
        let mut rounds = 0;
        let err = loop {
            rounds += 1;
            prop_assert!(rounds <= budget, "more allocations than addresses");
            match allocate(&pool, &used, &[]) {
                Ok(got) => {
                    prop_assert_eq!(got.len(), case.subnets.len());
                    for (net, subnet) in got.iter().zip(&case.subnets) {
                        let cidr = subnet.cidr;
                        prop_assert_eq!(net.prefix_len(), cidr.prefix_len(), "{}", net);
                        prop_assert!(case.eligible(cidr, net.addr()), "{} from {}", net, cidr);
                        prop_assert!(used.insert(net.addr()), "{} handed out twice", net);
                    }
                }
                Err(err) => break err,
            }
        };
        prop_assert_eq!(err.code(), 102);
        let message = err.to_string();
        let full: Vec<IpNet> = case
            .subnets
            .iter()
            .map(|s| s.cidr)
            .filter(|c| message.contains(&format!(" {c}")))
            .collect();
        prop_assert_eq!(full.len(), 1, "{}", message);
        prop_assert_eq!(case.free(full[0], &used), 0, "{} is not full: {}", full[0], message);
        if case.subnets.len() == 1 {
            let cidr = case.subnets[0].cidr;
            let handed = used.len() - case.used.len();
            prop_assert_eq!(handed, case.free(cidr, &case.used), "{}", cidr);
        }
    }

    /// A static address is granted exactly when it is eligible (any
    /// address without subnets, if it has a prefix) and free.
    #[test]
    fn static_addresses_are_granted_only_when_eligible(
        case in case(),
        at in any::<Index>(),
        which in any::<Index>(),
        prefix in option::of(0u8..=128),
        no_subnets in any::<bool>(),
    ) {
        let net = case.subnets[which.index(case.subnets.len())].cidr;
        let addr = nth(net, at.index(size(net) as usize + 2) as u128);
        let ip = StaticIp { addr, prefix };
        let mut case = case;
        if no_subnets {
            case.subnets.clear();
        }
        let pool = case.pool();
        let checked = pool.check_static(&ip);
        let expected = match case.subnets.iter().map(|s| s.cidr).find(|c| c.contains(&addr)) {
            None if case.subnets.is_empty() => ip.with_prefix(),
            None => None,
            Some(cidr) => case
                .eligible(cidr, addr)
                .then(|| IpNet::new(addr, cidr.prefix_len()).unwrap()),
        };
        match (&checked, expected) {
            (Ok(got), Some(want)) => prop_assert_eq!(*got, want),
            (Err(err), None) => {
                prop_assert_eq!(err.code(), 102);
                prop_assert!(err.to_string().contains(&ip.to_string()), "{}", err);
            }
            (got, want) => prop_assert!(false, "{} gave {:?}, expected {:?}", ip, got, want),
        }
        let allocated = allocate(&pool, &case.used, &[ip]);
        if case.used.contains(&addr) || checked.is_err() {
            prop_assert_eq!(allocated.map_err(|e| e.code()), Err(102));
        } else {
            prop_assert_eq!(allocated.unwrap(), vec![checked.unwrap()]);
        }
    }

    /// The gateway of any network, of any size and anywhere, is inside it:
    /// the first host address, or the network address of a /32 or /128.
    #[test]
    fn gateways_are_inside(addr in any::<IpAddr>(), prefix in any::<u8>(), end in any::<bool>()) {
        let addr = match (addr, end) {
            (IpAddr::V4(_), true) => IpAddr::V4(Ipv4Addr::BROADCAST),
            (IpAddr::V6(_), true) => IpAddr::V6(Ipv6Addr::from(u128::MAX)),
            _ => addr,
        };
        let cidr = IpNet::new(addr, prefix % (addr_bits(addr) + 1)).unwrap().trunc();
        let gw = gateway(cidr);
        prop_assert!(cidr.contains(&gw), "{} outside {}", gw, cidr);
        let single = cidr.prefix_len() == cidr.max_prefix_len();
        let expected = if single { cidr.network() } else { nth(cidr, 1) };
        prop_assert_eq!(gw, expected);
    }
}

fn addr_bits(addr: IpAddr) -> u8 {
    if addr.is_ipv4() { 32 } else { 128 }
}

/// The last /30 and /126 of each family: every address handed out once,
/// then exhaustion, without wrapping to 0.0.0.0 or `::`.
#[test]
fn the_end_of_the_address_space_is_exhausted_cleanly() {
    for (text, reserve_gateway, expected) in [
        (
            "255.255.255.252/30",
            false,
            vec!["255.255.255.253", "255.255.255.254"],
        ),
        ("255.255.255.252/30", true, vec!["255.255.255.254"]),
        (
            "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffc/126",
            true,
            vec![
                "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe",
                "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
            ],
        ),
    ] {
        let subnets = [Subnet {
            cidr: text.parse().unwrap(),
            host_prefix: None,
        }];
        let pool = Pool {
            subnets: &subnets,
            excludes: &[],
            reserve_gateway,
        };
        let mut used = HashSet::new();
        let mut handed = Vec::new();
        while let Ok(got) = allocate(&pool, &used, &[]) {
            used.insert(got[0].addr());
            handed.push(got[0].addr().to_string());
            assert!(handed.len() <= expected.len(), "{text}: {handed:?}");
        }
        assert_eq!(handed, expected, "{text}");
        let err = allocate(&pool, &used, &[]).expect_err("exhausted");
        assert_eq!(err.code(), 102);
        assert!(err.to_string().contains(text), "{err}");
    }
}
