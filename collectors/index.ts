/**
 * The collector registry: every collector of the agent, in one explicit list. Each entry names the
 * collector (its `multinet_scrape_collector_*{collector}` label), says whether it is on by default,
 * declares its flags (the `--[no-]collector.X` switch and its own options; agent/app/cli.ts puts
 * them in FLAGS), reads its options from the parsed flags, creates its sources (releasing them
 * through the shared undo stack), and says which part of the snapshot it fills and which parts it
 * waits for. The app (agent/app/main.ts) calls {@link createCollectors}; the snapshot builder
 * (agent/runtime/snapshot.ts) runs the resulting {@link CollectorRun}s, knowing only the port.
 *
 * Adding a collector: docs/architecture.md, "Adding a collector".
 */
import { existsSync, readFileSync } from 'node:fs';
import { COLLECTOR, type Collect, type CollectorName, type CollectorRun, type FlagReader, type FlagSpec, type PartName } from '../agent/model/collector.js';
import { type NetnsSample } from '../agent/model/attachments.js';
import { type NetnsRef } from '../agent/model/domain.js';
import { AgentError, CapabilityError } from '../agent/model/errors.js';
import type { DeviceAllocationSource, DeviceInfoSource, LinkSource, Logger, NetnsDiscoverer, PodLinkSource, PodSandboxSource, SriovTopologySource } from '../agent/model/ports.js';
import { NetlinkLinkSource } from './netlink/link-dump.js';
import { rotateKeptTexts } from './netlink/attrs.js';
import { NetlinkPodLinkSource } from './netlink/netns-links.js';
import { NetnsDiscovery } from './procfs/netns-discovery.js';
import { effectiveCapabilities, holds } from './procfs/capabilities.js';
import { SriovSysfsSource } from './sriov/sriov-sysfs.js';
import { SysfsDeviceSource } from './sysfs/sysfs-net.js';
import { HostLocalIpamSource } from './ipam/host-local.js';
import { readIpamLeases } from './ipam/collect.js';

/** How long start-up (and doctor) waits for the container runtime's first answer before going on without it. */
const CRI_FIRST_REFRESH_WAIT_MS = 3_000;

/** What the collectors read of the parsed command line (agent/app/cli.ts's RunConfig has all of it). */
export interface CollectorConfig {
  readonly sysfsRoot: string;
  readonly procfsRoot: string;
  /** Directory of bind-mounted network namespaces (netns and cri read it). */
  readonly netnsDir: string;
  readonly sysfsEnabled: boolean;
  readonly netnsEnabled: boolean;
  readonly sriovEnabled: boolean;
  readonly podResourcesEnabled: boolean;
  /** Directory of the kubelet's pod-resources socket (the directory, so a kubelet restart is survived). */
  readonly podResourcesDir: string;
  /** The container runtime's CRI socket path (`--cri.endpoint`); undefined: pods are not asked of the runtime. */
  readonly criSocket: string | undefined;
  /** host-local's data directory (`/var/lib/cni/networks`); a NAD's `ipam.dataDir` overrides it for that network. */
  readonly ipamDir: string;
  readonly ipamEnabled: boolean;
  /** An allocation younger than this is never counted as leaked, milliseconds. */
  readonly ipamLeakGraceMs: number;
}

/** The collectors' own options, read by the registry from the flags (the shared paths are the app's). */
export type CollectorOptions = Omit<CollectorConfig, 'sysfsRoot' | 'procfsRoot' | 'netnsDir'>;

/** What a collector is created with besides the configuration. */
export interface CollectorContext {
  readonly log: Logger;
  /** Records how to release what was started (stopped in reverse order with the agent, or when start-up fails). */
  defer(undo: () => unknown): void;
  /** doctor: one snapshot, then exit (collectors that describe in the background wait instead). */
  readonly oneShot: boolean;
}

/** What the app gets of some collectors beside their runs. */
export interface Exposed {
  /** The host link dump, also read by the readiness monitor. */
  readonly hostLinks: LinkSource;
  /** The netns collector's caches, for `multinet_netns_*` self-metrics. */
  readonly netnsStats: () => { readonly discovered: number; readonly nsidsCached: number };
}

