/**
 * The bench cases: each builds the kernel objects of one scenario in throwaway namespaces and
 * names the namespace the exporters run in. Add a case by appending to {@link CASES}.
 *
 * The exporters run in a PID namespace of their own (see bench.ts), so the agent's netns
 * discovery sees no host process; which bind-mounted namespaces it sees is the case's choice,
 * through `--path.netns` in {@link PreparedCase.agentArgs}.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { BindMounts } from './bind-mounts.js';
import type { ReadinessFlapConfig } from './protocol.js';
import { benchNetnsName, type NetnsRegistry } from './netns.js';

/** What a case's setup and teardown are given. */
export interface CaseContext {
  /** Macvlan links of the macvlan case (`--links`, default {@link DEFAULT_LINKS}). */
  readonly links: number;
  /** Pods of the pods, cni and cni-kube cases (`--pods`, default {@link DEFAULT_PODS}). */
  readonly pods: number;
  /** Where the case registers the namespaces it creates; they are removed even if setup fails. */
  readonly netns: NetnsRegistry;
  /** Where the case registers its bind mounts; they are unmounted before the namespaces are removed, even if setup fails. */
  readonly mounts: BindMounts;
  /** A private directory of this bench run, removed afterwards. */
  readonly workDir: string;
  /** Aborted on SIGINT/SIGTERM: a long setup stops at the next step. */
  readonly signal: AbortSignal;
  /** Prints a progress line. */
  readonly progress: (line: string) => void;
}

/** A case ready to be measured. */
export interface PreparedCase {
  /** The namespace both exporters run and are scraped in. */
  readonly netns: string;
  /** Links the kernel shows in that namespace (`ip -o link | wc -l`), loopback included. */
  readonly linksInNetns: number;
  /** Macvlan links the case created, in every namespace together. */
  readonly macvlans: number;
  /** The agent's --path.netns: a private directory holding a bind mount per pod namespace, or none. */
  readonly podNetnsDir: string;
  /** Pod namespaces mounted there. */
  readonly pods: number;
  /** The interfaces each pod namespace holds besides lo: the agent must export pods × this many pod interfaces. */
  readonly podInterfaceNames: readonly string[];
  /** Interfaces each pod has besides lo and `podInterfaceNames` that the agent exports too (eth0 of the cluster network); default 0. */
  readonly otherPodInterfaces?: number;
  /** Whether the agent knows the pods (Pods and NADs given): then every pod interface must carry its pod's name. */
  readonly podsKnown?: boolean;
  /** Processes measure.js starts, one per pod: in the pod's namespace and kubepods cgroup, where the agent's /proc scan sees them. */
  readonly podProcesses?: readonly { readonly netnsFile: string; readonly cgroup: string }[];
  /** The cgroup v1 controller whose hierarchy `podProcesses[].cgroup` is relative to. */
  readonly cgroupController?: string;
  /** Readiness flaps measure.js makes against the agent (cases with a kube API). */
  readonly readinessFlap?: ReadinessFlapConfig;
  /** Flags the agent gets beyond its listen address and log level. */
  readonly agentArgs: readonly string[];
  /** One line saying what was built. */
  readonly description: string;
  /** Wall time of each setup step, milliseconds; printed, not part of the figures. */
  readonly setupMs: Readonly<Record<string, number>>;
  /** Undoes setup; the runner also unmounts and removes everything registered afterwards, also when setup failed. */
  teardown(): Promise<void>;
}

/** What a case is judged against; a target left out is not judged. */
export interface CaseTargets {
  /** median(agent) / median(node_exporter), at most. */
  readonly maxRatio?: number;
  /** The agent's median full scrape, milliseconds, at most. */
  readonly maxMedianMs?: number;
  /** median(agent) / the kernel floor (the raw dumps of every namespace, timed in the same run), at most. */
  readonly maxFloorRatio?: number;
  /** The agent's VmRSS after the timed scrapes, MB (10^6 bytes), at most. */
  readonly maxRssMB: number;
  /** The agent's CPU, percent of one core, at most, when scraped every `scrapeIntervalS` seconds. */
  readonly cpu?: { readonly maxPercent: number; readonly scrapeIntervalS: number };
}

