/**
 * The realistic pod cases: the lab (lab/lab.ts) builds N pods of one Deployment, each with eth0
 * from the real `bridge` plugin and three secondary networks from the real `macvlan` plugin with
 * `host-local` IPAM, run as Multus runs its delegates; the Pods carry the `networks` annotation
 * they were created with and the `network-status` Multus writes, the NADs their config (one
 * with an allowed-pods policy). measure.js starts a process in each pod's namespace and its
 * kubepods cgroup (cgroup v1, cgroupfs layout) inside its own PID namespace, where the agent's
 * /proc scan sees them. The agent reads the Pods and NADs from `--manifests` (case cni) or from
 * the kube API test server over a veth into the node namespace (case cni-kube).
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, rmdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { randomBytes, randomUUID } from 'node:crypto';
import { labUp, makeCgroupParents, removeCgroupParents, type LabState } from '../../lab/lab.js';
import type { Random } from '../../lab/plan.js';
import { KubeApiServer, type KubeObject } from '../support/kube-api-server.js';
import { PodResourcesServer } from '../support/podresources-server.js';
import { bridgeToNetns, type NetnsBridge } from '../support/netns-bridge.js';
import type { BenchCase, CaseContext, PreparedCase } from './cases.js';
import type { ReadinessFlapConfig } from './protocol.js';
import { POD_NETWORKS, podInterfaceNames } from './cases.js';

/** The cgroup v1 hierarchy pod processes are put in (the lab's choice too). */
const CGROUP_CONTROLLER = 'pids';
const CGROUP_ROOT = `/sys/fs/cgroup/${CGROUP_CONTROLLER}`;

const random: Random = {
  uuid: () => randomUUID(),
  hex: (bytes) => randomBytes(bytes).toString('hex'),
  suffix: (length) => Array.from(randomBytes(length), (b) => 'bcdfghjklmnpqrstvwxz2456789'[b % 27]).join(''),
};

const NETWORKS = [
  { name: 'mgmt-network', master: 'eth1', octet: 101, annotations: {} },
  { name: 'data-network', master: 'eth2', octet: 102, annotations: {} },
  { name: 'storage-network', master: 'eth3', octet: 103, annotations: { 'multinet.io/allowed-pods': 'hexagonal.io/adapter in (database)' } },
].slice(0, POD_NETWORKS);

/** The three macvlan NADs (host-local, /16 so that hundreds of pods fit), one with an allowed-pods policy. */
export function cniNads(): Record<string, unknown>[] {
  return NETWORKS.map((n) => ({
    apiVersion: 'k8s.cni.cncf.io/v1',
    kind: 'NetworkAttachmentDefinition',
    metadata: { name: n.name, namespace: 'cnf', annotations: n.annotations },
    spec: {
      config: JSON.stringify({
        cniVersion: '0.3.1',
        type: 'macvlan',
        master: n.master,
        mode: 'bridge',
        ipam: { type: 'host-local', subnet: `10.${n.octet}.0.0/16`, gateway: `10.${n.octet}.0.1`, routes: [{ dst: `10.${n.octet}.0.0/16` }] },
      }),
    },
  }));
}

/** The pod template of Deployment cnf/upf: labels (the policy's among them), the networks annotation asking for all three NADs, two containers. */
export function cniPodTemplate(): { namespace: string; labels: Record<string, string>; annotations: Record<string, string>; spec: Record<string, unknown> } {
  const networks = NETWORKS.map((n, i) => ({ name: n.name, interface: `net${i + 1}` }));
  return {
    namespace: 'cnf',
    labels: { app: 'upf', 'app.kubernetes.io/name': 'upf', 'app.kubernetes.io/part-of': '5g-core', 'hexagonal.io/adapter': 'database' },
    annotations: { 'k8s.v1.cni.cncf.io/networks': JSON.stringify(networks, null, 2) },
    spec: {
      containers: [
        { name: 'upf', image: 'registry.example/upf:1.4.2', resources: { requests: { cpu: '500m', memory: '512Mi' } } },
        { name: 'sidecar', image: 'registry.example/metrics-sidecar:0.9' },
      ],
    },
  };
}

/** The NADs and one Deployment of `pods` replicas of {@link cniPodTemplate}. */
export function cniManifests(pods: number): string {
  const template = cniPodTemplate();
  const deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'upf', namespace: template.namespace, labels: { app: 'upf' } },
    spec: {
      replicas: pods,
      selector: { matchLabels: { app: 'upf' } },
      template: { metadata: { labels: template.labels, annotations: template.annotations }, spec: template.spec },
    },
  };
  return [...cniNads(), deployment].map((d) => JSON.stringify(d)).join('\n---\n') + '\n';
}

/** Down + up cycles of a master in the cni-kube case: 20 transitions, 20 Events, under the recorder's burst of 25 per Node. */
const READINESS_CYCLES = 10;

