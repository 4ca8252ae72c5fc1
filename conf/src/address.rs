//! Addresses a pod may not have, and the static addresses a runtime asks for.

use std::net::IpAddr;
use std::str::FromStr;

use ipnet::IpNet;

/// Ranges no pod address or network subnet may touch: they mean something
/// to every host (this network, loopback, link-local, multicast, the
/// reserved class E and broadcast, IPv4-mapped IPv6).
const SPECIAL_RANGES: [&str; 10] = [
    "0.0.0.0/8",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "224.0.0.0/4",
    "240.0.0.0/4",
    "::/128",
    "::1/128",
    "::ffff:0:0/96",
    "fe80::/10",
    "ff00::/8",
];

/// The special range `net` overlaps, if any, with what it is for.
pub fn special_range(net: IpNet) -> Option<(IpNet, &'static str)> {
    SPECIAL_RANGES
        .iter()
        .filter_map(|r| IpNet::from_str(r).ok())
        .find(|range| crate::overlaps(*range, net))
        .map(|range| (range, purpose(range)))
}

fn purpose(range: IpNet) -> &'static str {
    let addr = range.network();
    if addr.is_loopback() {
        "loopback"
    } else if addr.is_multicast() {
        "multicast"
    } else if addr.is_unspecified() {
        "unspecified / this network"
    } else {
        match addr {
            IpAddr::V4(v4) if v4.is_link_local() => "link-local",
            IpAddr::V4(_) => "reserved",
            IpAddr::V6(v6) if v6.segments()[0] & 0xffc0 == 0xfe80 => "link-local",
            IpAddr::V6(_) => "IPv4-mapped",
        }
    }
}

/// A static address a runtime asked for: the address and, when given, its
/// prefix length (a network without subnets needs it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StaticIp {
    /// The address.
    pub addr: IpAddr,
    /// Prefix length, as given.
    pub prefix: Option<u8>,
}

impl StaticIp {
    /// Parses `10.0.0.5` or `10.0.0.5/24`; the error says why, for the
    /// caller to attach to the field the text came from.
    pub fn parse(text: &str) -> Result<StaticIp, String> {
        let text = text.trim();
        let ip = match text.split_once('/') {
            Some(_) => {
                let net = IpNet::from_str(text).map_err(|_| "is not an IP address".to_owned())?;
                StaticIp {
                    addr: net.addr(),
                    prefix: Some(net.prefix_len()),
                }
            }
            None => StaticIp {
                addr: IpAddr::from_str(text).map_err(|_| "is not an IP address".to_owned())?,
                prefix: None,
            },
        };
        if let Some((range, what)) = special_range(IpNet::from(ip.addr)) {
            return Err(format!("is a {what} address ({range})"));
        }
        Ok(ip)
    }

    /// The address with its prefix, when it came with one.
    pub fn with_prefix(&self) -> Option<IpNet> {
        IpNet::new(self.addr, self.prefix?).ok()
    }
}

impl std::fmt::Display for StaticIp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.prefix {
            Some(prefix) => write!(f, "{}/{prefix}", self.addr),
            None => write!(f, "{}", self.addr),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn special_ranges_are_found() {
        for (net, what) in [
            ("0.0.0.0/0", "unspecified"),
            ("127.0.0.0/8", "loopback"),
            ("169.254.1.0/24", "link-local"),
            ("239.0.0.0/8", "multicast"),
            ("255.255.255.255/32", "reserved"),
            ("::/0", "unspecified"),
            ("fe80::/64", "link-local"),
            ("ff02::/16", "multicast"),
        ] {
            let (_, found) = special_range(net.parse().expect("net")).expect(net);
            assert!(found.contains(what), "{net}: {found}");
        }
        for ok in ["10.0.0.0/8", "100.64.0.0/10", "fd00::/64", "2001:db8::/32"] {
            assert!(special_range(ok.parse().expect("net")).is_none(), "{ok}");
        }
    }

    #[test]
    fn static_ips_are_typed_and_checked() {
        let ip = StaticIp::parse(" 10.0.0.5/24 ").expect("ip");
        assert_eq!(ip.to_string(), "10.0.0.5/24");
        assert_eq!(StaticIp::parse("fd00::5").expect("ip").prefix, None);
        for bad in [
            "garbage",
            "10.0.0.5/33",
            "127.0.0.2",
            "224.0.0.1",
            "::1",
            "fe80::1/64",
        ] {
            assert!(StaticIp::parse(bad).is_err(), "{bad}");
        }
    }
}
