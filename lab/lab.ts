/**
 * The lab: the seed's scenario built on one machine with the real CNI plugins. A "node"
 * namespace holds the masters the NADs name (eth1, eth2, eth3: veths into a "switch" namespace
 * where a bridge per network carries the NAD's gateway), so nothing clashes with the machine's
 * own interfaces. Each pod gets a namespace (`ip netns`, like containerd's `cni-*`), eth0 from the
 * real `bridge` plugin as the cluster network, and one interface per requested network from the
 * NAD's own plugin (`macvlan` + `host-local`), run inside the node namespace as Multus runs its
 * delegates. Every other pod gets a process in a kubepods cgroup; the rest are held only by their
 * bind mount. The lab writes the Pods (with the network-status Multus would write) and NADs to
 * `<state>/manifests`, for `--manifests`. Everything is recorded in `<state>/state.json` as it
 * is made, so `lab down` removes it all, also after a crash.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, rmdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { cniExec, type CniResult } from './cni.js';
import { planLab, type LabNad, type LabPodPlan, type Random } from './plan.js';
import { NETWORKS_ANNOTATION, parseNetworksAnnotation } from '../agent/multus/parse-networks.js';

const run = promisify(execFile);

/** Where the lab keeps its state, and what it is built from. */
export interface LabOptions {
  readonly name: string;
  readonly stateRoot: string;
  readonly cniPath: string;
  readonly log: (line: string) => void;
}

interface AttachmentState {
  /** network-status name: `namespace/name`, or `cbr0` for the cluster network. */
  readonly network: string;
  readonly ifname: string;
  readonly config: Readonly<Record<string, unknown>>;
}

interface StatusEntry {
  readonly name: string;
  readonly interface: string;
  readonly ips: readonly string[];
  readonly mac: string;
  readonly default?: boolean;
  readonly dns: Readonly<Record<string, never>>;
}

/** A pod the lab made, as its state records it. */
export interface PodState {
  readonly name: string;
  readonly namespace: string;
  readonly uid: string;
  readonly containerId: string;
  readonly netns: string;
  pid: number | undefined;
  readonly cgroupDirs: string[];
  readonly attachments: AttachmentState[];
  readonly status: StatusEntry[];
}

/** Everything the lab made, written as it is made. */
export interface LabState {
  readonly name: string;
  readonly node: string;
  readonly switch: string;
  readonly stateDir: string;
  readonly ipamDir: string;
  readonly manifestsDir: string;
  readonly masters: string[];
  readonly pods: PodState[];
  /** The kubepods parent cgroups the lab made (`kubepods`, `besteffort`), removed at `down` when empty; absent in older states. */
  cgroupParents?: string[];
}

/** Namespace names of a lab; every one starts with `mnlab-<name>-` so `down` can sweep them. */
const prefix = (name: string): string => `mnlab-${name}-`;

const ip = async (...args: string[]): Promise<string> => (await run('ip', args, { encoding: 'utf8' })).stdout;

async function saveState(state: LabState): Promise<void> {
  await writeFile(path.join(state.stateDir, 'state.json'), `${JSON.stringify(state, null, 1)}\n`);
}

/** The state of a running lab, or undefined. */
export async function readLabState(opts: Pick<LabOptions, 'name' | 'stateRoot'>): Promise<LabState | undefined> {
  try {
    return JSON.parse(await readFile(path.join(opts.stateRoot, opts.name, 'state.json'), 'utf8')) as LabState;
  } catch {
    return undefined;
  }
}

/** The pod cgroup for a process: cgroup v1 (`pids` controller, cgroupfs layout) or v2 (systemd layout). */
function cgroupDirsFor(uid: string, containerId: string): string[] {
  if (existsSync('/sys/fs/cgroup/pids/cgroup.procs')) {
    const pod = `/sys/fs/cgroup/pids/kubepods/besteffort/pod${uid}`;
    return [pod, `${pod}/${containerId}`];
  }
  const u = uid.replace(/-/g, '_');
  const pod = `/sys/fs/cgroup/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${u}.slice`;
  return [pod, `${pod}/cri-containerd-${containerId}.scope`];
}

/** The cgroup hierarchy's root of `dir`: the controller's directory on v1, /sys/fs/cgroup on v2. */
const cgroupRoot = (dir: string): string => (dir.startsWith('/sys/fs/cgroup/pids/') ? '/sys/fs/cgroup/pids' : '/sys/fs/cgroup');

