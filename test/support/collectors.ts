/**
 * Snapshots from fake ports, as tests write them: each port becomes the registry's collector
 * (collectors/index.ts) around it, in registry order, and the snapshot builder runs them.
 */
import { COLLECTOR, type CollectorRun } from '../../agent/model/collector.js';
import type { Snapshot } from '../../agent/model/snapshot.js';
import type { IpamStateSource } from '../../agent/model/ipam.js';
import type { DeviceAllocationSource, DeviceInfoSource, LinkSource, NetnsDiscoverer, PodLinkSource, PodSandboxSource, SriovTopologySource } from '../../agent/model/ports.js';
import { buildSnapshot, type BuildOptions, type SnapshotContext } from '../../agent/runtime/snapshot.js';
import { readIpamLeases } from '../../collectors/ipam/collect.js';
import { collectorEntry, collectorRun, describeDevices, dumpLinks, listSriovPfs, readAllocations, readSandboxes, samplePodNetns } from '../../collectors/index.js';

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

/** The collector runs over `sources`, in registry order. */
export function collectorRuns(sources: FakeSources): CollectorRun[] {
  const runs: (CollectorRun | undefined)[] = [
    collectorRun(collectorEntry(COLLECTOR.netlink), dumpLinks(sources.links)),
    sources.devices && collectorRun(collectorEntry(COLLECTOR.sysfs), describeDevices(sources.devices)),
    sources.netns && collectorRun(collectorEntry(COLLECTOR.netns), samplePodNetns(sources.netns)),
    sources.sriov && collectorRun(collectorEntry(COLLECTOR.sriov), listSriovPfs(sources.sriov)),
    sources.allocations && collectorRun(collectorEntry(COLLECTOR.podresources), readAllocations(sources.allocations)),
    sources.sandboxes && collectorRun(collectorEntry(COLLECTOR.cri), readSandboxes(sources.sandboxes)),
    sources.ipam && collectorRun(collectorEntry(COLLECTOR.ipam), readIpamLeases(sources.ipam.source, sources.ipam.root, sources.ipam.leakGraceMs)),
  ];
  return runs.filter((r): r is CollectorRun => r !== undefined);
}

/** One snapshot from fake ports. */
export function snapshotFrom(sources: FakeSources, opts: BuildOptions): Promise<Snapshot> {
  return buildSnapshot(collectorRuns(sources), sources, opts);
}
