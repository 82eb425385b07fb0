/**
 * Root-only: the CRI adapter against a REAL containerd (Debian's, with runc), not a test server.
 * The test starts containerd with its own config, root, state and socket in a network namespace
 * of its own (the node), runs pod sandboxes through the CRI as the kubelet does (RunPodSandbox;
 * containerd's CNI gives each its eth0 on a bridge in the node), and adds each sandbox's secondary
 * interface the way Multus does: the real macvlan plugin with CNI_NETNS = the sandbox's netns path
 * as the runtime reports it. The agent, given --cri.endpoint and no other source of pod identity
 * (the pods' manifests request the network but carry no network-status, so no MACs; the sandboxes'
 * cgroup parent names no pod), maps every sandbox and its interface's network; after containerd
 * is restarted (SIGTERM, then SIGKILL: its shims keep the sandboxes running) the mapping comes
 * back; a stopped sandbox's series vanish. The CRI test server (lab-cri, cri-client tests) keeps
 * CRI-O's layout and the failures a real runtime will not produce on demand.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENT_BIN, doctorPodsIn, startAgentIn, type AgentProcess, type DoctorPod } from '../support/agent-process.js';
import { buildPauseArchive, CNI_BIN_DIR, Containerd, criCall, criRuntimeClient, requireContainerd, type CriRuntimeClient } from '../support/containerd.js';
import type { ParsedSample } from '../support/exposition.js';
import { scrapeAgent } from '../support/lab.js';
import { missingDirs, removeEmptyDirs } from '../support/host-dirs.js';
import { createNetns, deleteNetns, ip } from '../support/netns.js';
import { until } from '../support/until.js';

const run = promisify(execFile);
const POSSIBLE = requireContainerd('test/integration/containerd-cri.test.ts');
const TAG = `ctrd${process.pid % 100000}`;
const NODE = `mna-${TAG}-node`;
const CGROUP_PARENT = `/mna-${TAG}`;
const PAUSE_IMAGE = 'multinet-test.local/pause:3.9';
const PORT = 19747;
const MASTER = 'ctrdm0';
const SUITE_START = Date.now();
/** containerd's CNI library caches each sandbox's result under /var/lib/cni/results (removed with the sandbox). */
const CNI_CACHE_CREATED = missingDirs('/var/lib/cni/results');

interface Sandbox {
  name: string;
  namespace: string;
  uid: string;
  id: string;
  netnsPath: string;
  pid: number;
  /** The secondary interface's address (macvlan, static IPAM). */
  address: string;
}