/**
 * Makes the parents of `podDir` below `root` that are missing (`kubepods`, `besteffort`), top
 * down, and records them in the lab's state: the pods' own directories go with their pods, these
 * at `down`.
 */
export async function makeCgroupParents(state: Pick<LabState, 'cgroupParents'>, podDir: string, root = cgroupRoot(podDir)): Promise<boolean> {
  const missing: string[] = [];
  for (let d = path.dirname(podDir); d.length > root.length && !existsSync(d); d = path.dirname(d)) missing.unshift(d);
  for (const d of missing) {
    await mkdir(d);
    (state.cgroupParents ??= []).push(d);
  }
  return missing.length > 0;
}

/** Removes the parents the lab made, deepest first; one still holding another lab's pods stays (rmdir fails on it). */
export async function removeCgroupParents(state: Pick<LabState, 'cgroupParents'>): Promise<void> {
  for (const d of [...(state.cgroupParents ?? [])].reverse()) await rmdir(d).catch(() => undefined);
}

/** The pid of `parent`'s first child, once it has forked (nsenter --pid forks the command). */
async function firstChild(parent: number): Promise<number> {
  for (let i = 0; i < 250; i++) {
    const text = await readFile(`/proc/${parent}/task/${parent}/children`, 'utf8').catch(() => '');
    const pid = Number(text.trim().split(' ')[0]);
    if (pid > 0) return pid;
    await new Promise((r) => setTimeout(r, 4));
  }
  throw new Error(`process ${parent} started no child in 1 s`);
}

/**
 * A process that keeps the pod's namespace busy, as a pause container would, in the pod's cgroup.
 * `pidnsOf`: started in the PID namespace of that process (an agent in a PID namespace of its
 * own sees only the processes there), else in the caller's.
 */
async function startPodProcess(state: LabState, pod: PodState, pidnsOf?: number): Promise<void> {
  const cmd = ['ip', 'netns', 'exec', pod.netns, 'sleep', 'infinity'];
  const child = pidnsOf === undefined ? spawn(cmd[0] as string, cmd.slice(1), { detached: true, stdio: 'ignore' }) : spawn('nsenter', ['-t', String(pidnsOf), '--pid', '--', ...cmd], { detached: true, stdio: 'ignore' });
  child.unref();
  if (child.pid === undefined) throw new Error(`could not start a process in ${pod.netns}`);
  // Through nsenter the pod's process is its child (nsenter waits for it and goes when it goes).
  pod.pid = pidnsOf === undefined ? child.pid : await firstChild(child.pid);
  const dirs = cgroupDirsFor(pod.uid, pod.containerId);
  if (await makeCgroupParents(state, dirs[0] as string)) await saveState(state);
  for (const d of dirs) {
    await mkdir(d, { recursive: true });
    pod.cgroupDirs.push(d);
  }
  await writeFile(path.join(dirs[dirs.length - 1] as string, 'cgroup.procs'), String(child.pid));
}

const cniArgs = (pod: PodState): string =>
  `IgnoreUnknown=true;K8S_POD_NAMESPACE=${pod.namespace};K8S_POD_NAME=${pod.name};K8S_POD_INFRA_CONTAINER_ID=${pod.containerId};K8S_POD_UID=${pod.uid}`;

/** host-local keeps its leases under the lab's state, not the machine's /var/lib/cni/networks. */
function withLabIpam(config: Readonly<Record<string, unknown>>, name: string, ipamDir: string): Record<string, unknown> {
  const ipam = config.ipam as Record<string, unknown> | undefined;
  const out: Record<string, unknown> = { cniVersion: '0.3.1', ...config, name: (config.name as string | undefined) ?? name };
  if (ipam && ipam.type === 'host-local' && ipam.dataDir === undefined) out.ipam = { ...ipam, dataDir: ipamDir };
  return out;
}

function statusEntry(network: string, ifname: string, result: CniResult | undefined, isDefault: boolean): StatusEntry {
  const iface = result?.interfaces?.findIndex((i) => i.name === ifname && i.sandbox) ?? -1;
  const ips = (result?.ips ?? []).filter((a) => a.interface === undefined || a.interface === iface).map((a) => a.address.split('/')[0] as string);
  return { name: network, interface: ifname, ips, mac: result?.interfaces?.[iface]?.mac ?? '', ...(isDefault ? { default: true } : {}), dns: {} };
}

