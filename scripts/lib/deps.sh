# shellcheck shell=bash
# The Debian packages ovn-udn-cni's scripts need, and installing the missing
# ones. Sourced by scripts/test, scripts/demo, scripts/bench and .ci/run.

# OVS/OVN for the sandbox; ping, ethtool, iperf3, nc for real packets; jq for
# the scripts; the reference CNI plugins for the benchmark; openssl for the
# TLS tests' certificates; busybox-static for the VM guests' DHCP client
# (udhcpc) and isc-dhcp-client for their DHCPv6 client (dhclient -6); GNU time
# for the scale benchmark's peak RSS per call; podman (CNI backend) with
# runc, containerd (ctr) and Go with the libcni sources
# (golang-github-appc-cni-dev, which provides
# golang-github-containernetworking-cni-dev) for the real-runtime tests.
UDN_PACKAGES=(openvswitch-switch ovn-central ovn-host iproute2 iputils-ping
    ethtool iperf3 netcat-openbsd jq containernetworking-plugins procps openssl
    busybox-static isc-dhcp-client time podman runc containerd golang-go
    golang-github-appc-cni-dev)

# ensure_packages [PKG...]: apt-get install whichever are not installed
# (all of UDN_PACKAGES without arguments).
ensure_packages() {
    local pkg missing=()
    (($# > 0)) || set -- "${UDN_PACKAGES[@]}"
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg")
    done
    ((${#missing[@]} == 0)) && return 0
    echo "installing ${missing[*]} (apt-get)..." >&2
    apt-get update -qq >/dev/null &&
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}
