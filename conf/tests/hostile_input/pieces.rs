//! The parsers the network config is made of, on arbitrary text: names,
//! static addresses, subnets, MACs, special ranges.

use std::net::IpAddr;

use conf::{StaticIp, Subnet, name_rules, overlaps, parse_unicast_mac, special_range};
use ipnet::IpNet;
use proptest::prelude::*;

use super::strategies::text;
use super::{config, named_key};

/// Text built from the characters names are made of, and the ones that
/// must never get in.
fn name_text() -> impl Strategy<Value = String> {
    prop_oneof![
        text(),
        "[a-zA-Z0-9_.\\-/:% ]{0,20}",
        "[a-z0-9.\\-]{0,70}",
        "[a-z0-9.\\-]{60,70}(/[a-z0-9.\\-]{0,260})?",
    ]
}

/// An address, in or out of the special ranges.
fn address() -> impl Strategy<Value = IpAddr> {
    prop_oneof![
        any::<IpAddr>(),
        any::<u8>().prop_map(|b| IpAddr::from([127, 0, 0, b])),
        any::<u8>().prop_map(|b| IpAddr::from([169, 254, 1, b])),
        any::<u16>().prop_map(|s| IpAddr::from([0xfe80, 0, 0, 0, 0, 0, 0, s])),
        any::<u16>().prop_map(|s| IpAddr::from([0, 0, 0, 0, 0, 0xffff, 0x0a00, s])),
    ]
}

/// Text for an address or a CIDR: generated ones, with any prefix, host
/// prefix and surrounding space, or garbage.
fn address_text() -> impl Strategy<Value = String> {
    let formed = (
        address(),
        proptest::option::of(0u8..140),
        proptest::option::of(0u8..140),
    )
        .prop_map(|(addr, prefix, host)| match (prefix, host) {
            (Some(p), Some(h)) => format!(" {addr}/{p}/{h}"),
            (Some(p), None) => format!("{addr}/{p} "),
            _ => addr.to_string(),
        });
    let network = (address(), 0u8..129).prop_filter_map("prefix fits", |(addr, prefix)| {
        IpNet::new(addr, prefix).ok().map(|n| n.trunc().to_string())
    });
    prop_oneof![formed, network, text()]
}

/// A MAC's text: any six bytes in the common spellings, or garbage.
fn mac_text() -> impl Strategy<Value = String> {
    let formed = (any::<[u8; 6]>(), any::<bool>()).prop_map(|(b, dashes)| {
        let sep = if dashes { "-" } else { ":" };
        b.iter()
            .map(|x| format!("{x:02x}"))
            .collect::<Vec<_>>()
            .join(sep)
    });
    prop_oneof![formed, text()]
}

/// The CNI name grammar, written out again as an oracle.
fn is_cni_name(text: &str, max: usize) -> bool {
    let mut chars = text.chars();
    text.len() <= max
        && chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
}

fn is_label(text: &str) -> bool {
    let ok = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    !text.is_empty()
        && text.len() <= 63
        && text.starts_with(ok)
        && text.ends_with(ok)
        && text.chars().all(|c| ok(c) || c == '-')
}

fn is_subdomain(text: &str) -> bool {
    text.len() <= 253 && text.split('.').all(is_label)
}