async function addAttachment(state: LabState, pod: PodState, network: string, ifname: string, config: Record<string, unknown>, isDefault: boolean, cniPath: string): Promise<void> {
  // Recorded before the ADD, so that a half-done ADD is still deleted by `down`.
  pod.attachments.push({ network, ifname, config });
  await saveState(state);
  const result = await cniExec({ command: 'ADD', config, containerId: pod.containerId, netnsPath: `/run/netns/${pod.netns}`, ifname, args: cniArgs(pod), runIn: state.node, cniPath });
  pod.status.push(statusEntry(network, ifname, result, isDefault));
}

async function buildNode(state: LabState, nads: readonly LabNad[]): Promise<void> {
  await ip('netns', 'add', state.node);
  await ip('netns', 'add', state.switch);
  for (const ns of [state.node, state.switch]) await ip('-n', ns, 'link', 'set', 'lo', 'up');
  for (const nad of nads) {
    const master = nad.config.master;
    if (typeof master !== 'string' || state.masters.includes(master)) continue;
    const peer = `sw-${master}`.slice(0, 15);
    const bridge = `br-${master}`.slice(0, 15);
    await ip('-n', state.node, 'link', 'add', master, 'type', 'veth', 'peer', 'name', peer, 'netns', state.switch);
    await ip('-n', state.switch, 'link', 'add', bridge, 'type', 'bridge');
    await ip('-n', state.switch, 'link', 'set', peer, 'master', bridge);
    for (const l of [peer, bridge]) await ip('-n', state.switch, 'link', 'set', l, 'up');
    await ip('-n', state.node, 'link', 'set', master, 'up');
    const ipam = nad.config.ipam as { gateway?: string; subnet?: string } | undefined;
    if (ipam?.gateway && ipam.subnet) await ip('-n', state.switch, 'addr', 'add', `${ipam.gateway}/${ipam.subnet.split('/')[1]}`, 'dev', bridge);
    state.masters.push(master);
  }
}

/** The cluster network every pod gets as eth0, like a primary CNI would give it. */
const clusterNetwork = (ipamDir: string): Record<string, unknown> => ({
  cniVersion: '0.3.1',
  name: 'cbr0',
  type: 'bridge',
  bridge: 'cni0',
  isGateway: true,
  ipMasq: false,
  ipam: { type: 'host-local', subnet: '10.244.0.0/24', dataDir: ipamDir },
});

async function buildPod(state: LabState, plan: LabPodPlan, netns: string, nads: readonly LabNad[], cniPath: string, pidnsOf?: number): Promise<PodState> {
  const pod: PodState = { name: plan.name, namespace: plan.namespace, uid: plan.uid, containerId: plan.containerId, netns, pid: undefined, cgroupDirs: [], attachments: [], status: [] };
  state.pods.push(pod);
  await saveState(state);
  await ip('netns', 'add', pod.netns);
  await ip('-n', pod.netns, 'link', 'set', 'lo', 'up');
  if (plan.withProcess) await startPodProcess(state, pod, pidnsOf);
  await addAttachment(state, pod, 'cbr0', 'eth0', clusterNetwork(state.ipamDir), true, cniPath);
  for (const [i, sel] of plan.requested.entries()) {
    const nad = nads.find((n) => n.name === sel.name && n.namespace === sel.namespace);
    if (!nad) throw new Error(`pod ${plan.namespace}/${plan.name} requests ${sel.namespace}/${sel.name}, which the manifests do not define`);
    await addAttachment(state, pod, `${nad.namespace}/${nad.name}`, sel.interface ?? `net${i + 1}`, withLabIpam(nad.config, nad.name, state.ipamDir), false, cniPath);
  }
  await saveState(state);
  return pod;
}

/** A Pod as the API would hold it, with the network-status Multus would have written (none before its first ADD). */
function podItem(state: LabState, p: PodState, plan: Pick<LabPodPlan, 'labels' | 'annotations' | 'spec'>): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: p.name,
      namespace: p.namespace,
      uid: p.uid,
      labels: plan.labels,
      annotations: p.status.length === 0 ? { ...plan.annotations } : { ...plan.annotations, 'k8s.v1.cni.cncf.io/network-status': JSON.stringify(p.status, null, 2) },
    },
    spec: { ...plan.spec, nodeName: state.node },
  };
}