/** One collector of the registry. */
export interface CollectorEntry<P extends PartName = PartName> {
  readonly name: CollectorName;
  /** What it reads (the help of its switch, and of docs). */
  readonly help: string;
  /** Its `--[no-]collector.<name>` switch and default; undefined: no switch (always on, or turned on by an option). */
  readonly switch: { readonly default: boolean } | undefined;
  /** Its own options (flags other than the switch). */
  readonly options: readonly FlagSpec[];
  /** The part of the snapshot it fills. */
  readonly fills: P;
  /** Parts it waits for; they must be filled by entries before it. */
  readonly dependsOn: readonly PartName[];
  /** Its options from the parsed flags. */
  parse(flags: FlagReader): Partial<CollectorOptions>;
  /** Whether the configuration turns it on. */
  enabled(config: CollectorConfig): boolean;
  /** Creates its sources (registering their release with `ctx.defer`); undefined when there is nothing to read on this machine. */
  create(config: CollectorConfig, ctx: CollectorContext): Promise<{ readonly collect: Collect<P>; readonly exposes?: Partial<Exposed> } | undefined>;
}

type AnyEntry = { [P in PartName]: CollectorEntry<P> }[PartName];

// How each port is run or read: shared by the entries below and by tests that build snapshots from fakes.

/** The host link dump. */
export const dumpLinks = (source: LinkSource): Collect<'links'> => ({ kind: 'read', run: (signal) => source.listLinks(signal) });

/** sysfs details of the links the dump found (none when it failed). */
export const describeDevices = (source: DeviceInfoSource): Collect<'devices'> => ({ kind: 'read', run: (signal, inputs) => source.describe(inputs.parts.links ?? [], signal) });

/**
 * Discovers the pod namespaces and dumps each one's links, `concurrency` at a time. A namespace
 * or process denied to an agent that lacks the capability for it fails the collector (with what
 * it could read, CapabilityError.partial): the agent is then blind to pods. Denied to an agent
 * that has it (a process more privileged than a root with every capability, an LSM), it is
 * skipped, said at debug.
 */
export const samplePodNetns = (source: { readonly discovery: NetnsDiscoverer; readonly links: PodLinkSource; readonly capabilities?: bigint | undefined; readonly log?: Logger }): Collect<'netns'> => ({
  kind: 'read',
  async run(signal) {
    const lacks = (cap: 'CAP_NET_ADMIN' | 'CAP_SYS_PTRACE'): boolean => holds(source.capabilities, cap) === false;
    const selfNsid = await source.links.selfNsid(signal);
    // One generation of kept MAC and name texts per pass: those of pods gone since are dropped.
    rotateKeptTexts();
    const discovery = source.discovery.discover();
    const refs = discovery.netns;
    const dumped = new Array<NetnsSample | undefined>(refs.length);
    // What a missing capability kept from view: processes whose namespace could not be read and
    // namespaces that could not be opened (CAP_SYS_PTRACE), namespaces that could not be dumped (CAP_NET_ADMIN).
    const denied = new Map<string, string>();
    const deny = (capability: string, why: string): void => {
      if (lacks(capability as 'CAP_NET_ADMIN' | 'CAP_SYS_PTRACE')) {
        if (!denied.has(capability)) denied.set(capability, why);
      } else {
        // Held, yet refused (a process with capabilities the agent's root lacks, an LSM, the VM):
        // skipped; the discovery's one warning already names that cause.
        source.log?.debug({ capability, why }, 'denied although the agent has the capability; skipped');
      }
    };
    if (discovery.deniedPids > 0) deny('CAP_SYS_PTRACE', 'cannot read /proc/<pid>/ns/net of some processes');
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < refs.length) {
        signal.throwIfAborted();
        const i = next++;
        const ref = refs[i] as NetnsRef;
        try {
          const d = await source.links.listIn(ref, signal);
          if (d) dumped[i] = { ref, nsid: d.nsid, links: d.links };
        } catch (err) {
          if (!(err instanceof CapabilityError)) throw err;
          deny(err.capability, err.message.replace(/ \/\S+/, ' a pod network namespace'));
        }
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, source.links.concurrency) }, worker));
    source.links.retain(new Set(refs.map((r) => r.inode)));
    const part = { selfNsid, samples: dumped.filter((s): s is NetnsSample => s !== undefined) };
    // Without CAP_NET_ADMIN the kernel dumps no other namespace (IFLA_TARGET_NETNSID needs it),
    // whatever errno it says that with (seen: EPERM assigning an NSID, a dump that fails as gone).
    if (lacks('CAP_NET_ADMIN') && refs.length > 0) deny('CAP_NET_ADMIN', 'cannot dump the links of another network namespace');
    if (denied.size > 0) {
      // Not every pod is seen: the collector fails (success 0, /readyz 503 naming the capability) and exports what it did read.
      const [capability] = [...denied.keys()].sort(); // CAP_NET_ADMIN before CAP_SYS_PTRACE: the one that hides more
      const reasons = [...denied].map(([cap, why]) => `${why} (${cap})`).join('; ');
      throw new CapabilityError(capability as string, `some pod network namespaces not read: ${reasons}`, { partial: part });
    }
    return part;
  },
});

