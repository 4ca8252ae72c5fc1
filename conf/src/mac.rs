//! MAC addresses of pod interfaces, the ovn-kubernetes way.

use std::net::IpAddr;

use sha2::{Digest, Sha256};

pub use macaddr::MacAddr6 as MacAddr;

/// The MAC ovn-kubernetes derives from a pod's addresses: `0a:58:` and the
/// IPv4 address bytes; IPv6-only: `0a:58:` and the first four bytes of the
/// sha256 of the address text. `None` without addresses.
pub fn mac_for_addresses(addresses: &[IpAddr]) -> Option<MacAddr> {
    let tail: [u8; 4] = if let Some(v4) = addresses.iter().find_map(|a| match a {
        IpAddr::V4(v4) => Some(*v4),
        IpAddr::V6(_) => None,
    }) {
        v4.octets()
    } else {
        let v6 = addresses.first()?;
        let digest = Sha256::digest(v6.to_string().as_bytes());
        [digest[0], digest[1], digest[2], digest[3]]
    };
    Some(MacAddr::new(0x0a, 0x58, tail[0], tail[1], tail[2], tail[3]))
}

/// A MAC a pod interface may have: unicast and not all zeros; the error
/// says why not.
pub fn parse_unicast_mac(text: &str) -> Result<MacAddr, &'static str> {
    let mac: MacAddr = text.trim().parse().map_err(|_| "is not a MAC address")?;
    if mac.as_bytes()[0] & 1 == 1 {
        return Err("is a multicast address");
    }
    if mac.is_nil() {
        return Err("is the all-zero address");
    }
    Ok(mac)
}

/// A random locally administered unicast MAC from six random bytes (the caller
/// reads them from the OS, keeping this crate free of I/O).
pub fn random_local_mac(random: [u8; 6]) -> MacAddr {
    let mut bytes = random;
    bytes[0] = (bytes[0] & 0xfc) | 0x02;
    MacAddr::from(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_mac_embeds_the_address() {
        let ips = [
            "fd00::5".parse().expect("ip"),
            "203.203.0.4".parse().expect("ip"),
        ];
        assert_eq!(
            mac_for_addresses(&ips).expect("mac").to_string(),
            "0A:58:CB:CB:00:04"
        );
    }

    #[test]
    fn ipv6_only_mac_hashes_the_address_text() {
        let mac = mac_for_addresses(&["fd00::5".parse().expect("ip")]).expect("mac");
        let digest = Sha256::digest(b"fd00::5");
        assert_eq!(mac.as_bytes()[..2], [0x0a, 0x58]);
        assert_eq!(mac.as_bytes()[2..], digest[..4]);
        assert!(mac_for_addresses(&[]).is_none());
    }

    #[test]
    fn pod_macs_are_unicast_and_not_zero() {
        assert!(parse_unicast_mac("0a:58:0a:00:00:05").is_ok());
        for bad in [
            "00:00:00:00:00:00",
            "01:00:5e:00:00:01",
            "ff:ff:ff:ff:ff:ff",
            "zz",
        ] {
            assert!(parse_unicast_mac(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn random_mac_is_local_unicast() {
        let mac = random_local_mac([0xff; 6]);
        assert_eq!(mac.as_bytes()[0], 0xfe);
    }
}
