#!/usr/bin/env bash
# Rebuilds sys/: a sysfs fixture of SR-IOV hardware this machine does not have (see README.md for
# what each device stands for and where its layout comes from). Small text files and relative
# symlinks only. Run from anywhere: collectors/sriov/testdata/build-sys.sh
set -euo pipefail
cd "$(dirname "$0")"
rm -rf sys
S="$PWD/sys"

# put FILE CONTENT: a sysfs attribute (newline-terminated, as the kernel's show functions write it).
put() { mkdir -p "$(dirname "$S/$1")"; printf '%s\n' "$2" >"$S/$1"; }
# link NAME TARGET: a relative symlink, as sysfs has them.
link() { mkdir -p "$(dirname "$S/$1")"; ln -s "$2" "$S/$1"; }
# driver NAME: /sys/bus/pci/drivers/NAME (a real one holds bind/unbind/new_id/uevent and device links).
driver() { mkdir -p "$S/bus/pci/drivers/$1"; : >"$S/bus/pci/drivers/$1/uevent"; }
# pcidev DEVPATH CLASS VENDOR DEVICE NUMA: a PCI function under /sys/devices and its /sys/bus/pci/devices link.
pcidev() {
  local dev=$1 addr
  addr=$(basename "$dev")
  put "devices/$dev/class" "$2"
  put "devices/$dev/vendor" "$3"
  put "devices/$dev/device" "$4"
  put "devices/$dev/numa_node" "$5"
  link "bus/pci/devices/$addr" "../../../devices/$dev"
}
# bind DEVPATH DRIVER: DEVPATH/driver -> ../../../../bus/pci/drivers/DRIVER (depth of DEVPATH decides the ../).
bind() {
  local up
  up=$(echo "devices/$1" | sed 's|[^/]*|..|g')
  link "devices/$1/driver" "$up/bus/pci/drivers/$2"
}
# netdev DEVPATH NAME TYPE: DEVPATH/net/NAME with its ARPHRD type (1 Ethernet, 32 InfiniBand).
netdev() {
  put "devices/$1/net/$2/type" "$3"
  link "devices/$1/net/$2/device" "../../../$(basename "$1")"
}
# sriov PFPATH TOTAL NUM OFFSET STRIDE VFDEVICE: the PCI core's SR-IOV attributes (drivers/pci/iov.c).
sriov() {
  put "devices/$1/sriov_totalvfs" "$2"
  put "devices/$1/sriov_numvfs" "$3"
  put "devices/$1/sriov_offset" "$4"
  put "devices/$1/sriov_stride" "$5"
  put "devices/$1/sriov_vf_device" "$6"
  put "devices/$1/sriov_drivers_autoprobe" 1
}
# vf PFPATH N VFADDR CLASS VENDOR DEVICE NUMA: VF N of a PF, a sibling of it, with virtfnN and physfn.
vf() {
  local pf=$1 parent
  parent=$(dirname "$pf")
  pcidev "$parent/$3" "$4" "$5" "$6" "$7"
  link "devices/$pf/virtfn$2" "../$3"
  link "devices/$parent/$3/physfn" "../$(basename "$pf")"
}

for d in ice iavf vfio-pci i40e mlx5_core c6xx pcieport; do driver "$d"; done

# Root ports: PCI devices without SR-IOV (the adapter must pass over them).
for rp in pci0000:3a/0000:3a:00.0 pci0000:5d/0000:5d:00.0 pci0000:ae/0000:ae:00.0 pci0000:d7/0000:d7:00.0 pci0000:3c/0000:3c:00.0; do
  pcidev "$rp" 0x060400 0x8086 0x2030 "$([[ $rp == pci0000:ae* || $rp == pci0000:d7* ]] && echo 1 || echo 0)"
  bind "$rp" pcieport
done

