/**
 * Root-only: the lab with the container runtime's view (CRI). A CRI test server on a unix socket
 * serves the lab's pods as a runtime would (sandbox id = the pod's container id, the network
 * namespace at its bind mount as containerd reports it, `/var/run/netns/...`; containerd's verbose
 * info with the pause pid for pods with a process, CRI-O's with the infra container dropped for
 * the others); the agent runs with --cri.endpoint and the lab's manifests, in one of which a pod
 * with no process has lost the MACs of its network-status. Every pod maps through the runtime;
 * with the runtime stopped the fallbacks hold (cgroup for pods with a process, network-status for
 * the others, nothing for the pod without MACs), and when it comes back all map through it again.
 */
import { execFile } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENT_BIN, doctorPodsIn, startAgentIn, type AgentProcess, type DoctorPod } from '../support/agent-process.js';
import { CriServer, type TestSandbox } from '../support/cri-server.js';
import type { ParsedSample } from '../support/exposition.js';
import { LAB_POSSIBLE, LAB_STATE_ROOT, requireLab, scrapeAgent, testLab } from '../support/lab.js';
import { ip } from '../support/netns.js';
import { until } from '../support/until.js';

const run = promisify(execFile);
const LAB = `ic${process.pid % 100000}`;
const theLab = testLab(LAB);
const NODE = theLab.node;
const lab = theLab.run;
const PORT = 19742;

requireLab('test/integration/lab-cri.test.ts');

interface LabStatePod {
  name: string;
  namespace: string;
  uid: string;
  containerId: string;
  netns: string;
  pid?: number;
}