proptest! {
    #![proptest_config(config!(512, "pieces"))]

    /// Every name rule agrees with the grammar it documents; nothing with
    /// a control character, a slash or a space gets in.
    #[test]
    fn names_follow_their_grammar(name in name_text()) {
        let r = &name;
        prop_assert_eq!(name_rules::network_name(r).is_ok(), is_cni_name(r, 320), "{:?}", r);
        prop_assert_eq!(name_rules::container_id(r).is_ok(), is_cni_name(r, 128), "{:?}", r);
        prop_assert_eq!(name_rules::physical_network(r).is_ok(), is_cni_name(r, 253), "{:?}", r);
        prop_assert_eq!(name_rules::dns_label(r).is_ok(), is_label(r), "{:?}", r);
        prop_assert_eq!(name_rules::dns_subdomain(r).is_ok(), is_subdomain(r), "{:?}", r);
        let nad_ok = r
            .split_once('/')
            .is_some_and(|(ns, name)| is_label(ns) && is_subdomain(name));
        prop_assert_eq!(name_rules::nad_name(r).is_ok(), nad_ok, "{:?}", r);
        let uid_ok = !r.is_empty()
            && r.len() <= 64
            && r.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
        prop_assert_eq!(name_rules::pod_uid(r).is_ok(), uid_ok, "{:?}", r);
        let ifname_ok = (1..=15).contains(&r.len())
            && !matches!(r.as_str(), "." | ".." | "all" | "default")
            && r.chars().all(|c| c.is_ascii_graphic() && !"/:%".contains(c));
        prop_assert_eq!(name_rules::interface_name(r).is_ok(), ifname_ok, "{:?}", r);
        for rule in [
            name_rules::network_name,
            name_rules::dns_subdomain,
            name_rules::nad_name,
            name_rules::interface_name,
        ] {
            if let Err(why) = rule(r) {
                // The reason never echoes the name: the caller quotes it.
                prop_assert!(why.len() < 200, "{}", why);
            }
        }
    }

    /// A static address is accepted only outside the special ranges, with
    /// a prefix that fits, and reads back the same.
    #[test]
    fn static_ips_are_never_special(text in address_text()) {
        if let Ok(ip) = StaticIp::parse(&text) {
            prop_assert!(special_range(IpNet::from(ip.addr)).is_none(), "{}", ip);
            if let Some(prefix) = ip.prefix {
                let max = if ip.addr.is_ipv4() { 32 } else { 128 };
                prop_assert!(prefix <= max, "{}", ip);
                prop_assert!(ip.with_prefix().is_some());
            }
            prop_assert_eq!(StaticIp::parse(&ip.to_string()), Ok(ip));
        }
    }

    /// A subnet is accepted only if a pod can live in it; every refusal
    /// names the field.
    #[test]
    fn subnets_are_usable_or_refused_by_field(text in address_text()) {
        match Subnet::parse(&text, "subnets") {
            Ok(subnet) => {
                let cidr = subnet.cidr;
                let longest = if cidr.addr().is_ipv4() { 30 } else { 126 };
                prop_assert!(special_range(cidr).is_none(), "{}", cidr);
                prop_assert_eq!(cidr.trunc(), cidr);
                let share = subnet.host_prefix.unwrap_or(cidr.prefix_len());
                prop_assert!((cidr.prefix_len()..=longest).contains(&share), "{:?}", subnet);
            }
            Err(err) => {
                let named = named_key(&err);
                prop_assert_eq!(named.as_deref(), Some("subnets"));
            }
        }
    }

    /// A pod MAC is unicast and not all zeros, and every such MAC parses.
    #[test]
    fn pod_macs_are_unicast(text in mac_text()) {
        let parsed: Option<conf::MacAddr> = text.trim().parse().ok();
        match parse_unicast_mac(&text) {
            Ok(mac) => {
                prop_assert_eq!(mac.as_bytes()[0] & 1, 0);
                prop_assert!(!mac.is_nil());
                prop_assert_eq!(Some(mac), parsed);
            }
            Err(_) => prop_assert!(parsed.is_none_or(|m| m.is_nil() || m.as_bytes()[0] & 1 == 1)),
        }
    }

    /// The special range found overlaps the network asked about; none is
    /// found for a network that overlaps none of them.
    #[test]
    fn special_ranges_overlap_what_they_flag(addr in address(), prefix in 0u8..129) {
        if let Ok(net) = IpNet::new(addr, prefix) {
            match special_range(net) {
                Some((range, what)) => {
                    prop_assert!(overlaps(range, net), "{} for {}", range, net);
                    prop_assert!(!what.is_empty());
                }
                None => prop_assert!(!is_special(net.network()) && !is_special(net.broadcast())),
            }
        }
    }
}

/// An oracle of the special ranges, from std's own predicates.
fn is_special(addr: IpAddr) -> bool {
    match addr {
        IpAddr::V4(v4) => {
            v4.octets()[0] == 0
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_multicast()
                || v4.octets()[0] >= 240
        }
        IpAddr::V6(v6) => {
            v6.is_unspecified()
                || v6.is_loopback()
                || v6.is_multicast()
                || v6.segments()[0] & 0xffc0 == 0xfe80
                || v6.to_ipv4_mapped().is_some()
        }
    }
}
