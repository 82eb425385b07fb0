/**
 * Snapshots from fake ports, as tests write them: each port becomes the registry's collector
 * (collectors/index.ts) around it, in registry order, and the snapshot builder runs them.
 */
import { COLLECTOR, type Collect, type CollectorName, type CollectorRun, type PartName } from '../../agent/model/collector.js';
import type { Snapshot } from '../../agent/model/snapshot.js';
import type { IpamStateSource } from '../../agent/model/ipam.js';
import type { DeviceAllocationSource, DeviceInfoSource, LinkSource, NetnsDiscoverer, PodLinkSource, PodSandboxSource, SriovTopologySource } from '../../agent/model/ports.js';
import { buildSnapshot, type BuildOptions, type SnapshotContext } from '../../agent/runtime/snapshot.js';
import { readIpamLeases } from '../../collectors/ipam/collect.js';
import { COLLECTORS, collectorRun, describeDevices, dumpLinks, listSriovPfs, readAllocations, readSandboxes, samplePodNetns, type CollectorEntry } from '../../collectors/index.js';

/** The ports a test fakes; absent ones are disabled collectors. */
export interface FakeSources extends SnapshotContext {
  readonly links: LinkSource;
  readonly devices?: DeviceInfoSource | undefined;
  readonly netns?: { readonly discovery: NetnsDiscoverer; readonly links: PodLinkSource } | undefined;
  readonly sriov?: SriovTopologySource | undefined;
  readonly allocations?: DeviceAllocationSource | undefined;
  readonly sandboxes?: PodSandboxSource | undefined;
  readonly ipam?: { readonly source: IpamStateSource; readonly root: string; readonly leakGraceMs: number } | undefined;
}

/** The collector runs over `sources`, in the registry's order (taken from the registry, not restated here). */
export function collectorRuns(sources: FakeSources): CollectorRun[] {
  const collect: { readonly [N in CollectorName]?: Collect<PartName> | undefined } = {
    [COLLECTOR.netlink]: dumpLinks(sources.links),
    [COLLECTOR.sysfs]: sources.devices && describeDevices(sources.devices),
    [COLLECTOR.netns]: sources.netns && samplePodNetns(sources.netns),
    [COLLECTOR.sriov]: sources.sriov && listSriovPfs(sources.sriov),
    [COLLECTOR.podresources]: sources.allocations && readAllocations(sources.allocations),
    [COLLECTOR.cri]: sources.sandboxes && readSandboxes(sources.sandboxes),
    [COLLECTOR.ipam]: sources.ipam && readIpamLeases(sources.ipam.source, sources.ipam.root, sources.ipam.leakGraceMs),
  };
  return COLLECTORS.flatMap((entry) => {
    const c = collect[entry.name];
    return c ? [collectorRun(entry as CollectorEntry, c)] : [];
  });
}

/** One snapshot from fake ports. */
export function snapshotFrom(sources: FakeSources, opts: BuildOptions): Promise<Snapshot> {
  return buildSnapshot(collectorRuns(sources), sources, opts);
}