/** One bench scenario. */
export interface BenchCase {
  readonly name: string;
  readonly summary: string;
  readonly targets: CaseTargets;
  setup(ctx: CaseContext): Promise<PreparedCase>;
}

/** Macvlan links of the macvlan case when `--links` is not given. */
export const DEFAULT_LINKS = 750;
/** Pod namespaces of the pods case when `--pods` is not given. */
export const DEFAULT_PODS = 250;

/** Wall time of `work`, milliseconds, recorded under `step`. */
async function timed(steps: Record<string, number>, step: string, work: () => Promise<unknown>): Promise<void> {
  const started = performance.now();
  await work();
  steps[step] = performance.now() - started;
}

/** Lower device of the macvlans: one end of a veth pair whose peer stays in the same namespace. */
const LOWER = 'mnab-lower';
const PEER = 'mnab-peer';

/** `ip -batch` lines: loopback up, the veth pair up, `count` bridge-mode macvlans, every other one up. */
export function macvlanBatch(count: number): string[] {
  const lines = ['link set lo up', `link add ${LOWER} type veth peer name ${PEER}`, `link set ${LOWER} up`, `link set ${PEER} up`];
  for (let i = 0; i < count; i++) lines.push(`link add mv${i} link ${LOWER} type macvlan mode bridge`);
  for (let i = 0; i < count; i += 2) lines.push(`link set mv${i} up`);
  return lines;
}

/** N macvlan links on one veth in one namespace: a node whose pods' macvlans all sit in the host namespace. */
const macvlanCase: BenchCase = {
  name: 'macvlan',
  summary: 'macvlan links on a veth, all in the namespace the exporters run in',
  targets: { maxRatio: 0.05, maxRssMB: 80 },
  async setup(ctx) {
    const setupMs: Record<string, number> = {};
    const netns = benchNetnsName();
    ctx.progress(`creating ${ctx.links} macvlan links in netns ${netns}`);
    await timed(setupMs, `${ctx.links} macvlans`, async () => {
      await ctx.netns.create(netns);
      await ctx.netns.batch(netns, macvlanBatch(ctx.links));
    });
    const linksInNetns = await ctx.netns.linkCount(netns);
    // No pods in this case: the agent's --path.netns is an empty directory, so it does not
    // pick up the bind mounts in /run/netns that other tools on the machine left there.
    const noPods = path.join(ctx.workDir, 'no-pods');
    await mkdir(noPods);
    const up = Math.ceil(ctx.links / 2);
    return {
      netns,
      linksInNetns,
      macvlans: ctx.links,
      podNetnsDir: noPods,
      pods: 0,
      podInterfaceNames: [],
      agentArgs: [`--path.netns=${noPods}`, '--host.interfaces=all'],
      description: `${ctx.links} bridge-mode macvlan links (${up} up) on a veth pair in netns ${netns}; ${linksInNetns} links in the namespace with lo and the veth pair; no pod namespaces`,
      setupMs,
      teardown: () => ctx.netns.removeAll(),
    };
  },
};

/** Secondary networks per pod: pod interface netK hangs off node master ethK. */
export const POD_NETWORKS = 3;

/** The pod interface names, net1..netK, as Multus names them when a pod asks for none. */
export function podInterfaceNames(networks: number): string[] {
  return Array.from({ length: networks }, (_, i) => `net${i + 1}`);
}

/** `ip -batch` lines for the node namespace: lo up, and masters eth1..ethK, each one end of a veth pair whose peer stays there, all up. */
export function nodeBatch(networks: number): string[] {
  const lines = ['link set lo up'];
  for (let k = 1; k <= networks; k++) lines.push(`link add eth${k} type veth peer name eth${k}-peer`, `link set eth${k} up`, `link set eth${k}-peer up`);
  return lines;
}

/**
 * `ip -batch` lines, run in the node namespace, that give each pod namespace netK, a bridge-mode
 * macvlan on ethK, up. `netns POD` on `link add` creates the link inside the pod namespace with
 * its lower device looked up in the node namespace, as the macvlan CNI plugin does. Creating the
 * links in the node namespace and then moving them (`link set X netns POD`) costs far more:
 * 13 s for the 750 moves against 0.2 s for the 750 links created in place, on the bench machine.
 */