/** The Pods and NADs as the API would hold them, for `--manifests`. */
async function writeManifests(state: LabState, nads: readonly LabNad[], plans: readonly LabPodPlan[]): Promise<void> {
  await mkdir(state.manifestsDir, { recursive: true });
  const nadItems = nads.map((n) => ({ ...n.object, spec: { config: JSON.stringify(withLabIpam(n.config, n.name, state.ipamDir)) } }));
  const podItems = state.pods.map((p) => podItem(state, p, plans.find((x) => x.name === p.name && x.namespace === p.namespace) as LabPodPlan));
  await writeFile(path.join(state.manifestsDir, 'network-attachment-definitions.json'), `${JSON.stringify({ apiVersion: 'v1', kind: 'List', items: nadItems }, null, 1)}\n`);
  await writeFile(path.join(state.manifestsDir, 'pods.json'), `${JSON.stringify({ apiVersion: 'v1', kind: 'List', items: podItems }, null, 1)}\n`);
}

/** Builds the lab; on failure removes what it made and rethrows. */
export async function labUp(
  opts: LabOptions & {
    readonly manifests: string;
    readonly pods: number | undefined;
    readonly random: Random;
    /** false: no pod gets a process from the lab (the bench starts them where its agent sees them). Default: every other pod. */
    readonly podProcesses?: boolean;
  },
): Promise<LabState> {
  if (await readLabState(opts)) throw new Error(`lab "${opts.name}" is up; run "npm run lab -- down --name ${opts.name}" first`);
  const docs = await readManifestDocs(opts.manifests);
  const planned = planLab(docs, { pods: opts.pods, random: opts.random });
  const nads = planned.nads;
  const pods = opts.podProcesses === false ? planned.pods.map((p) => ({ ...p, withProcess: false })) : planned.pods;
  const stateDir = path.join(opts.stateRoot, opts.name);
  const state: LabState = {
    name: opts.name,
    node: `${prefix(opts.name)}node`,
    switch: `${prefix(opts.name)}switch`,
    stateDir,
    ipamDir: path.join(stateDir, 'ipam'),
    manifestsDir: path.join(stateDir, 'manifests'),
    masters: [],
    pods: [],
  };
  await mkdir(state.ipamDir, { recursive: true });
  await saveState(state);
  try {
    await buildNode(state, nads);
    for (const [i, plan] of pods.entries()) {
      await buildPod(state, plan, `${prefix(state.name)}p${i}`, nads, opts.cniPath);
      opts.log(`pod ${plan.namespace}/${plan.name}: ${state.pods[i]?.status.map((s) => `${s.interface}=${s.ips.join(',')}`).join(' ')}${plan.withProcess ? ` (process ${state.pods[i]?.pid})` : ' (no process)'}`);
    }
    await writeManifests(state, nads, pods);
    await saveState(state);
  } catch (err) {
    opts.log(`lab up failed: ${err instanceof Error ? err.message : String(err)}; removing what was made`);
    await labDown(opts);
    throw err;
  }
  return state;
}

async function readManifestDocs(p: string): Promise<unknown[]> {
  const { parseManifest } = await import('../collectors/manifests/manifest-source.js');
  const files = (await readdir(p)).filter((f) => /\.(ya?ml|json)$/.test(f)).sort();
  const docs: unknown[] = [];
  for (const f of files) {
    const parsed = parseManifest(await readFile(path.join(p, f), 'utf8'));
    if (!parsed.ok) throw new Error(`${path.join(p, f)}: ${parsed.error}`);
    docs.push(...parsed.value);
  }
  return docs;
}

async function killPodProcess(pid: number): Promise<void> {
  try {
    const cmd = await readFile(`/proc/${pid}/cmdline`, 'latin1');
    if (!cmd.startsWith('sleep')) return; // not ours any more
    process.kill(pid, 'SIGKILL');
  } catch {
    return; // already gone
  }
  for (let i = 0; i < 50 && existsSync(`/proc/${pid}`); i++) await new Promise((r) => setTimeout(r, 20));
}

