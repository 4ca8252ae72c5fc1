//! Offload settings through the legacy ethtool ioctl.
//!
//! Why: with OVS's userspace (netdev) datapath, a veth that leaves TX
//! checksumming to "hardware" sends TCP segments with bad checksums and TCP
//! stalls (ping still works), so the plugin turns it off on the pod end.

use std::os::fd::AsRawFd;

use nix::sys::socket::{AddressFamily, SockFlag, SockType, socket};

use crate::{Error, Netns};

/// `ETHTOOL_STXCSUM` from `<linux/ethtool.h>` (libc does not export it).
const ETHTOOL_STXCSUM: u32 = 0x0000_0017;

/// `struct ethtool_value` from `<linux/ethtool.h>`.
#[repr(C)]
struct EthtoolValue {
    cmd: u32,
    data: u32,
}

/// Turns TX checksum offload off on interface `name` of `ns`, like
/// `ethtool -K <name> tx off` (the kernel drops the features that depend on
/// it, such as TSO, along with it).
pub fn disable_tx_checksum(ns: &Netns, name: &str) -> Result<(), Error> {
    let failed = |source| Error::Offload {
        feature: "tx checksumming",
        name: name.to_string(),
        netns: ns.path().to_path_buf(),
        source,
    };
    // The ioctl resolves `name` in the namespace of the socket, so only the
    // socket has to be opened inside.
    let socket = {
        let _guard = ns.enter()?;
        socket(
            AddressFamily::Inet,
            SockType::Datagram,
            SockFlag::SOCK_CLOEXEC,
            None,
        )
        .map_err(failed)?
    };

    // IFNAMSIZ includes the terminating NUL.
    if name.is_empty() || name.len() >= libc::IFNAMSIZ || name.contains('\0') {
        return Err(failed(nix::Error::EINVAL));
    }
    let mut value = EthtoolValue {
        cmd: ETHTOOL_STXCSUM,
        data: 0,
    };
    // SAFETY: ifreq is a plain C struct (a char array and a union of plain
    // fields and pointers) for which all-zero bytes are a valid value.
    let mut request: libc::ifreq = unsafe { std::mem::zeroed() };
    // The length check above leaves at least one NUL at the end of the
    // zeroed array.
    for (dst, src) in request.ifr_name.iter_mut().zip(name.bytes()) {
        *dst = src as libc::c_char;
    }
    request.ifr_ifru.ifru_data = (&raw mut value).cast::<libc::c_char>();

    // SAFETY: SIOCETHTOOL takes a pointer to an ifreq whose ifr_name is a
    // NUL-terminated name and whose ifr_data points to an ethtool command
    // struct; for ETHTOOL_STXCSUM that is `struct ethtool_value`, which
    // EthtoolValue mirrors with #[repr(C)]. Both `request` and `value` are
    // live locals for the whole call and the kernel does not keep the
    // pointers after it returns.
    let rc = unsafe {
        libc::ioctl(
            socket.as_raw_fd(),
            libc::SIOCETHTOOL as libc::Ioctl,
            &raw mut request,
        )
    };
    if rc < 0 {
        return Err(failed(nix::Error::last()));
    }
    Ok(())
}