export function podMacvlanBatch(podNetns: readonly string[], networks: number): string[] {
  const lines: string[] = [];
  for (const pod of podNetns) {
    for (let k = 1; k <= networks; k++) lines.push(`link add net${k} link eth${k} netns ${pod} up type macvlan mode bridge`);
  }
  return lines;
}

/** Pod names, zero-padded to sort in order: pod-001 .. pod-250. */
export function podNames(count: number): string[] {
  const width = String(count).length;
  return Array.from({ length: count }, (_, i) => `pod-${String(i + 1).padStart(width, '0')}`);
}

/**
 * N pod namespaces with K macvlans each, as Multus and the macvlan CNI plugin leave them, and a
 * node namespace holding the masters, where the exporters run. The agent finds the pods through
 * bind mounts in a private --path.netns (nothing runs in them, so /proc shows none).
 */
const podsCase: BenchCase = {
  name: 'pods',
  summary: `pod network namespaces × ${POD_NETWORKS} macvlans each, the masters in the namespace the exporters run in`,
  targets: { maxMedianMs: 50, maxRssMB: 100, cpu: { maxPercent: 1, scrapeIntervalS: 15 } },
  async setup(ctx) {
    const setupMs: Record<string, number> = {};
    const node = benchNetnsName('node');
    const pods = podNames(ctx.pods);
    const podNetns = pods.map((p) => benchNetnsName(p));
    const names = podInterfaceNames(POD_NETWORKS);
    ctx.progress(`creating netns ${node} and ${pods.length} pod namespaces ${podNetns[0] ?? ''} .. ${podNetns[podNetns.length - 1] ?? ''}`);
    await timed(setupMs, `${podNetns.length + 1} namespaces`, () => ctx.netns.createMany([node, ...podNetns]));
    ctx.signal.throwIfAborted();
    ctx.progress(`creating ${POD_NETWORKS} masters in ${node} and ${pods.length * POD_NETWORKS} macvlans in the pod namespaces`);
    await timed(setupMs, `${pods.length * POD_NETWORKS} macvlans`, () => ctx.netns.batch(node, [...nodeBatch(POD_NETWORKS), ...podMacvlanBatch(podNetns, POD_NETWORKS)]));
    ctx.progress(`bringing lo up in each pod namespace (one ip process each)`);
    // Only from inside the namespace: RTM_SETLINK with IFLA_TARGET_NETNSID gets EINVAL (kernel 6.18). One process per pod.
    await timed(setupMs, 'lo up', async () => {
      for (const ns of podNetns) {
        ctx.signal.throwIfAborted();
        await ctx.netns.batch(ns, ['link set lo up']);
      }
    });
    const podNetnsDir = path.join(ctx.workDir, 'netns');
    await mkdir(podNetnsDir);
    const mounts = podNetns.map((ns, i) => ({ source: `/run/netns/${ns}`, target: path.join(podNetnsDir, pods[i] as string) }));
    await timed(setupMs, `${mounts.length} bind mounts`, () => ctx.mounts.bindAll(mounts, path.join(ctx.workDir, 'fstab')));
    const linksInNetns = await ctx.netns.linkCount(node);
    return {
      netns: node,
      linksInNetns,
      macvlans: pods.length * POD_NETWORKS,
      podNetnsDir,
      pods: pods.length,
      podInterfaceNames: names,
      agentArgs: [`--path.netns=${podNetnsDir}`, '--host.interfaces=all'],
      description:
        `${pods.length} pod namespaces, each with lo (up) and ${names.join(', ')}: bridge-mode macvlans, up, on ` +
        `${names.map((_, k) => `eth${k + 1}`).join(', ')} of netns ${node} (veth pairs, peers there too; ${linksInNetns} links with lo); ` +
        `the pods bind-mounted as ${podNetnsDir}/${pods[0] ?? ''} .. ${pods[pods.length - 1] ?? ''} for the agent's --path.netns`,
      setupMs,
      async teardown() {
        await ctx.mounts.unmountAll();
        await ctx.netns.removeAll();
      },
    };
  },
};

/** Every case, in the order `npm run bench` runs them. */
export const CASES: readonly BenchCase[] = [macvlanCase, podsCase];