/** A pod process measure.js starts: in `netnsFile`'s network namespace and in cgroup `cgroup` (relative to the controller's root). */
export interface PodProcess {
  readonly netnsFile: string;
  readonly cgroup: string;
}

/** The pod's container cgroup, cgroupfs layout, BestEffort: kubepods/besteffort/pod<uid>/<container id>. */
export function podCgroup(uid: string, containerId: string): string {
  return `kubepods/besteffort/pod${uid}/${containerId}`;
}

/** Removes a cgroup directory once its processes are gone (they die with measure.js' PID namespace). */
async function removeCgroup(dir: string): Promise<void> {
  for (let i = 0; i < 50; i++) {
    try {
      await rmdir(dir);
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      if ((err as NodeJS.ErrnoException).code !== 'EBUSY') throw err;
      await sleep(100);
    }
  }
  throw new Error(`${dir} stays busy`);
}

interface Built {
  readonly state: LabState;
  readonly podNetnsDir: string;
  readonly processes: PodProcess[];
  readonly setupMs: Record<string, number>;
  readonly linksInNetns: number;
  teardown(): Promise<void>;
}

/** Builds the lab with the real plugins and the bind mounts the agent's --path.netns gets. */
async function buildLab(ctx: CaseContext, name: string): Promise<Built> {
  const setupMs: Record<string, number> = {};
  if (!existsSync(`${CGROUP_ROOT}/cgroup.procs`)) throw new Error(`${CGROUP_ROOT} is not a cgroup v1 hierarchy: the cni cases put pod processes there`);
  const inDir = path.join(ctx.workDir, 'manifests-in');
  await mkdir(inDir);
  await writeFile(path.join(inDir, 'cnf.yaml'), cniManifests(ctx.pods));
  const stateRoot = path.join(ctx.workDir, 'lab');
  const labName = `b${process.pid}`.slice(0, 12);
  const prefix = `mnlab-${labName}-`;
  // Every namespace the lab may make, registered before it makes them (removal skips absent ones).
  ctx.netns.adopt([`${prefix}node`, `${prefix}switch`, ...Array.from({ length: ctx.pods }, (_, i) => `${prefix}p${i}`)]);
  ctx.progress(`lab up: ${ctx.pods} pods × (eth0 from bridge + ${POD_NETWORKS} macvlans from macvlan/host-local), the real CNI plugins in /usr/lib/cni`);
  let built = 0;
  let started = performance.now();
  const state = await labUp({
    name: labName,
    stateRoot,
    cniPath: process.env.CNI_PATH ?? '/usr/lib/cni',
    manifests: inDir,
    pods: ctx.pods,
    random,
    podProcesses: false,
    log: () => {
      if (++built % 50 === 0) ctx.progress(`  ${built} pods built`);
      ctx.signal.throwIfAborted();
    },
  });
  setupMs[`lab up (${ctx.pods} pods, ${ctx.pods * (POD_NETWORKS + 1)} CNI ADDs)`] = performance.now() - started;
  started = performance.now();
  const podNetnsDir = path.join(ctx.workDir, 'netns');
  await mkdir(podNetnsDir);
  const mounts = state.pods.map((p) => ({ source: `/run/netns/${p.netns}`, target: path.join(podNetnsDir, p.netns) }));
  await ctx.mounts.bindAll(mounts, path.join(ctx.workDir, 'fstab'));
  setupMs[`${mounts.length} bind mounts`] = performance.now() - started;
  const processes = state.pods.map((p) => ({ netnsFile: path.join(podNetnsDir, p.netns), cgroup: podCgroup(p.uid, p.containerId) }));
  // The pods' parent cgroups (kubepods/besteffort), made here when missing and removed with the
  // pods' (an empty kubepods/besteffort was left after every run); measure.js makes the rest.
  const cgroups: { cgroupParents?: string[] } = {};
  const first = processes[0];
  if (first) await makeCgroupParents(cgroups, path.dirname(path.join(CGROUP_ROOT, first.cgroup)), CGROUP_ROOT);
  const linksInNetns = await ctx.netns.linkCount(state.node);
  return {
    state,
    podNetnsDir,
    processes,
    setupMs,
    linksInNetns,
    async teardown() {
      // Deleting the namespaces removes every link the plugins made (the veth ends and cni0 too);
      // host-local's leases are under the work directory. No CNI DEL needed.
      await ctx.mounts.unmountAll();
      await ctx.netns.removeAll();
      for (const p of processes) {
        const container = path.join(CGROUP_ROOT, p.cgroup);
        await removeCgroup(container);
        await removeCgroup(path.dirname(container));
      }
      await removeCgroupParents(cgroups);
      await rm(stateRoot, { recursive: true, force: true });
    },
  };
}

