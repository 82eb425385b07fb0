/** PodInfo, NetworkDefinition and NetnsRef values for tests of the join and the health rules. */
import type { IfIndex, NetLink, NetnsRef } from '../../agent/domain.js';
import type { NetworkDefinition, NetworkSelection, NetworkStatusEntry, PodInfo, PodUid } from '../../agent/pods.js';
import { netLink } from './links.js';

/** A pod with parsed annotations. */
export function pod(over: { name: string; namespace?: string; uid?: string; requested?: Partial<NetworkSelection>[]; status?: Partial<NetworkStatusEntry>[] }): PodInfo {
  const namespace = over.namespace ?? 'default';
  return {
    namespace,
    name: over.name,
    uid: over.uid as PodUid | undefined,
    nodeName: 'node-1',
    labels: {},
    requested: { ok: true, value: (over.requested ?? []).map((r) => ({ namespace, name: '', interface: undefined, mac: undefined, ips: [], ...r })) },
    status: { ok: true, value: (over.status ?? []).map((e) => ({ name: '', interface: undefined, ips: [], mac: undefined, mtu: undefined, default: false, pciAddress: undefined, deviceType: undefined, ...e })) },
    statusKey: over.status ? 'network-status' : undefined,
  };
}

/** A macvlan NAD on `master` with a host-local subnet. */
export function macvlanNad(name: string, master: string, subnet: string, trafficClass = ''): NetworkDefinition {
  return {
    namespace: 'default',
    name,
    type: 'macvlan',
    master,
    device: undefined,
    mode: 'bridge',
    resourceName: undefined,
    ipam: { type: 'host-local', ranges: [{ subnet, rangeStart: undefined, rangeEnd: undefined, gateway: undefined }], routes: [], dataDir: undefined },
    mtu: undefined,
    trafficClass,
    invalid: undefined,
  };
}

/** A namespace reference. */
export function netnsRef(inode: number, over: Partial<NetnsRef> = {}): NetnsRef {
  return { inode, path: `/run/netns/cni-${inode}`, bindPath: `/run/netns/cni-${inode}`, pids: [], podUid: undefined, containerId: undefined, ...over };
}

/** A macvlan child inside a pod namespace whose parent is host ifindex `master` (nsid `selfNsid`). */
export function podMacvlan(ifindex: number, name: string, mac: string, master: number, selfNsid: number, over: Partial<NetLink> = {}): NetLink {
  return netLink({ ifindex, name, mac, kind: 'macvlan', parentIfindex: master as IfIndex, parentNetnsid: selfNsid as never, ...over });
}