describe.skipIf(!POSSIBLE)('a real containerd through the CRI', () => {
  let dir = '';
  let containerd: Containerd | undefined;
  let cri: CriRuntimeClient | undefined;
  let agent: AgentProcess | undefined;
  const sandboxes: Sandbox[] = [];
  let manifests = '';
  const started: string[] = [];

  const scrape = (): Promise<ParsedSample[]> => scrapeAgent(NODE, agent, { fresh: true });
  const criUp = (samples: ParsedSample[]): number | undefined => samples.find((s) => s.name === 'multinet_scrape_collector_success' && s.labels.collector === 'cri')?.value;
  const socket = (): string => containerd?.socket ?? '';

  const doctor = (): Promise<Map<string, DoctorPod>> => doctorPodsIn(NODE, ['--manifests', manifests, '--node-name', NODE, '--cri.endpoint', `unix://${socket()}`]);

  /** The info series of the sandbox's macvlan: by its pod when mapped, by its namespace's name (the netns label, set only then) when not. */
  const net1Of = (samples: ParsedSample[], s: Sandbox): ParsedSample[] =>
    samples.filter((x) => x.name === 'multinet_pod_interface_info' && x.labels.interface === 'net1' && ((x.labels.pod === s.name && x.labels.namespace === s.namespace) || x.labels.netns === path.basename(s.netnsPath)));

  /** The secondary network's NAD config; Multus adds the pod's address (runtimeConfig) as the static IPAM's. */
  const NAD_CONFIG = { cniVersion: '0.4.0', name: 'ctrd-macvlan', type: 'macvlan', master: MASTER, mode: 'bridge', ipam: { type: 'static' } };

  /** The macvlan plugin, run in the node (where its master is) as Multus runs a delegate. */
  async function cni(command: 'ADD' | 'DEL', s: Sandbox): Promise<void> {
    const conf = { ...NAD_CONFIG, ipam: { type: 'static', addresses: [{ address: `${s.address}/24` }] } };
    const child = execFile('ip', ['netns', 'exec', NODE, path.join(CNI_BIN_DIR, 'macvlan')], {
      env: { PATH: process.env.PATH, CNI_COMMAND: command, CNI_CONTAINERID: s.id, CNI_NETNS: s.netnsPath, CNI_IFNAME: 'net1', CNI_PATH: CNI_BIN_DIR },
      encoding: 'utf8',
    });
    child.stdin?.end(JSON.stringify(conf));
    let out = '';
    child.stdout?.on('data', (d: string) => (out += d));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    if (code !== 0) throw new Error(`macvlan ${command} for ${s.name}: exit ${code}: ${out}`);
  }

  async function runSandbox(name: string, i: number): Promise<Sandbox> {
    if (!cri) throw new Error('no CRI client');
    const config = {
      metadata: { name, uid: `0000-${TAG}-${i}`, namespace: i % 2 ? 'telco' : 'default', attempt: 0 },
      hostname: name,
      labels: { app: name },
      linux: { cgroup_parent: CGROUP_PARENT, security_context: { namespace_options: { network: 'POD', pid: 'CONTAINER', ipc: 'POD' } } },
    };
    const { pod_sandbox_id: id } = await criCall<{ pod_sandbox_id: string }>(cri, 'RunPodSandbox', { config });
    started.push(id);
    const status = await criCall<{ info: Record<string, string> }>(cri, 'PodSandboxStatus', { pod_sandbox_id: id, verbose: true });
    const info = JSON.parse(status.info.info ?? '{}') as { pid: number; runtimeSpec: { linux: { namespaces: { type: string; path?: string }[] } } };
    const netnsPath = info.runtimeSpec.linux.namespaces.find((n) => n.type === 'network')?.path ?? '';
    expect(netnsPath).toMatch(/^\/var\/run\/netns\/cni-/);
    return { name, namespace: config.metadata.namespace, uid: config.metadata.uid, id, netnsPath, pid: info.pid, address: `10.78.0.${10 + i}` };
  }

  beforeAll(async () => {
    const t0 = Date.now();
    deleteNetns(NODE);
    dir = await mkdtemp(path.join(tmpdir(), 'mna-ctrd-'));
    await createNetns(NODE);
    // The secondary network's master: one end of a veth pair (this kernel has no dummy driver).
    await ip('-n', NODE, 'link', 'add', MASTER, 'type', 'veth', 'peer', 'name', `${MASTER}p`);
    for (const l of [MASTER, `${MASTER}p`]) await ip('-n', NODE, 'link', 'set', l, 'up');
    const archive = await buildPauseArchive(path.join(dir, 'pause'), PAUSE_IMAGE);
    containerd = await Containerd.start({ dir: path.join(dir, 'ctrd'), netns: NODE, sandboxImage: PAUSE_IMAGE, pauseArchive: archive, bridge: 'ctrdbr0', subnet: '10.77.0.0/24' });
    cri = criRuntimeClient(containerd.socket);
    for (const [i, name] of ['upf-0', 'smf-0', 'amf-0'].entries()) {
      const s = await runSandbox(name, i);
      sandboxes.push(s);
      await cni('ADD', s);
    }
    // The pods as the kube API would serve them before Multus wrote their network-status.
    manifests = path.join(dir, 'manifests');
    await mkdir(manifests);
    const pod = (s: Sandbox): object => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: s.name, namespace: s.namespace, uid: s.uid, annotations: { 'k8s.v1.cni.cncf.io/networks': 'default/ctrd-macvlan' } },
      spec: { nodeName: NODE },
    });
    const nad = { apiVersion: 'k8s.cni.cncf.io/v1', kind: 'NetworkAttachmentDefinition', metadata: { name: 'ctrd-macvlan', namespace: 'default' }, spec: { config: JSON.stringify(NAD_CONFIG) } };
    await writeFile(path.join(manifests, 'pods.json'), JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [...sandboxes.map(pod), nad] }));
    agent = await startAgentIn(NODE, PORT, ['--manifests', manifests, '--node-name', NODE, `--cri.endpoint=unix://${containerd.socket}`]);
    console.log(`containerd suite: containerd up, ${sandboxes.length} sandboxes and the agent in ${Date.now() - t0} ms`);
  }, 180_000);

  afterAll(async () => {
    const errors: unknown[] = [];
    await agent?.stop().catch((e: unknown) => errors.push(e));
    // As the kubelet tears a pod down: the runtime stops it (CNI DEL of its own network, the netns removed), then removes it.
    if (cri && containerd?.pid !== undefined) {
      for (const id of started) {
        await criCall(cri, 'StopPodSandbox', { pod_sandbox_id: id }).catch((e: unknown) => errors.push(e));
        await criCall(cri, 'RemovePodSandbox', { pod_sandbox_id: id }).catch((e: unknown) => errors.push(e));
      }
    }
    cri?.close();
    const leftovers = containerd ? await containerd.destroy(CGROUP_PARENT) : [];
    // A sandbox containerd could not remove leaves its netns bind mount behind.
    for (const s of sandboxes) {
      if ((await ip('netns', 'list')).includes(path.basename(s.netnsPath))) {
        leftovers.push(`netns ${s.netnsPath}`);
        await run('umount', [s.netnsPath]).catch(() => undefined);
        deleteNetns(path.basename(s.netnsPath));
      }
    }
    deleteNetns(NODE);
    if (dir) await rm(dir, { recursive: true, force: true });
    expect(removeEmptyDirs(CNI_CACHE_CREATED)).toEqual([]);
    expect(errors).toEqual([]);
    expect(leftovers).toEqual([]);
    expect((await ip('netns', 'list')).includes(NODE)).toBe(false);
    console.log(`containerd suite: ${((Date.now() - SUITE_START) / 1000).toFixed(1)} s in all`);
  }, 120_000);

  it('maps every sandbox through the runtime alone, with its secondary interface', async () => {
    const report = await doctor();
    for (const s of sandboxes) expect(report.get(path.basename(s.netnsPath)), s.name).toMatchObject({ namespace: s.namespace, pod: s.name, mappedBy: 'cri', sandboxId: s.id });
    const samples = await scrape();
    expect(criUp(samples)).toBe(1);
    // The refresh off the scrape path is what the cri collector costs: measured, so never 0 against a real runtime.
    expect(samples.find((s) => s.name === 'multinet_scrape_collector_duration_seconds' && s.labels.collector === 'cri')?.value).toBeGreaterThan(0);
    for (const s of sandboxes) {
      const net1 = net1Of(samples, s);
      expect(net1.length, s.name).toBe(1);
      expect(net1[0]?.labels).toMatchObject({ namespace: s.namespace, pod: s.name, network: 'ctrd-macvlan' });
    }
    expect(agent?.stderr()).toMatch(/"runtime":"containerd","runtimeVersion":"[^"]+","sandboxes":3,"afterOutage":false,"msg":"container runtime connected"/);
  });

  it('doctor without --manifests still says what the runtime said: pod name, sandbox id, netns path', async () => {
    const text = await run('ip', ['netns', 'exec', NODE, process.execPath, AGENT_BIN, 'doctor', '--cri.endpoint', `unix://${socket()}`, '--log.level=error'], { encoding: 'utf8', maxBuffer: 16 << 20 }).then(
      (r) => r.stdout,
      (err: { stdout?: string }) => err.stdout ?? '',
    );
    for (const s of sandboxes) {
      const row = text.split('\n').find((l) => l.startsWith(`${s.namespace}/${s.name} (runtime) `));
      expect(row, `${s.name} in\n${text}`).toBeDefined();
      expect(row).toMatch(new RegExp(`\\s${s.id.slice(0, 13)}\\s+/run/netns/${path.basename(s.netnsPath)}\\s`));
      expect(text).toContain(`runtime sandbox ${s.id.slice(0, 13)} of ${s.namespace}/${s.name}`);
    }
  });

  for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
    it(`maps them again after containerd is restarted (${signal})`, async () => {
      if (!containerd) throw new Error('no containerd');
      const t0 = Date.now();
      await containerd.kill(signal);
      // The shims hold the sandboxes: their pause processes outlive containerd.
      for (const s of sandboxes.filter((x) => started.includes(x.id))) expect(() => process.kill(s.pid, 0), s.name).not.toThrow();
      await until('collector cri down', 30_000, async () => (criUp(await scrape()) === 0 ? true : undefined));
      // Nothing else names these pods: without the runtime they are unmapped (the stale list is not used).
      const away = await doctor();
      for (const s of sandboxes) expect(away.get(path.basename(s.netnsPath)), s.name).toMatchObject({ pod: '', mappedBy: 'none', sandboxId: '' });
      await containerd.launch();
      await until('collector cri back', 60_000, async () => (criUp(await scrape()) === 1 ? true : undefined));
      console.log(`containerd suite: after ${signal}, mapped through the runtime again ${Date.now() - t0} ms after the kill`);
      const report = await doctor();
      for (const s of sandboxes) expect(report.get(path.basename(s.netnsPath)), s.name).toMatchObject({ pod: s.name, mappedBy: 'cri', sandboxId: s.id });
      const samples = await scrape();
      for (const s of sandboxes) expect(net1Of(samples, s)[0]?.labels.pod, s.name).toBe(s.name);
      expect(agent?.stderr()).toMatch(/"afterOutage":true,"msg":"container runtime connected"/);
    }, 150_000);
  }

  it("drops a stopped sandbox's series, then it is removed", async () => {
    if (!cri) throw new Error('no CRI client');
    const gone = sandboxes[0] as Sandbox;
    await cni('DEL', gone);
    await criCall(cri, 'StopPodSandbox', { pod_sandbox_id: gone.id });
    await until(`${gone.name}'s series gone`, 30_000, async () => {
      const samples = await scrape();
      return samples.some((s) => s.labels.pod === gone.name) || samples.some((s) => s.labels.netns === path.basename(gone.netnsPath)) ? undefined : samples;
    });
    const report = await doctor();
    expect(report.has(path.basename(gone.netnsPath))).toBe(false);
    for (const s of sandboxes.slice(1)) expect(report.get(path.basename(s.netnsPath)), s.name).toMatchObject({ pod: s.name, mappedBy: 'cri' });
    await criCall(cri, 'RemovePodSandbox', { pod_sandbox_id: gone.id });
    started.splice(started.indexOf(gone.id), 1);
    const samples = await scrape();
    for (const s of sandboxes.slice(1)) expect(net1Of(samples, s)[0]?.labels.pod, s.name).toBe(s.name);
  }, 60_000);
});
