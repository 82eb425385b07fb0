/**
 * The snapshot: one consistent view of the node, built on demand from the collectors, each run
 * under its own timeout; a collector that fails or times out is reported, not fatal.
 */
import {
  NO_DEVICE_INFO,
  type CollectorStatus,
  type DeviceInfo,
  type HostLink,
  type NetLink,
  type NetnsRef
} from '../model/domain.js';
import { type IfIndex } from '../model/ids.js';
import { COLLECTOR, type Snapshot } from '../model/snapshot.js';
import { joinPodNetns } from '../rules/attachments.js';
import { type NetnsSample } from '../model/attachments.js';
import { AgentError, CapabilityError } from '../model/errors.js';
import type { PodMetadataSource } from '../model/pods.js';
import type { DeviceAllocation, DeviceAllocationSource, DeviceInfoSource, LinkSource, Logger, NetnsDiscoverer, PodLinkSource, PodSandbox, PodSandboxSource, SriovTopologySource } from '../model/ports.js';
import { indexPfVfInfo, joinVfNetlinkInfo } from '../rules/sriov.js';
import { type SriovSnapshot } from '../model/sriov.js';
import { type NetnsNetworking } from '../model/problems.js';
import { hostLocalNetworks } from '../rules/ipam.js';
import { type IpamSnapshot, type IpamStateSource } from '../model/ipam.js';

// The names live in the model (exporters read them); re-exported for the wiring.
export { COLLECTOR } from '../model/snapshot.js';

/** What the snapshot builder reads from. */
export interface SnapshotSources {
  readonly links: LinkSource;
  /** Absent when the sysfs collector is disabled. */
  readonly devices: DeviceInfoSource | undefined;
  /** Pod network namespaces; absent when that collector is disabled. */
  readonly netns?: { readonly discovery: NetnsDiscoverer; readonly links: PodLinkSource } | undefined;
  /** Pods and NADs; absent without a cluster and without manifests. */
  readonly metadata?: PodMetadataSource | undefined;
  /** SR-IOV topology; absent when that collector is disabled. */
  readonly sriov?: SriovTopologySource | undefined;
  /** Device-plugin allocations from the kubelet; absent when that collector is disabled. */
  readonly allocations?: DeviceAllocationSource | undefined;
  /** Pod sandboxes from the container runtime (CRI); absent unless `--cri.endpoint` is set. */
  readonly sandboxes?: PodSandboxSource | undefined;
  /** host-local lease directories under `root` (a NAD's dataDir overrides); absent when that collector is disabled. */
  readonly ipam?: { readonly source: IpamStateSource; readonly root: string; readonly leakGraceMs: number } | undefined;
  /** Addresses and routes of pod namespaces, kept fresh off the scrape path; read synchronously. */
  readonly networking?: { current(): ReadonlyMap<number, NetnsNetworking> } | undefined;
}

/** Discovers the pod namespaces and dumps each one's links, one after the other on one socket. */
async function samplePodNetns(
  source: { readonly discovery: NetnsDiscoverer; readonly links: PodLinkSource },
  signal: AbortSignal,
): Promise<{ selfNsid: number; samples: NetnsSample[] }> {
  const selfNsid = await source.links.selfNsid(signal);
  const refs = source.discovery.discover().netns;
  const dumped = new Array<NetnsSample | undefined>(refs.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < refs.length) {
      signal.throwIfAborted();
      const i = next++;
      const ref = refs[i] as NetnsRef;
      const d = await source.links.listIn(ref, signal);
      if (d) dumped[i] = { ref, nsid: d.nsid, links: d.links };
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, source.links.concurrency) }, worker));
  source.links.retain(new Set(refs.map((r) => r.inode)));
  return { selfNsid, samples: dumped.filter((s): s is NetnsSample => s !== undefined) };
}

/** Options of {@link buildSnapshot}. */
export interface BuildOptions {
  /** Per-collector time budget, milliseconds. */
  readonly collectorTimeoutMs: number;
  /** Keeps repeated failures out of the log; one per agent, kept across snapshots. */
  readonly failures: FailureLog;
  readonly now?: () => number;
}

/** The outcome of one collector run: its value, or the error, and how long it took. */
interface Ran<T> {
  readonly status: CollectorStatus;
  readonly value: T | undefined;
}

/**
 * Logs collector failures without a storm: a failure is logged at warn when it is new or its
 * reason changed, at debug while it repeats, and recovery once at info.
 */
export class FailureLog {
  readonly #log: Logger;
  readonly #last = new Map<string, string>();

  constructor(log: Logger) {
    this.#log = log;
  }

  failed(collector: string, err: unknown): void {
    const reason = err instanceof Error ? err.message : String(err);
    const repeated = this.#last.get(collector) === reason;
    this.#last.set(collector, reason);
    if (repeated) this.#log.debug({ err, collector }, 'collector failed');
    else this.#log.warn({ err, collector }, 'collector failed');
  }