/** SR-IOV topology from sysfs. */
export const listSriovPfs = (source: SriovTopologySource): Collect<'sriov'> => ({ kind: 'read', run: (signal) => source.listPfs(signal) });

/** Device allocations from the kubelet client's cache (served, stale, while the kubelet is away). */
export const readAllocations = (source: DeviceAllocationSource): Collect<'allocations'> => ({
  kind: 'cache',
  read: () => ({ value: source.devices(), ...source.status() }),
});

/**
 * Sandboxes from the CRI client's cache. A stale list is not joined on: once a namespace is freed
 * its inode may be reused, and while the runtime is away cgroups and MACs read the kernel as it is now.
 */
export const readSandboxes = (source: PodSandboxSource): Collect<'sandboxes'> => ({
  kind: 'cache',
  read: () => {
    const st = source.status();
    return { value: st.connected ? source.sandboxes() : [], ...st };
  },
});

/** A `--[no-]collector.<name>` switch's state. */
const switchOn = (flags: FlagReader, name: CollectorName): boolean => flags.on(`collector.${name}`);

/** `--cri.endpoint`: a `unix://` URL or an absolute socket path, as crictl's `--runtime-endpoint` takes it; the socket path. */
export function parseCriEndpoint(value: string): string {
  const p = value.startsWith('unix://') ? value.slice('unix://'.length) : value;
  if (!p.startsWith('/') || p.length < 2) {
    throw new AgentError('E_USAGE', `--cri.endpoint: "${value}" is not a unix socket (unix:///run/containerd/containerd.sock or /run/containerd/containerd.sock)`);
  }
  return p;
}