# --- Intel E810-XXV (ice), port 0: 4 of 128 VFs, two on iavf, two on vfio-pci (DPDK) --------------
E810=pci0000:3a/0000:3a:00.0/0000:3b:00.0
pcidev "$E810" 0x020000 0x8086 0x159b 0
bind "$E810" ice
netdev "$E810" ens1f0 1
sriov "$E810" 128 4 8 1 1889
for i in 0 1 2 3; do vf "$E810" "$i" "0000:3b:01.$i" 0x020000 0x8086 0x1889 0; done
bind "pci0000:3a/0000:3a:00.0/0000:3b:01.0" iavf
netdev "pci0000:3a/0000:3a:00.0/0000:3b:01.0" ens1f0v0 1
bind "pci0000:3a/0000:3a:00.0/0000:3b:01.1" iavf
netdev "pci0000:3a/0000:3a:00.0/0000:3b:01.1" ens1f0v1 1
# vfio-pci exposes no netdev: no net/ directory at all.
bind "pci0000:3a/0000:3a:00.0/0000:3b:01.2" vfio-pci
bind "pci0000:3a/0000:3a:00.0/0000:3b:01.3" vfio-pci

# --- E810-XXV port 1: unbound from ice (no driver, no netdev), no VFs -------------------------------
E810B=pci0000:3a/0000:3a:00.0/0000:3b:00.1
pcidev "$E810B" 0x020000 0x8086 0x159b 0
sriov "$E810B" 128 0 135 1 1889

# --- Intel X710 (i40e, Intel's out-of-tree driver with VF-d sysfs), port 0: 2 of 64 VFs ------------
X710=pci0000:5d/0000:5d:00.0/0000:5e:00.0
pcidev "$X710" 0x020000 0x8086 0x1572 0
bind "$X710" i40e
netdev "$X710" ens2f0 1
sriov "$X710" 64 2 16 1 154c
vf "$X710" 0 0000:5e:02.0 0x020000 0x8086 0x154c 0
vf "$X710" 1 0000:5e:02.1 0x020000 0x8086 0x154c 0
bind "pci0000:5d/0000:5d:00.0/0000:5e:02.0" iavf
netdev "pci0000:5d/0000:5d:00.0/0000:5e:02.0" ens2f0v0 1
bind "pci0000:5d/0000:5d:00.0/0000:5e:02.1" vfio-pci
# src/kcompat_vfd.c: <pf>/sriov/<vf>/stats/ is an attribute group, one "%llu\n" file per counter.
i40e_stats() {
  local d="devices/$X710/sriov/$1/stats"
  put "$d/rx_bytes" "$2"; put "$d/rx_dropped" "$3"; put "$d/rx_packets" "$4"
  put "$d/tx_bytes" "$5"; put "$d/tx_dropped" "$6"; put "$d/tx_packets" "$7"
  put "$d/tx_spoofed" "$8"; put "$d/tx_errors" "$9"
}
i40e_stats 0 98765432100 12 87654321 45678901234 3 34567890 0 7
i40e_stats 1 4398046511104 0 3221225472 2199023255552 0 1610612736 5 0
put "devices/$X710/sriov/0/trust" off
put "devices/$X710/sriov/1/trust" off

# --- X710 port 1: SR-IOV capable, sriov_numvfs 0 ----------------------------------------------------
X710B=pci0000:5d/0000:5d:00.0/0000:5e:00.1
pcidev "$X710B" 0x020000 0x8086 0x1572 0
bind "$X710B" i40e
netdev "$X710B" ens2f1 1
sriov "$X710B" 64 0 79 1 154c

# --- Mellanox ConnectX-5 (mlx5_core, MLNX_OFED) in switchdev mode: 2 of 8 VFs, NUMA node 1 ---------
CX5=pci0000:ae/0000:ae:00.0/0000:af:00.0
pcidev "$CX5" 0x020000 0x15b3 0x1017 1
bind "$CX5" mlx5_core
# The uplink and the VF representors all hang off the PF's PCI device; phys_port_name tells them apart.
netdev "$CX5" ens3f0np0 1
put "devices/$CX5/net/ens3f0np0/phys_port_name" p0
netdev "$CX5" ens3f0npf0vf0 1
put "devices/$CX5/net/ens3f0npf0vf0/phys_port_name" pf0vf0
netdev "$CX5" ens3f0npf0vf1 1
put "devices/$CX5/net/ens3f0npf0vf1/phys_port_name" pf0vf1
sriov "$CX5" 8 2 2 1 1018
vf "$CX5" 0 0000:af:00.2 0x020000 0x15b3 0x1018 1
vf "$CX5" 1 0000:af:00.3 0x020000 0x15b3 0x1018 1
bind "pci0000:ae/0000:ae:00.0/0000:af:00.2" mlx5_core
netdev "pci0000:ae/0000:ae:00.0/0000:af:00.2" ens3f0v0 1
# VF 1's netdev was moved into a pod's network namespace: the host's sysfs lists none.
bind "pci0000:ae/0000:ae:00.0/0000:af:00.3" mlx5_core
mkdir -p "$S/devices/pci0000:ae/0000:ae:00.0/0000:af:00.3/net" && : >"$S/devices/pci0000:ae/0000:ae:00.0/0000:af:00.3/net/.keep"
# mlx5_core/sriov_sysfs.c (MLNX_OFED) stats_show(): one file, "name<pad>: %llu" lines in this order.
mkdir -p "$S/devices/$CX5/sriov/0" "$S/devices/$CX5/sriov/1" "$S/devices/$CX5/sriov/pf"
printf 'tx_packets    : %s\ntx_bytes      : %s\ntx_dropped    : %s\nrx_packets    : %s\nrx_bytes      : %s\nrx_broadcast  : %s\nrx_multicast  : %s\ntx_broadcast  : %s\ntx_multicast  : %s\nrx_dropped    : %s\n' \
  5550001 6660001234 0 4440001 5330001234 17 2048 3 9 21 >"$S/devices/$CX5/sriov/0/stats"