/** Removes everything the lab made; safe to run twice, and after a crash. */
export async function labDown(opts: LabOptions): Promise<void> {
  const state = await readLabState(opts);
  const problems: string[] = [];
  for (const pod of [...(state?.pods ?? [])].reverse()) {
    for (const a of [...pod.attachments].reverse()) {
      await cniExec({ command: 'DEL', config: a.config, containerId: pod.containerId, netnsPath: `/run/netns/${pod.netns}`, ifname: a.ifname, args: cniArgs(pod), runIn: state?.node ?? '', cniPath: opts.cniPath }).catch(
        (err: unknown) => problems.push(String(err instanceof Error ? err.message : err)),
      );
    }
    if (pod.pid !== undefined) await killPodProcess(pod.pid);
    for (const d of [...pod.cgroupDirs].reverse()) await rmdir(d).catch(() => undefined);
  }
  // The kubepods parents it made, once the last pod is gone (rmdir fails on a cgroup still in use).
  if (state) await removeCgroupParents(state);
  // Sweep every namespace of this lab, recorded or not.
  const names = (await ip('netns', 'list')).split('\n').map((l) => l.split(' ')[0] ?? '').filter((n) => n.startsWith(prefix(opts.name)));
  for (const n of names) await ip('netns', 'del', n).catch((err: unknown) => problems.push(String(err)));
  await rm(path.join(opts.stateRoot, opts.name), { recursive: true, force: true });
  if (problems.length > 0) opts.log(`lab down: ${problems.length} step(s) reported errors (already gone?): ${problems.join('; ')}`);
}

/** What `lab pod add` makes: a pod with these labels asking for these networks. */
export interface LabPodRequest {
  readonly name: string;
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
  /** `k8s.v1.cni.cncf.io/networks`, either syntax. */
  readonly networks: string;
  /** A process in a kubepods cgroup (like a pause container), or only the bind mount. */
  readonly withProcess: boolean;
}

const podsFile = (state: LabState): string => path.join(state.manifestsDir, 'pods.json');

/** The NADs the lab was built with, as it wrote them (host-local leases under its state). */
export async function labNads(state: LabState): Promise<LabNad[]> {
  const list = JSON.parse(await readFile(path.join(state.manifestsDir, 'network-attachment-definitions.json'), 'utf8')) as { items: Record<string, unknown>[] };
  return planLab(list.items, { pods: 0, random: { uuid: () => '', hex: () => '', suffix: () => '' } }).nads;
}

/** Undoes one pod: CNI DEL of each attachment (unless skipped: its leases then stay, as after a crash), its process, cgroups and namespace. */
async function removePod(state: LabState, pod: PodState, cniPath: string, cniDel: boolean): Promise<string[]> {
  const problems: string[] = [];
  if (cniDel) {
    for (const a of [...pod.attachments].reverse()) {
      await cniExec({ command: 'DEL', config: a.config, containerId: pod.containerId, netnsPath: `/run/netns/${pod.netns}`, ifname: a.ifname, args: cniArgs(pod), runIn: state.node, cniPath }).catch((err: unknown) =>
        problems.push(String(err instanceof Error ? err.message : err)),
      );
    }
  }
  if (pod.pid !== undefined) await killPodProcess(pod.pid);
  for (const d of [...pod.cgroupDirs].reverse()) await rmdir(d).catch(() => undefined);
  await ip('netns', 'del', pod.netns).catch((err: unknown) => problems.push(String(err)));
  return problems;
}

/**
 * Adds a pod to a running lab, as the kubelet and Multus would: its namespace, eth0, one
 * interface per requested network with the NAD's real plugins; then adds it to the lab's
 * pods.json. A failed ADD (host-local's "no IP addresses available", ...) undoes what was made
 * and rejects with the plugin's message.
 */
