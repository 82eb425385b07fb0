/** PodInfo, NetworkDefinition and NetnsRef values for tests of the join and the health rules. */
import type { NetLink, NetnsRef } from '../../agent/model/domain.js';
import { type IfIndex } from '../../agent/model/ids.js';
import type { NetworkDefinition, NetworkSelection, NetworkStatusEntry, PodInfo } from '../../agent/model/pods.js';
import { type PodUid } from '../../agent/model/ids.js';
import { netLink } from './links.js';

/** A pod with parsed annotations. */
export function pod(over: { name: string; namespace?: string; uid?: string; labels?: Record<string, string>; requested?: Partial<NetworkSelection>[]; status?: Partial<NetworkStatusEntry>[] }): PodInfo {
  const namespace = over.namespace ?? 'default';
  return {
    namespace,
    name: over.name,
    uid: over.uid as PodUid | undefined,
    nodeName: 'node-1',
    labels: over.labels ?? {},
    requested: { ok: true, value: (over.requested ?? []).map((r) => ({ namespace, name: '', interface: undefined, mac: undefined, ips: [], ...r })) },
    status: { ok: true, value: (over.status ?? []).map((e) => ({ name: '', interface: undefined, ips: [], mac: undefined, mtu: undefined, default: false, pciAddress: undefined, deviceType: undefined, ...e })) },
    statusKey: over.status ? 'network-status' : undefined,
  };
}

/** A network request as parsed from the networks annotation. */
export function selection(namespace: string, name: string, iface: string | undefined): NetworkSelection {
  return { namespace, name, interface: iface, mac: undefined, ips: [] };
}

/** A NAD with nothing set; override what the case is about. */
export function networkDefinition(namespace: string, name: string, over: Partial<NetworkDefinition> = {}): NetworkDefinition {
  return {
    namespace,
    name,
    cniName: name,
    type: '',
    master: undefined,
    device: undefined,
    mode: undefined,
    resourceName: undefined,
    ipam: undefined,
    mtu: undefined,
    trafficClass: '',
    invalid: undefined,
    policy: undefined,
    ...over,
  };
}

/** A macvlan NAD on `master` with a host-local subnet. */
export function macvlanNad(name: string, master: string, subnet: string, trafficClass = ''): NetworkDefinition {
  return networkDefinition('default', name, {
    type: 'macvlan',
    master,
    mode: 'bridge',
    ipam: { type: 'host-local', ranges: [{ subnet, rangeStart: undefined, rangeEnd: undefined, gateway: undefined }], routes: [], dataDir: undefined },
    trafficClass,
  });
}

/** A namespace reference. */
export function netnsRef(inode: number, over: Partial<NetnsRef> = {}): NetnsRef {
  return { inode, path: `/run/netns/cni-${inode}`, bindPath: `/run/netns/cni-${inode}`, pids: [], podUid: undefined, containerId: undefined, ...over };
}

/** A macvlan child inside a pod namespace whose parent is host ifindex `master` (nsid `selfNsid`). */
export function podMacvlan(ifindex: number, name: string, mac: string, master: number, selfNsid: number, over: Partial<NetLink> = {}): NetLink {
  return netLink({ ifindex, name, mac, kind: 'macvlan', parentIfindex: master as IfIndex, parentNetnsid: selfNsid as never, ...over });
}
