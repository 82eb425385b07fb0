/**
 * The snapshot: one consistent view of the node, built on demand from the collectors (ports of
 * agent/model/collector.ts, produced by the registry in collectors/index.ts). Collectors that do
 * not wait for each other run concurrently, each under its own timeout; a collector that fails or
 * times out is reported, not fatal.
 */
import {
  NO_DEVICE_INFO,
  type CollectorStatus,
  type DeviceInfo,
  type HostLink,
  type NetLink,
} from '../model/domain.js';
import { type IfIndex, type PciAddress } from '../model/ids.js';
import { type PfVfInfo } from '../model/sriov.js';
import { type Snapshot } from '../model/snapshot.js';
import { joinPodNetns } from '../rules/attachments.js';
import { AgentError, CapabilityError } from '../model/errors.js';
import type { PodMetadataSource } from '../model/pods.js';
import type { Logger } from '../model/ports.js';
import { type CollectorInputs, type CollectorRun, type PartName, type SnapshotParts } from '../model/collector.js';
import { indexPfVfInfo, joinVfNetlinkInfo } from '../rules/sriov.js';
import { type NetnsNetworking } from '../model/problems.js';
import { type IpamSnapshot } from '../model/ipam.js';

/** What a snapshot reads besides its collectors. */
export interface SnapshotContext {
  /** Pods and NADs; absent without a cluster and without manifests. */
  readonly metadata?: PodMetadataSource | undefined;
  /** Addresses and routes of pod namespaces, kept fresh off the scrape path; read synchronously. */
  readonly networking?: { current(): ReadonlyMap<number, NetnsNetworking> } | undefined;
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
    // A collector short of a capability fails (success 0, /readyz 503) but still gives what it could read.
    if (err instanceof CapabilityError && err.partial !== undefined) value = err.partial as T;
    failure = { error: err instanceof Error ? err.message : String(err), ...(err instanceof CapabilityError ? { missingCapability: err.capability } : {}) };
  } finally {
    clearTimeout(timer);
  }
  const durationSeconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { status: { name, success: failure === undefined, durationSeconds, ...failure }, value };
}

/**
 * Joins links with their device details and resolves parent and master ifindexes to names.
 *
 * Every field of the link is copied by name, not spread (`{ ...l, parentName }`): V8 took the
 * spread's slow path for these objects, 4-10 ms for 753 host links here, the copy by name 0.05 ms
 * (docs/architecture.md, "Code on the scrape path"). A field added to NetLink must be added here;
 * snapshot.test.ts fails until it is.
 */
export function joinHostLinks(
  links: readonly NetLink[],
  devices: ReadonlyMap<IfIndex, DeviceInfo> | undefined,
): HostLink[] {
  const names = new Map<IfIndex, string>();
  for (const l of links) names.set(l.ifindex, l.name);
  const joined = new Array<HostLink>(links.length);
  for (let i = 0; i < links.length; i++) {
    const l = links[i] as NetLink;
    joined[i] = {
      ifindex: l.ifindex,
      name: l.name,
      kind: l.kind,
      slaveKind: l.slaveKind,
      parentIfindex: l.parentIfindex,
      parentNetnsid: l.parentNetnsid,
      masterIfindex: l.masterIfindex,
      adminUp: l.adminUp,
      operstate: l.operstate,
      carrier: l.carrier,
      carrierChanges: l.carrierChanges,
      mtu: l.mtu,
      mac: l.mac,
      counters: l.counters,
      pciAddress: l.pciAddress,
      vfInfo: l.vfInfo,
      // A parent in another namespace (IFLA_LINK_NETNSID set) has an ifindex of that namespace.
      parentName: l.parentIfindex !== undefined && l.parentNetnsid === undefined ? (names.get(l.parentIfindex) ?? '') : '',
      masterName: l.masterIfindex !== undefined ? (names.get(l.masterIfindex) ?? '') : '',
      device: devices?.get(l.ifindex) ?? NO_DEVICE_INFO,
    };
  }
  return joined;
}

/**
 * Checks that every collector waits only for parts filled by collectors before it in the list, and
 * that no part is filled twice: the list is then a DAG in topological order, and cannot deadlock.
 */