export async function labPodAdd(opts: LabOptions & { readonly pod: LabPodRequest; readonly random: Random }): Promise<{ netns: string; status: readonly StatusEntry[] }> {
  const state = await readLabState(opts);
  if (!state) throw new Error(`lab "${opts.name}" is not up`);
  const req = opts.pod;
  if (state.pods.some((p) => p.name === req.name && p.namespace === req.namespace)) throw new Error(`pod ${req.namespace}/${req.name} exists`);
  const nads = await labNads(state);
  const requested = parseNetworksAnnotation(req.networks, req.namespace);
  if (!requested.ok) throw new Error(`--networks does not parse: ${requested.error}`);
  const annotations = { [NETWORKS_ANNOTATION]: req.networks };
  const plan: LabPodPlan = { name: req.name, namespace: req.namespace, uid: opts.random.uuid(), containerId: opts.random.hex(32), labels: req.labels, annotations, spec: {}, requested: requested.value, withProcess: req.withProcess };
  const used = new Set(state.pods.map((p) => p.netns));
  let index = 0;
  while (used.has(`${prefix(state.name)}p${index}`)) index++;
  try {
    await buildPod(state, plan, `${prefix(state.name)}p${index}`, nads, opts.cniPath);
  } catch (err) {
    const pod = state.pods.find((p) => p.name === req.name && p.namespace === req.namespace);
    if (pod) {
      await removePod(state, pod, opts.cniPath, true);
      state.pods.splice(state.pods.indexOf(pod), 1);
      await saveState(state);
    }
    throw err;
  }
  const pod = state.pods.find((p) => p.name === req.name && p.namespace === req.namespace) as PodState;
  const list = JSON.parse(await readFile(podsFile(state), 'utf8')) as { items: unknown[] };
  list.items.push(podItem(state, pod, plan));
  await writeFile(podsFile(state), `${JSON.stringify(list, null, 1)}\n`);
  opts.log(`pod ${pod.namespace}/${pod.name}: ${pod.status.map((x) => `${x.interface}=${x.ips.join(',')}`).join(' ')}${pod.pid !== undefined ? ` (process ${pod.pid})` : ' (no process)'}`);
  return { netns: pod.netns, status: pod.status };
}

/**
 * Removes a pod of a running lab and drops it from pods.json. `cniDel: false` skips the CNI DEL,
 * as when a node loses a sandbox without the runtime tearing it down: host-local's leases stay.
 */
export async function labPodDel(opts: LabOptions & { readonly pod: string; readonly namespace: string; readonly cniDel: boolean }): Promise<void> {
  const state = await readLabState(opts);
  if (!state) throw new Error(`lab "${opts.name}" is not up`);
  const pod = state.pods.find((p) => p.name === opts.pod && p.namespace === opts.namespace);
  if (!pod) throw new Error(`no pod ${opts.namespace}/${opts.pod} in lab "${opts.name}"`);
  const problems = await removePod(state, pod, opts.cniPath, opts.cniDel);
  state.pods.splice(state.pods.indexOf(pod), 1);
  await saveState(state);
  const list = JSON.parse(await readFile(podsFile(state), 'utf8')) as { items: { metadata: { name: string; namespace: string } }[] };
  list.items = list.items.filter((i) => !(i.metadata.name === opts.pod && i.metadata.namespace === opts.namespace));
  await writeFile(podsFile(state), `${JSON.stringify(list, null, 1)}\n`);
  opts.log(`pod ${opts.namespace}/${opts.pod} removed${opts.cniDel ? '' : ' without CNI DEL (its leases stay)'}${problems.length > 0 ? `; ${problems.join('; ')}` : ''}`);
}

/** One traffic run's figures. */
export interface TrafficReport {
  readonly iperf: { readonly network: string; readonly from: string; readonly to: string; readonly bitsPerSecond: number; readonly bytes: number } | undefined;
  readonly pings: { readonly network: string; readonly from: string; readonly to: string; readonly received: number; readonly sent: number }[];
}

const ipOf = (pod: PodState, network: string): string | undefined => pod.status.find((s) => s.name === network)?.ips[0];