/** Every collector, in the order their statuses are reported; an entry waits only for entries before it. */
export const COLLECTORS: readonly AnyEntry[] = [
  {
    name: COLLECTOR.netlink,
    help: 'Read the links of the agent\'s network namespace (one rtnetlink dump per snapshot)',
    switch: undefined,
    options: [],
    fills: 'links',
    dependsOn: [],
    parse: () => ({}),
    enabled: () => true,
    async create(config, ctx) {
      // With SR-IOV on, the dump asks for the PFs' VF info too (RTEXT_FILTER_VF).
      const source = new NetlinkLinkSource({ vfInfo: config.sriovEnabled });
      ctx.defer(() => source.close());
      return { collect: dumpLinks(source), exposes: { hostLinks: source } };
    },
  },
  {
    name: COLLECTOR.sysfs,
    help: 'Read speed, duplex, driver and PCI address of host links from sysfs',
    switch: { default: true },
    options: [],
    fills: 'devices',
    dependsOn: ['links'],
    parse: (f) => ({ sysfsEnabled: switchOn(f, COLLECTOR.sysfs) }),
    enabled: (c) => c.sysfsEnabled,
    create: async (config, ctx) => ({ collect: describeDevices(new SysfsDeviceSource({ root: config.sysfsRoot, log: ctx.log })) }),
  },
  {
    name: COLLECTOR.netns,
    help: 'Read the interfaces of every other network namespace on the node (pods) over rtnetlink',
    switch: { default: true },
    options: [],
    fills: 'netns',
    dependsOn: [],
    parse: (f) => ({ netnsEnabled: switchOn(f, COLLECTOR.netns) }),
    enabled: (c) => c.netnsEnabled,
    async create(config, ctx) {
      const discovery = new NetnsDiscovery({ procRoot: config.procfsRoot, netnsDir: config.netnsDir, log: ctx.log });
      const links = new NetlinkPodLinkSource({ log: ctx.log, procRoot: config.procfsRoot });
      ctx.defer(() => links.close());
      return { collect: samplePodNetns({ discovery, links, capabilities: effectiveCapabilities(), log: ctx.log }), exposes: { netnsStats: () => ({ discovered: discovery.stats.found, nsidsCached: links.cachedNsids }) } };
    },
  },
  {
    name: COLLECTOR.sriov,
    help: 'Read SR-IOV PFs and VFs from sysfs and the PFs\' VF info over rtnetlink',
    switch: { default: true },
    options: [],
    fills: 'sriov',
    // The topology is read on its own; the VF info of the link dump is joined when the snapshot is assembled.
    dependsOn: [],
    parse: (f) => ({ sriovEnabled: switchOn(f, COLLECTOR.sriov) }),
    enabled: (c) => c.sriovEnabled,
    create: async (config, ctx) => ({ collect: listSriovPfs(new SriovSysfsSource({ root: config.sysfsRoot, log: ctx.log })) }),
  },
  {
    name: COLLECTOR.podresources,
    help: 'Ask the kubelet which pod holds which device (SR-IOV VFs) every 10 s',
    switch: { default: true },
    options: [{ name: 'path.podresources', arg: 'DIR', help: 'Directory of the kubelet pod-resources socket (kubelet.sock); mount the directory, not the socket.', default: '/var/lib/kubelet/pod-resources' }],
    fills: 'allocations',
    dependsOn: [],
    parse: (f) => ({ podResourcesEnabled: switchOn(f, COLLECTOR.podresources), podResourcesDir: f.get('path.podresources') }),
    enabled: (c) => c.podResourcesEnabled,
    async create(config, ctx) {
      if (!existsSync(config.podResourcesDir)) {
        // No kubelet on this machine (or the directory is not mounted): nothing to ask.
        ctx.log.info({ dir: config.podResourcesDir }, 'no kubelet pod-resources directory; device allocations not read');
        return undefined;
      }
      // The gRPC client (node:http2) is imported only when it is asked for.
      const { PodResourcesSource } = await import('./podresources/podresources-client.js');
      const source = new PodResourcesSource({ dir: config.podResourcesDir, log: ctx.log });
      source.start();
      ctx.defer(() => source.stop());
      return { collect: readAllocations(source) };
    },
  },
  {
    name: COLLECTOR.cri,
    help: 'Ask the container runtime (CRI) for its pod sandboxes and their network namespaces every 5 s',
    // On with --cri.endpoint: a runtime socket is root on the host, so there is no default.
    switch: undefined,
    options: [
      { name: 'cri.endpoint', arg: 'unix:///PATH', help: 'Ask the container runtime (CRI) which network namespace is which pod\'s, e.g. unix:///run/containerd/containerd.sock or unix:///var/run/crio/crio.sock; off when unset (a runtime socket is root on the host).', default: undefined },
    ],
    fills: 'sandboxes',
    dependsOn: [],
    parse: (f) => ({ criSocket: f.has('cri.endpoint') ? parseCriEndpoint(f.get('cri.endpoint')) : undefined }),
    enabled: (c) => c.criSocket !== undefined,
    async create(config, ctx) {
      const { CriSandboxSource } = await import('./cri/cri-client.js');
      const source = new CriSandboxSource({ socketPath: config.criSocket as string, host: { netnsDir: config.netnsDir, procRoot: config.procfsRoot }, log: ctx.log });
      // The first refresh is awaited (boundedly) so the first snapshot, and doctor's, already join through the runtime.
      const first = source.waitForRefresh(CRI_FIRST_REFRESH_WAIT_MS);
      source.start();
      ctx.defer(() => source.stop());
      await first;
      return { collect: readSandboxes(source) };
    },
  },
  {
    name: COLLECTOR.ipam,
    help: 'Count host-local IPAM leases per range: allocated, capacity, leaked',
    switch: { default: true },
    options: [
      { name: 'path.ipam', arg: 'DIR', help: 'host-local IPAM data directory (one lease directory per CNI network); a NAD\'s ipam.dataDir overrides it.', default: '/var/lib/cni/networks' },
      { name: 'collector.ipam.leak-grace', arg: 'DURATION', help: 'A lease younger than this is never counted as leaked (its pod may not be visible yet).', default: '2m' },
    ],
    fills: 'ipam',
    // The NADs come with the inputs; whether leaks can be judged (the netns collector saw the sandboxes) is decided at assembly.
    dependsOn: [],
    parse: (f) => ({ ipamEnabled: switchOn(f, COLLECTOR.ipam), ipamDir: f.get('path.ipam'), ipamLeakGraceMs: f.durationMs('collector.ipam.leak-grace') }),
    enabled: (c) => c.ipamEnabled,
    // Lease directories are listed per scrape and described in the background; doctor waits for the description.
    create: async (config, ctx) => ({ collect: readIpamLeases(new HostLocalIpamSource({ log: ctx.log, waitForDetails: ctx.oneShot }), config.ipamDir, config.ipamLeakGraceMs) }),
  },
];