  succeeded(collector: string): void {
    if (this.#last.delete(collector)) this.#log.info({ collector }, 'collector recovered');
  }
}

/** Runs one collector under its own timeout and reports success and duration. */
export async function runCollector<T>(
  name: string,
  timeoutMs: number,
  failures: FailureLog,
  work: (signal: AbortSignal) => Promise<T>,
): Promise<Ran<T>> {
  const started = process.hrtime.bigint();
  const ac = new AbortController();
  const timer = setTimeout(
    () => ac.abort(new AgentError('E_TIMEOUT', `collector ${name} exceeded ${timeoutMs} ms`)),
    timeoutMs,
  );
  let value: T | undefined;
  let failure: { error: string; missingCapability?: string } | undefined;
  try {
    value = await work(ac.signal);
    failures.succeeded(name);
  } catch (err) {
    failures.failed(name, err);
    failure = { error: err instanceof Error ? err.message : String(err), ...(err instanceof CapabilityError ? { missingCapability: err.capability } : {}) };
  } finally {
    clearTimeout(timer);
  }
  const durationSeconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { status: { name, success: failure === undefined, durationSeconds, ...failure }, value };
}

/** Joins links with their device details and resolves parent and master ifindexes to names. */
export function joinHostLinks(
  links: readonly NetLink[],
  devices: ReadonlyMap<IfIndex, DeviceInfo> | undefined,
): HostLink[] {
  const names = new Map<IfIndex, string>();
  for (const l of links) names.set(l.ifindex, l.name);
  return links.map((l) => ({
    ...l,
    // A parent in another namespace (IFLA_LINK_NETNSID set) has an ifindex of that namespace.
    parentName: l.parentIfindex !== undefined && l.parentNetnsid === undefined ? (names.get(l.parentIfindex) ?? '') : '',
    masterName: l.masterIfindex !== undefined ? (names.get(l.masterIfindex) ?? '') : '',
    device: devices?.get(l.ifindex) ?? NO_DEVICE_INFO,
  }));
}

/** Builds one snapshot: the link dump first, then sysfs for the links it found. */
export async function buildSnapshot(sources: SnapshotSources, opts: BuildOptions): Promise<Snapshot> {
  const takenAtMs = (opts.now ?? Date.now)();
  const links = await runCollector(COLLECTOR.netlink, opts.collectorTimeoutMs, opts.failures, (s) => sources.links.listLinks(s));
  const statuses: CollectorStatus[] = [links.status];
  let devices: ReadonlyMap<IfIndex, DeviceInfo> | undefined;
  if (sources.devices) {
    const source = sources.devices;
    const linkList = links.value ?? [];
    const ran = await runCollector(COLLECTOR.sysfs, opts.collectorTimeoutMs, opts.failures, (s) => source.describe(linkList, s));
    statuses.push(ran.status);
    devices = ran.value;
  }
  const hostLinks = joinHostLinks(links.value ?? [], devices);

  let sampled: { selfNsid: number; samples: NetnsSample[] } | undefined;
  if (sources.netns) {
    const source = sources.netns;
    const ran = await runCollector(COLLECTOR.netns, opts.collectorTimeoutMs, opts.failures, (s) => samplePodNetns(source, s));
    statuses.push(ran.status);
    sampled = ran.value;
  }
  let sriov: SriovSnapshot = { pfs: [] };
  if (sources.sriov) {
    const source = sources.sriov;
    const ran = await runCollector(COLLECTOR.sriov, opts.collectorTimeoutMs, opts.failures, (s) => source.listPfs(s));
    statuses.push(ran.status);
    // VF configuration and counters come from the PF's link dump (IFLA_VFINFO_LIST), joined by PCI address.
    const byPf = indexPfVfInfo(hostLinks.map((l) => ({ pciAddress: l.device.pciAddress, info: l.vfInfo })));
    sriov = joinVfNetlinkInfo(ran.value ?? [], byPf);
  }
  let allocations: ReadonlyMap<string, DeviceAllocation> = new Map();
  if (sources.allocations) {
    // Read from the cache the kubelet client keeps; success says whether that cache is live.
    const st = sources.allocations.status();
    allocations = sources.allocations.devices();
    statuses.push({ name: COLLECTOR.podresources, success: st.connected, durationSeconds: 0, ...(st.connected ? {} : { error: st.lastError ?? 'not connected' }) });
  }
  let sandboxes: readonly PodSandbox[] = [];
  if (sources.sandboxes) {
    // From the cache the CRI client keeps. A stale list is not joined on: once a namespace is
    // freed its inode may be reused, and while the runtime is away cgroups and MACs read the
    // kernel as it is now.
    const st = sources.sandboxes.status();
    if (st.connected) sandboxes = sources.sandboxes.sandboxes();
    statuses.push({ name: COLLECTOR.cri, success: st.connected, durationSeconds: 0, ...(st.connected ? {} : { error: st.lastError ?? 'not connected' }) });
  }
  const pods = sources.metadata?.pods() ?? [];
  const networks = sources.metadata?.networks() ?? [];
  let ipam: IpamSnapshot | undefined;
  if (sources.ipam) {
    const { source, root, leakGraceMs } = sources.ipam;
    const nets = hostLocalNetworks(networks, root);
    const ran = await runCollector(COLLECTOR.ipam, opts.collectorTimeoutMs, opts.failures, (s) => source.read(nets.map(({ network, dir }) => ({ network, dir })), s));
    statuses.push(ran.status);
    // An unknown container ID means a leak only when the node's sandboxes were all in view. A few
    // processes whose namespace cannot be read (here: pid 1 of the machine's sandbox) do not hide
    // a pod: its namespace is found by its bind mount and joined by network-status, whose
    // addresses keep its leases live.
    const sawSandboxes = sampled !== undefined && sources.metadata !== undefined && (sources.metadata.synced?.() ?? true);
    if (ran.value) ipam = { nets, dirs: ran.value, leaksJudgeable: sawSandboxes, leakGraceMs };
  }
  const vfPciAddresses = new Set(sriov.pfs.flatMap((pf) => pf.vfs.map((vf) => vf.pciAddress as string)));
  const podNetns = sampled ? joinPodNetns({ ...sampled, hostLinks, pods, networks, vfPciAddresses, sandboxes }) : [];
  return { takenAtMs, hostLinks, podNetns, pods, networks, sriov, allocations, collectors: statuses, ipam, networking: sources.networking?.current() };
}