/** iperf3 between two pods on one network, and a ping from every pod on each other network. */
export async function labTraffic(opts: LabOptions & { readonly network: string | undefined; readonly seconds: number; readonly bitrate: string }): Promise<TrafficReport> {
  const state = await readLabState(opts);
  if (!state) throw new Error(`lab "${opts.name}" is not up`);
  const networks = [...new Set(state.pods.flatMap((p) => p.status.filter((s) => !s.default).map((s) => s.name)))];
  const onNet = (n: string): PodState[] => state.pods.filter((p) => ipOf(p, n) !== undefined);
  const iperfNet = opts.network ? (networks.find((n) => n === opts.network || n.endsWith(`/${opts.network}`)) ?? opts.network) : (networks.find((n) => n.endsWith('/data-network')) ?? networks.find((n) => onNet(n).length >= 2));
  let iperf: TrafficReport['iperf'];
  if (iperfNet && onNet(iperfNet).length >= 2) {
    const [server, client] = onNet(iperfNet) as [PodState, PodState];
    const sip = ipOf(server, iperfNet) as string;
    const srv = spawn('ip', ['netns', 'exec', server.netns, 'iperf3', '-s', '-1', '-B', sip, '-p', '5201'], { stdio: 'ignore' });
    try {
      await new Promise((r) => setTimeout(r, 400));
      const { stdout } = await run('ip', ['netns', 'exec', client.netns, 'iperf3', '-c', sip, '-B', ipOf(client, iperfNet) as string, '-p', '5201', '-t', String(opts.seconds), '-b', opts.bitrate, '-J'], { encoding: 'utf8', maxBuffer: 16 << 20 });
      const sum = (JSON.parse(stdout) as { end: { sum_sent: { bits_per_second: number; bytes: number } } }).end.sum_sent;
      iperf = { network: iperfNet, from: client.name, to: server.name, bitsPerSecond: sum.bits_per_second, bytes: sum.bytes };
      opts.log(`iperf3 ${iperfNet}: ${client.name} -> ${server.name}: ${(sum.bits_per_second / 1e6).toFixed(1)} Mbit/s, ${sum.bytes} bytes`);
    } finally {
      srv.kill();
    }
  } else if (opts.network) {
    throw new Error(`network ${opts.network}: fewer than two pods to run iperf3 between`);
  }
  const pings: TrafficReport['pings'] = [];
  for (const n of networks.filter((x) => x !== iperfNet)) {
    const pods = onNet(n);
    const nadGateway = await gatewayOf(state, n);
    for (const [i, p] of pods.entries()) {
      const target = nadGateway ?? (pods.length > 1 ? ipOf(pods[(i + 1) % pods.length] as PodState, n) : undefined);
      if (!target) continue;
      const res = await run('ip', ['netns', 'exec', p.netns, 'ping', '-c', '3', '-i', '0.2', '-W', '1', '-I', p.status.find((s) => s.name === n)?.interface ?? '', target], { encoding: 'utf8' }).catch((e: { stdout?: string }) => ({ stdout: e.stdout ?? '' }));
      const m = /(\d+) packets transmitted, (\d+) received/.exec(res.stdout);
      pings.push({ network: n, from: p.name, to: target, sent: Number(m?.[1] ?? 0), received: Number(m?.[2] ?? 0) });
      opts.log(`ping ${n}: ${p.name} -> ${target}: ${m?.[2] ?? 0}/${m?.[1] ?? 0}`);
    }
  }
  return { iperf, pings };
}

async function gatewayOf(state: LabState, network: string): Promise<string | undefined> {
  for (const p of state.pods) {
    const a = p.attachments.find((x) => x.network === network);
    const gw = (a?.config.ipam as { gateway?: string } | undefined)?.gateway;
    if (gw) return gw;
  }
  return undefined;
}

/** A pod added to a running lab by {@link labAddPod}: its namespace and the interfaces made in it. */
export interface LabChurnPod {
  readonly name: string;
  /** The Pod's namespace (`churn` for a bare pod, which has no Pod object). */
  readonly namespace: string;
  readonly netns: string;
  /** Secondary interfaces: name → the `namespace/name` of its NAD and the host master. */
  readonly interfaces: readonly { readonly ifname: string; readonly network: string; readonly master: string }[];
  /** eth0 from the cluster network (`bridge`): a veth into the node namespace. Not on a bare pod. */
  readonly cluster: boolean;
  /** Its Pod object in the lab's manifests directory (one file per pod), with the network-status of its ADDs. */
  readonly manifest: string | undefined;
  /** The pid of its process in its kubepods cgroup, if it has one. */
  readonly pid: number | undefined;
}

/** What a churn pod is made from: a Deployment template's labels, annotations (with the networks annotation) and spec. */
export interface LabPodTemplate {
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly spec: Readonly<Record<string, unknown>>;
}

/** The Pod file of a churn pod in the lab's manifests directory. */
const churnManifest = (state: LabState, namespace: string, name: string): string => path.join(state.manifestsDir, `pod-${namespace}-${name}.json`);