describe.skipIf(!LAB_POSSIBLE)('the seed lab with the container runtime (CRI)', () => {
  let agent: AgentProcess | undefined;
  let server: CriServer | undefined;
  let workDir = '';
  let socket = '';
  let manifests = '';
  let pods: LabStatePod[] = [];
  /** The pod with no process whose network-status lost its MACs: only the runtime can map it. */
  let macless: LabStatePod;

  const scrape = (): Promise<ParsedSample[]> => scrapeAgent(NODE, agent, { fresh: true });
  const criUp = (samples: ParsedSample[]): number | undefined => samples.find((s) => s.name === 'multinet_scrape_collector_success' && s.labels.collector === 'cri')?.value;

  /** `multinet-agent doctor --output=json` with the same flags, run in the node namespace. */
  const doctor = (): Promise<Map<string, DoctorPod>> => doctorPodsIn(NODE, ['--manifests', manifests, '--cri.endpoint', `unix://${socket}`]);

  beforeAll(async () => {
    await lab('down');
    const up = await lab('up');
    if (up.code !== 0) throw new Error(`lab up failed: ${up.out}`);
    pods = (JSON.parse(await readFile(path.join(LAB_STATE_ROOT, LAB, 'state.json'), 'utf8')) as { pods: LabStatePod[] }).pods;
    macless = pods.find((p) => p.pid === undefined) as LabStatePod;

    workDir = await mkdtemp(path.join(tmpdir(), 'mna-lab-cri-'));
    manifests = path.join(workDir, 'manifests');
    await cp(path.join(LAB_STATE_ROOT, LAB, 'manifests'), manifests, { recursive: true });
    // ipvlan L3 and some CNIs write network-status without MACs: drop them from one pod's.
    const podsFile = path.join(manifests, 'pods.json');
    const list = JSON.parse(await readFile(podsFile, 'utf8')) as { items: { metadata: { name: string; annotations: Record<string, string> } }[] };
    const item = list.items.find((i) => i.metadata.name === macless.name);
    if (!item) throw new Error(`no manifest for ${macless.name}`);
    const key = 'k8s.v1.cni.cncf.io/network-status';
    item.metadata.annotations[key] = JSON.stringify((JSON.parse(item.metadata.annotations[key] ?? '[]') as Record<string, unknown>[]).map(({ mac: _mac, ...rest }) => rest));
    await writeFile(podsFile, JSON.stringify(list));

    socket = path.join(workDir, 'containerd.sock');
    server = await CriServer.start(socket);
    server.sandboxes = pods.map(
      (p): TestSandbox => ({
        id: p.containerId,
        namespace: p.namespace,
        name: p.name,
        uid: p.uid,
        netnsPath: `/var/run/netns/${p.netns}`,
        ...(p.pid !== undefined ? { layout: 'containerd', pid: p.pid } : { layout: 'cri-o-dropped-infra' }),
      }),
    );
    agent = await startAgentIn(NODE, PORT, ['--manifests', manifests, `--cri.endpoint=unix://${socket}`]);
  }, 120_000);

  afterAll(async () => {
    const errors: unknown[] = [];
    await agent?.stop().catch((e: unknown) => errors.push(e));
    await server?.close().catch((e: unknown) => errors.push(e));
    const down = await lab('down');
    if (workDir) await rm(workDir, { recursive: true, force: true });
    expect(errors).toEqual([]);
    expect(down.code).toBe(0);
    expect((await ip('netns', 'list')).includes(`mnlab-${LAB}-`)).toBe(false);
  }, 120_000);

  it('maps every lab pod through the runtime, also the one with no process and no MAC', async () => {
    expect(pods.some((p) => p.pid !== undefined)).toBe(true);
    expect(macless.pid).toBeUndefined();
    const report = await doctor();
    for (const p of pods) expect(report.get(p.netns), p.name).toMatchObject({ namespace: p.namespace, pod: p.name, mappedBy: 'cri', sandboxId: p.containerId });

    // The table says it too, one row per pod.
    const hex = pods.find((p) => p.name === 'hexagonal-app') as LabStatePod;
    const text = await run('ip', ['netns', 'exec', NODE, process.execPath, AGENT_BIN, 'doctor', '--manifests', manifests, '--cri.endpoint', `unix://${socket}`, '--log.level=error'], { encoding: 'utf8', maxBuffer: 16 << 20 }).then(
      (r) => r.stdout,
      (err: { stdout?: string }) => err.stdout ?? '',
    );
    expect(text).toMatch(/^POD\s+MAPPED BY\s+SANDBOX\s+NETNS\s+PROCESSES$/m);
    expect(text).toMatch(new RegExp(`^default/hexagonal-app\\s+cri\\s+${hex.containerId.slice(0, 13)}\\s+/run/netns/${hex.netns}\\s+1$`, 'm'));

    const samples = await scrape();
    expect(criUp(samples)).toBe(1);
    const podOf = new Set(samples.filter((s) => s.name === 'multinet_pod_interface_info').map((s) => s.labels.pod));
    expect([...podOf].filter((n) => n !== '').sort()).toEqual(pods.map((p) => p.name).sort());
    expect(agent?.stderr()).toMatch(/"runtime":"containerd","runtimeVersion":"v2.1.4","sandboxes":5,"afterOutage":false,"msg":"container runtime connected"/);
  });

  it('with the runtime away falls back in order: cgroup, network-status, nothing for the pod without MACs; then maps through it again', async () => {
    await server?.stop();
    try {
      // The agent notices at its next refresh (5 s), off the scrape path.
      await until('collector cri down', 30_000, async () => (criUp(await scrape()) === 0 ? true : undefined));
      const report = await doctor();
      for (const p of pods) {
        const want = p === macless ? { pod: '', mappedBy: 'none' } : p.pid !== undefined ? { pod: p.name, mappedBy: 'cgroup' } : { pod: p.name, mappedBy: 'network-status' };
        expect(report.get(p.netns), p.name).toMatchObject({ ...want, sandboxId: '' });
      }
      const samples = await scrape();
      const unmapped = samples.filter((s) => s.name === 'multinet_pod_interface_info' && s.labels.netns === macless.netns);
      expect(unmapped.length).toBeGreaterThan(0);
      expect(unmapped.every((s) => s.labels.pod === '')).toBe(true);
    } finally {
      await server?.restart();
    }
    // Reconnect with backoff (0.8 s doubling); then the whole list is read again.
    await until('collector cri back', 60_000, async () => (criUp(await scrape()) === 1 ? true : undefined));
    const report = await doctor();
    for (const p of pods) expect(report.get(p.netns), p.name).toMatchObject({ pod: p.name, mappedBy: 'cri', sandboxId: p.containerId });
    const samples = await scrape();
    expect(samples.filter((s) => s.name === 'multinet_pod_interface_info' && s.labels.netns === macless.netns)).toEqual([]);
    expect(samples.some((s) => s.name === 'multinet_pod_interface_info' && s.labels.pod === macless.name)).toBe(true);
    expect(agent?.stderr()).toMatch(/"afterOutage":true,"msg":"container runtime connected"/);
  }, 150_000);
});
