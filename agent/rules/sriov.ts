/**
 * SR-IOV joins: the PFs' rtnetlink VF info indexed by PCI address and joined to the sysfs
 * topology (types in agent/model/sriov.ts). Pure.
 */
import { PfVfInfo, SriovPf, SriovSnapshot } from '../model/sriov.js';
import { type PciAddress } from '../model/ids.js';

/**
 * Indexes parsed RTM_NEWLINK VF info by the PCI address of the link's device, keeping per address
 * the message with the most VFs: in switchdev mode every VF representor has the PF's PCI device as
 * parent, so rtnl_fill_vf() sends each of them IFLA_NUM_VF but only the uplink the list.
 */
export function indexPfVfInfo(links: Iterable<{ readonly pciAddress: PciAddress | undefined; readonly info: PfVfInfo | undefined }>): Map<PciAddress, PfVfInfo> {
  const byPf = new Map<PciAddress, PfVfInfo>();
  for (const { pciAddress, info } of links) {
    if (pciAddress === undefined || info === undefined) continue;
    const seen = byPf.get(pciAddress);
    if (!seen || info.vfs.length > seen.vfs.length) byPf.set(pciAddress, info);
  }
  return byPf;
}

/**
 * Joins each PF's rtnetlink VF info (keyed by the PF's PCI address) onto the sysfs topology by VF
 * index. A PF absent from the map (not in the dump: a fixture tree, an InfiniBand PF whose message
 * was too large) keeps `netlink: undefined` on its VFs; VFs that only rtnetlink reports are dropped,
 * since sysfs is what says which PCI function they are.
 */
export function joinVfNetlinkInfo(pfs: readonly SriovPf[], byPf: ReadonlyMap<PciAddress, PfVfInfo>): SriovSnapshot {
  return {
    pfs: pfs.map((pf) => {
      const info = byPf.get(pf.pciAddress);
      if (!info) return pf;
      const byIndex = new Map(info.vfs.map((v) => [v.index, v]));
      return { ...pf, vfs: pf.vfs.map((vf) => ({ ...vf, netlink: byIndex.get(vf.index) })) };
    }),
  };
}
