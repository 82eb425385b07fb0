#!/usr/bin/env bash
# Regenerates pod-net/: /proc/<pid>/net files of a process in a throwaway namespace shaped like a
# multi-homed pod (eth0 + net1 macvlan + net2 with IPv6), plus `ip -j addr` and `ip -j route` of the
# same moment. Run as root from this folder.
set -euo pipefail
ns="mna-capture-pod-$$"
out="$(dirname "$0")/pod-net"
trap 'kill "$pid" 2>/dev/null || true; ip netns del "$ns" 2>/dev/null || true' EXIT
ip netns add "$ns"
ip -n "$ns" link set lo up
ip -n "$ns" link add eth0 type veth peer name eth0p
ip -n "$ns" link add net1 link eth0 type macvlan mode bridge
ip -n "$ns" link add net2 link eth0p type macvlan mode bridge
for l in eth0 eth0p net1 net2; do ip -n "$ns" link set "$l" up; done
ip -n "$ns" addr add 10.244.1.7/24 dev eth0
ip -n "$ns" addr add 10.10.0.100/24 dev net1
ip -n "$ns" addr add 10.20.0.101/24 dev net2
ip -n "$ns" addr add fd00:20::65/64 dev net2 nodad
ip -n "$ns" route add default via 10.244.1.1 dev eth0
# A mis-routed storage subnet: traffic for 10.30.0.0/24 would leave by eth0.
ip -n "$ns" route add 10.30.0.0/24 via 10.244.1.1 dev eth0
ip netns exec "$ns" sleep 60 &
pid=$!
sleep 0.3
mkdir -p "$out"
for f in route ipv6_route fib_trie if_inet6; do cat "/proc/$pid/net/$f" > "$out/$f"; done
ip -n "$ns" -j addr show > "$out/ip-addr.json"
ip -n "$ns" -j route show > "$out/ip-route.json"
ip -n "$ns" -6 -j route show > "$out/ip-route6.json"