function prepared(b: Built, source: string, agentArgs: string[], teardown: () => Promise<void>, readinessFlap?: ReadinessFlapConfig): PreparedCase {
  const names = podInterfaceNames(POD_NETWORKS);
  return {
    netns: b.state.node,
    linksInNetns: b.linksInNetns,
    macvlans: b.state.pods.length * POD_NETWORKS,
    podNetnsDir: b.podNetnsDir,
    pods: b.state.pods.length,
    podInterfaceNames: names,
    otherPodInterfaces: 1,
    podsKnown: true,
    ...(readinessFlap ? { readinessFlap } : {}),
    podProcesses: b.processes,
    cgroupController: CGROUP_CONTROLLER,
    agentArgs: [`--path.netns=${b.podNetnsDir}`, '--host.interfaces=all', ...agentArgs],
    description:
      `${b.state.pods.length} pods of Deployment cnf/upf made by the real CNI plugins: eth0 (bridge, veth to cni0 in ${b.state.node}) and ` +
      `${names.join(', ')} (macvlan on ${b.state.masters.join(', ')}, host-local /16); each with a process in its kubepods cgroup ` +
      `(${CGROUP_CONTROLLER}, cgroup v1) and its namespace bind-mounted in ${b.podNetnsDir}; Pods (networks + network-status annotations, labels) ` +
      `and 3 NADs (one with an allowed-pods policy) ${source}; ${b.linksInNetns} links in the node namespace`,
    setupMs: b.setupMs,
    teardown,
  };
}

/** Pods and NADs from --manifests, as `lab up` wrote them. */
export const cniCase: BenchCase = {
  name: 'cni',
  summary: `pods × ${POD_NETWORKS} macvlan networks made by the real CNI plugins, Pods and NADs from --manifests`,
  targets: { maxMedianMs: 50, maxFloorRatio: 1.3, maxRssMB: 80, cpu: { maxPercent: 1, scrapeIntervalS: 15 } },
  async setup(ctx) {
    const b = await buildLab(ctx, 'cni');
    return prepared(b, `from --manifests ${b.state.manifestsDir}`, [`--manifests=${b.state.manifestsDir}`], () => b.teardown());
  },
};

/** Pods and NADs from the kube API test server, which the agent reaches over a veth into the node namespace. */
export const cniKubeCase: BenchCase = {
  name: 'cni-kube',
  summary: `the cni case with Pods and NADs from the kube API test server (list + watch by the agent's own kube client) and the kubelet's PodResources API`,
  targets: { maxMedianMs: 50, maxFloorRatio: 1.3, maxRssMB: 80, cpu: { maxPercent: 1, scrapeIntervalS: 15 } },
  async setup(ctx) {
    const b = await buildLab(ctx, 'cni-kube');
    let server: KubeApiServer | undefined;
    let kubelet: PodResourcesServer | undefined;
    let bridge: NetnsBridge | undefined;
    const teardown = async (): Promise<void> => {
      await server?.close();
      await kubelet?.close();
      await bridge?.remove();
      await b.teardown();
    };
    try {
      bridge = await bridgeToNetns(b.state.node, 0);
      server = await KubeApiServer.start({ host: bridge.hostAddress });
      const read = async (file: string): Promise<KubeObject[]> => (JSON.parse(await readFile(path.join(b.state.manifestsDir, file), 'utf8')) as { items: KubeObject[] }).items;
      for (const nad of await read('network-attachment-definitions.json')) server.create('network-attachment-definitions', nad);
      const pods = await read('pods.json');
      for (const pod of pods) server.create('pods', pod);
      // The kubelet's PodResources API, as every node has it and the chart mounts it: List answers
      // for every pod (these macvlan pods hold no device-plugin devices), so the agent's gRPC client runs.
      const podResourcesDir = path.join(ctx.workDir, 'pod-resources');
      await mkdir(podResourcesDir);
      kubelet = await PodResourcesServer.start(podResourcesDir);
      kubelet.pods = pods.map((p) => ({
        name: String(p.metadata['name']),
        namespace: String(p.metadata['namespace'] ?? ''),
        containers: ((p as { spec?: { containers?: { name: string }[] } }).spec?.containers ?? []).map((c) => ({ name: c.name, devices: [], cpu_ids: [], memory: [], dynamic_resources: [] })),
      }));
      server.create('nodes', { apiVersion: 'v1', kind: 'Node', metadata: { name: b.state.node }, status: { conditions: [{ type: 'Ready', status: 'True' }] } });
      const kubeconfig = path.join(ctx.workDir, 'kubeconfig');
      await server.writeKubeconfig(kubeconfig);
      const readinessFlap = { iface: 'eth2', apiUrl: server.url, token: 't', cycles: READINESS_CYCLES };
      return prepared(
        b,
        `from the kube API test server at ${server.url}, and the kubelet's PodResources API (a grpc-js test server listing every pod) in ${podResourcesDir}`,
        [`--kubeconfig=${kubeconfig}`, `--node-name=${b.state.node}`, `--path.podresources=${podResourcesDir}`],
        teardown,
        readinessFlap,
      );
    } catch (err) {
      await teardown().catch(() => undefined);
      throw err;
    }
  },
};