/** Writes a file whole: to a temporary name the manifest reader does not take, then renamed over. */
async function writeAtomic(file: string, text: string): Promise<void> {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.tmp`);
  await writeFile(tmp, text);
  await rename(tmp, file);
}

/**
 * Adds one pod to a running lab, as pod churn would. Recorded in the state as it is made, so
 * `lab down` removes it.
 *
 * Without a template (bare): a namespace held by its bind mount only (no process, no manifest: the
 * agent sees an unknown namespace) and one interface per NAD, made by the NAD's own CNI plugin.
 *
 * With a template: as the kubelet and Multus make a pod of a Deployment. Its Pod object (the
 * template's labels and networks annotation, a nodeName) is written to the lab's manifests
 * directory, one file per pod, before the first ADD; then its namespace, a process in its
 * kubepods cgroup (when `pidnsOf` is given: in that process' PID namespace), eth0 from the
 * cluster network and one interface per requested network from the NAD's own plugin; then the
 * Pod is written again with the network-status of those ADDs (IPs and MACs), as Multus writes it.
 */
export async function labAddPod(
  opts: LabOptions & { readonly state: LabState; readonly nads: readonly LabNad[]; readonly pod: string; readonly random: Random; readonly template?: LabPodTemplate; readonly pidnsOf?: number },
): Promise<LabChurnPod> {
  const { state, template } = opts;
  const netns = `${prefix(state.name)}${opts.pod}`;
  if (template) {
    const requested = parseNetworksAnnotation(template.annotations[NETWORKS_ANNOTATION], template.namespace);
    if (!requested.ok) throw new Error(`template: ${NETWORKS_ANNOTATION} does not parse: ${requested.error}`);
    const plan: LabPodPlan = { name: opts.pod, namespace: template.namespace, uid: opts.random.uuid(), containerId: opts.random.hex(32), labels: template.labels, annotations: template.annotations, spec: template.spec, requested: requested.value, withProcess: opts.pidnsOf !== undefined };
    const manifest = churnManifest(state, plan.namespace, plan.name);
    const item = (p: Pick<PodState, 'name' | 'namespace' | 'uid' | 'status'>): string => `${JSON.stringify(podItem(state, p as PodState, plan), null, 1)}\n`;
    await writeAtomic(manifest, item({ name: plan.name, namespace: plan.namespace, uid: plan.uid, status: [] }));
    const pod = await buildPod(state, plan, netns, opts.nads, opts.cniPath, opts.pidnsOf);
    await writeAtomic(manifest, item(pod));
    const interfaces = pod.attachments
      .filter((a) => a.network !== 'cbr0')
      .map((a) => ({ ifname: a.ifname, network: a.network, master: String(a.config.master ?? '') }));
    return { name: opts.pod, namespace: plan.namespace, netns, interfaces, cluster: true, manifest, pid: pod.pid };
  }
  const pod: PodState = { name: opts.pod, namespace: 'churn', uid: opts.random.uuid(), containerId: opts.random.hex(32), netns, pid: undefined, cgroupDirs: [], attachments: [], status: [] };
  state.pods.push(pod);
  await saveState(state);
  await ip('netns', 'add', pod.netns);
  const interfaces: { ifname: string; network: string; master: string }[] = [];
  for (const [i, nad] of opts.nads.entries()) {
    const ifname = `net${i + 1}`;
    await addAttachment(state, pod, `${nad.namespace}/${nad.name}`, ifname, nad.config as Record<string, unknown>, false, opts.cniPath);
    interfaces.push({ ifname, network: `${nad.namespace}/${nad.name}`, master: String(nad.config.master ?? '') });
  }
  await saveState(state);
  return { name: opts.pod, namespace: pod.namespace, netns: pod.netns, interfaces, cluster: false, manifest: undefined, pid: undefined };
}

/**
 * Removes a pod {@link labAddPod} made: CNI DEL of each attachment (releasing its lease), its
 * process and cgroups, its namespace; then its Pod file, as the API drops the object after the
 * kubelet tore the sandbox down.
 */
export async function labRemovePod(opts: LabOptions & { readonly state: LabState; readonly pod: string }): Promise<void> {
  const { state } = opts;
  const index = state.pods.findIndex((p) => p.name === opts.pod);
  const pod = state.pods[index];
  if (!pod) throw new Error(`lab "${state.name}" has no pod ${opts.pod}`);
  const problems = await removePod(state, pod, opts.cniPath, true);
  await rm(churnManifest(state, pod.namespace, pod.name), { force: true });
  if (problems.length > 0) throw new Error(`removing pod ${opts.pod}: ${problems.join('; ')}`);
  state.pods.splice(index, 1);
  await saveState(state);
}