/** The registry's flags, in its order: each switch, then that collector's options. */
export function collectorFlags(): FlagSpec[] {
  return COLLECTORS.flatMap((c) => [
    ...(c.switch ? [{ name: `collector.${c.name}`, arg: undefined, help: `${c.help} (--no-collector.${c.name} turns it off).`, default: c.switch.default ? 'on' : 'off' }] : []),
    ...c.options,
  ]);
}

/** The collectors that have a `--[no-]collector.<name>` switch (the chart's `collectors.*` values). */
export function switchableCollectors(): CollectorName[] {
  return COLLECTORS.filter((c) => c.switch !== undefined).map((c) => c.name);
}

/** Every collector's options from the parsed flags. */
export function parseCollectorOptions(flags: FlagReader): CollectorOptions {
  return Object.assign({}, ...COLLECTORS.map((c) => c.parse(flags))) as CollectorOptions;
}

/** The port the snapshot builder runs, from an entry and how it collects. */
export function collectorRun<P extends PartName>(entry: CollectorEntry<P>, collect: Collect<P>): CollectorRun {
  return { ...collect, name: entry.name, fills: entry.fills, dependsOn: entry.dependsOn } as unknown as CollectorRun;
}

/** Creates the collectors the configuration turns on, in registry order (start-up stops at the first that throws; what was started is released by the caller's undo stack). */
export async function createCollectors(config: CollectorConfig, ctx: CollectorContext): Promise<{ readonly runs: readonly CollectorRun[] } & Partial<Exposed>> {
  const runs: CollectorRun[] = [];
  let exposed: Partial<Exposed> = {};
  for (const entry of COLLECTORS) {
    if (!entry.enabled(config)) continue;
    const created = await (entry.create as (c: CollectorConfig, x: CollectorContext) => ReturnType<CollectorEntry['create']>)(config, ctx);
    if (!created) continue;
    runs.push(collectorRun(entry as CollectorEntry, created.collect as Collect<PartName>));
    exposed = { ...exposed, ...created.exposes };
  }
  return { runs, ...exposed };
}