export function checkCollectorOrder(collectors: readonly CollectorRun[]): void {
  const filled = new Set<PartName>();
  const all = new Set(collectors.map((c) => c.fills));
  for (const c of collectors) {
    if (filled.has(c.fills)) throw new Error(`collector ${c.name}: part ${c.fills} is filled twice`);
    for (const d of c.dependsOn) {
      if (all.has(d) && !filled.has(d)) throw new Error(`collector ${c.name} waits for ${d}, filled by a collector after it`);
    }
    filled.add(c.fills);
  }
}

/** Runs the collectors (each once its dependencies are done) and collects their parts and statuses, in list order. */
async function runCollectors(collectors: readonly CollectorRun[], networks: CollectorInputs['networks'], opts: BuildOptions): Promise<{ parts: Partial<SnapshotParts>; statuses: CollectorStatus[] }> {
  checkCollectorOrder(collectors);
  const parts: Partial<Record<PartName, unknown>> = {};
  const inputs: CollectorInputs = { parts: parts as Partial<SnapshotParts>, networks };
  const statuses = new Array<CollectorStatus>(collectors.length);
  const done = new Map<PartName, Promise<void>>();
  const one = async (c: CollectorRun, i: number): Promise<void> => {
    // A dependency no collector fills (disabled) is not waited for; the collector sees it absent.
    await Promise.all(c.dependsOn.map((d) => done.get(d)));
    if (c.kind === 'cache') {
      // Read from the cache a client keeps off the scrape path; success says whether that cache is live.
      let st: ReturnType<typeof c.read>;
      try {
        st = c.read(inputs);
      } catch (err) {
        st = { value: undefined as never, connected: false, lastError: err instanceof Error ? err.message : String(err) };
      }
      if (st.value !== undefined) parts[c.fills] = st.value;
      statuses[i] = { name: c.name, success: st.connected, durationSeconds: st.lastRefreshSeconds ?? 0, ...(st.connected ? {} : { error: st.lastError ?? 'not connected' }) };
      return;
    }
    const ran = await runCollector(c.name, opts.collectorTimeoutMs, opts.failures, (s) => c.run(s, inputs) as Promise<unknown>);
    if (ran.value !== undefined) parts[c.fills] = ran.value;
    statuses[i] = ran.status;
  };
  const all = collectors.map((c, i) => {
    const p = one(c, i);
    done.set(c.fills, p);
    return p;
  });
  await Promise.all(all);
  return { parts: parts as Partial<SnapshotParts>, statuses };
}

/** Builds one snapshot: runs the collectors (concurrently where they do not wait for each other), then joins their parts. */
export async function buildSnapshot(collectors: readonly CollectorRun[], context: SnapshotContext, opts: BuildOptions): Promise<Snapshot> {
  const takenAtMs = (opts.now ?? Date.now)();
  const pods = context.metadata?.pods() ?? [];
  const networks = context.metadata?.networks() ?? [];
  const { parts, statuses } = await runCollectors(collectors, networks, opts);
  const hostLinks = joinHostLinks(parts.links ?? [], parts.devices);
  // VF configuration and counters come from the PF's link dump (IFLA_VFINFO_LIST), joined by PCI address.
  const pfInfo: { pciAddress: PciAddress | undefined; info: PfVfInfo | undefined }[] = [];
  for (const l of hostLinks) pfInfo.push({ pciAddress: l.device.pciAddress, info: l.vfInfo });
  const byPf = indexPfVfInfo(pfInfo);
  const sriov = joinVfNetlinkInfo(parts.sriov ?? [], byPf);
  const allocations = parts.allocations ?? new Map();
  const sandboxes = parts.sandboxes ?? [];
  const sampled = parts.netns;
  // An unknown container ID means a leak only when the node's sandboxes were all in view. A few
  // processes whose namespace cannot be read (here: pid 1 of the machine's sandbox) do not hide
  // a pod: its namespace is found by its bind mount and joined by network-status, whose
  // addresses keep its leases live.
  const sawSandboxes = sampled !== undefined && context.metadata !== undefined && (context.metadata.synced?.() ?? true);
  const ipam: IpamSnapshot | undefined = parts.ipam ? { ...parts.ipam, leaksJudgeable: sawSandboxes } : undefined;
  const vfPciAddresses = new Set(sriov.pfs.flatMap((pf) => pf.vfs.map((vf) => vf.pciAddress as string)));
  const podNetns = sampled ? joinPodNetns({ ...sampled, hostLinks, pods, networks, vfPciAddresses, sandboxes }) : [];
  return { takenAtMs, hostLinks, podNetns, pods, networks, sriov, allocations, collectors: statuses, ipam, networking: context.networking?.current() };
}