printf 'tx_packets    : %s\ntx_bytes      : %s\ntx_dropped    : %s\nrx_packets    : %s\nrx_bytes      : %s\nrx_broadcast  : %s\nrx_multicast  : %s\ntx_broadcast  : %s\ntx_multicast  : %s\nrx_dropped    : %s\n' \
  0 0 0 0 0 0 0 0 0 0 >"$S/devices/$CX5/sriov/1/stats"
printf 'VF         : 0\nMAC        : 0c:42:a1:5e:00:01\nVLAN       : 0\nQoS        : 0\nVLAN Proto : N/A\nSpoofCheck : ON\nTrust      : OFF\nLinkState  : Follow\nMinTxRate  : 0\nMaxTxRate  : 0\nVGT+       : OFF\n' >"$S/devices/$CX5/sriov/0/config"
printf 'VF         : 1\nMAC        : 0c:42:a1:5e:00:02\nVLAN       : 0\nQoS        : 0\nVLAN Proto : N/A\nSpoofCheck : ON\nTrust      : ON\nLinkState  : Up\nMinTxRate  : 0\nMaxTxRate  : 0\nVGT+       : OFF\n' >"$S/devices/$CX5/sriov/1/config"
put "devices/$CX5/sriov/pf/min_tx_rate" 'usage: write <Rate (Mbit/s)> to set PF min rate'

# --- Mellanox ConnectX-6 in InfiniBand mode (mlx5_core, IPoIB ib0): 2 of 16 VFs ---------------------
CX6=pci0000:d7/0000:d7:00.0/0000:d8:00.0
pcidev "$CX6" 0x020700 0x15b3 0x101b 1
bind "$CX6" mlx5_core
netdev "$CX6" ib0 32
sriov "$CX6" 16 2 1 1 101c
vf "$CX6" 0 0000:d8:00.1 0x020700 0x15b3 0x101c 1
vf "$CX6" 1 0000:d8:00.2 0x020700 0x15b3 0x101c 1
bind "pci0000:d7/0000:d7:00.0/0000:d8:00.1" mlx5_core
netdev "pci0000:d7/0000:d7:00.0/0000:d8:00.1" ib1 32
# VF 1 is bound to no driver at all (sriov_drivers_autoprobe was 0 when it was created).
# The IB flavour of mlx5 sriov_sysfs.c has node/port/policy per VF and no stats.
for i in 0 1; do
  put "devices/$CX6/sriov/$i/node" "$(printf '0c:42:a1:03:00:7b:8c:%02x' $((i + 16)))"
  put "devices/$CX6/sriov/$i/port" "$(printf '0c:42:a1:03:00:7b:8d:%02x' $((i + 16)))"
  put "devices/$CX6/sriov/$i/policy" Follow
done

# --- Intel QAT C62x (crypto, c6xx): SR-IOV capable but not a network function ----------------------
QAT=pci0000:3c/0000:3c:00.0/0000:3d:00.0
pcidev "$QAT" 0x0b4000 0x8086 0x37c8 0
bind "$QAT" c6xx
sriov "$QAT" 16 0 1 1 37c9
