/**
 * Root-only: the seed scenario built by `npm run lab` with the real CNI plugins, the
 * agent running in the lab's node namespace with the lab's manifests. Every pod interface must be
 * exported with the right pod, network, kind and master, and counters equal to `ip -s -j link`
 * inside the pod after traffic stops; then the faults: a pod namespace that goes away, a
 * namespace with no pod, malformed annotations, a master set down (doctor exits 1).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENT_BIN, startAgentIn, type AgentProcess } from '../support/agent-process.js';
import { byLabel, type ParsedSample } from '../support/exposition.js';
import { counterFields, type IpLink } from '../support/iproute.js';
import { LAB_POSSIBLE, LAB_STATE_ROOT, labPods, requireLab, scrapeAgent, testLab, type LabPodState } from '../support/lab.js';
import { ip } from '../support/netns.js';

const run = promisify(execFile);
const LAB = `it${process.pid % 100000}`;
const STATE_ROOT = LAB_STATE_ROOT;
const theLab = testLab(LAB);
const NODE = theLab.node;
const lab = theLab.run;
const PORT = 19740;

requireLab('test/integration/lab.test.ts');

async function doctor(manifests: string): Promise<{ code: number; out: string }> {
  try {
    const r = await run('ip', ['netns', 'exec', NODE, process.execPath, AGENT_BIN, 'doctor', '--manifests', manifests, '--log.level=error'], { encoding: 'utf8', maxBuffer: 16 << 20 });
    return { code: 0, out: r.stdout };
  } catch (err) {
    const e = err as { code?: number; stdout?: string };
    return { code: e.code ?? -1, out: e.stdout ?? '' };
  }
}

const COUNTERS = counterFields('multinet_pod_interface');

const podSeries = (samples: ParsedSample[], name: string, pod: string): Map<string, ParsedSample> =>
  new Map(samples.filter((s) => s.name === name && s.labels.pod === pod).map((s) => [s.labels.interface ?? '', s]));

describe.skipIf(!LAB_POSSIBLE)('the seed lab', () => {
  let agent: AgentProcess | undefined;
  let extraManifests = '';
  let pods: LabPodState[] = [];

  const scrape = (): Promise<ParsedSample[]> => scrapeAgent(NODE, agent, { fresh: true });

  beforeAll(async () => {
    await lab('down');
    const up = await lab('up');
    if (up.code !== 0) throw new Error(`lab up failed: ${up.out}`);
    pods = await labPods(LAB);
    // A pod on this node whose annotations do not parse: reported, and nothing else disturbed.
    extraManifests = await mkdtemp(path.join(tmpdir(), 'mna-lab-extra-'));
    await writeFile(
      path.join(extraManifests, 'broken.yaml'),
      [
        'apiVersion: v1',
        'kind: Pod',
        'metadata:',
        '  name: broken-annotations',
        '  namespace: default',
        '  uid: 0b0b0b0b-1111-2222-3333-444444444444',
        '  annotations:',
        '    k8s.v1.cni.cncf.io/networks: "default/a/b@net1"',
        '    k8s.v1.cni.cncf.io/network-status: "[{not json"',
        'spec: {}',
        '',
      ].join('\n'),
    );
    agent = await startAgentIn(NODE, PORT, ['--manifests', path.join(STATE_ROOT, LAB, 'manifests'), '--manifests', extraManifests]);
  }, 120_000);

  afterAll(async () => {
    await agent?.stop();
    const down = await lab('down');
    if (extraManifests) await rm(extraManifests, { recursive: true, force: true });
    expect(down.code).toBe(0);
    expect((await ip('netns', 'list')).includes(`mnlab-${LAB}-`)).toBe(false);
  }, 120_000);

  it('builds the seed: five pods, the three networks on eth1..eth3', () => {
    expect(pods.map((p) => p.name.replace(/-[a-z0-9]{9}-[a-z0-9]{5}$/, '-*'))).toEqual(['order-service-*', 'order-service-*', 'order-service-*', 'order-db-*', 'hexagonal-app']);
    const hex = pods.find((p) => p.name === 'hexagonal-app');
    expect(hex?.status.map((s) => [s.name, s.interface])).toEqual([
      ['cbr0', 'eth0'],
      ['default/mgmt-network', 'net1'],
      ['default/data-network', 'net2'],
      ['default/storage-network', 'net3'],
    ]);
  });

  it('exports every pod interface with its pod, network, kind and master', async () => {
    const samples = await scrape();
    const masters: Record<string, string> = { 'default/mgmt-network': 'eth1', 'default/data-network': 'eth2', 'default/storage-network': 'eth3' };
    for (const p of pods) {
      const info = podSeries(samples, 'multinet_pod_interface_info', p.name);
      expect([...info.keys()].sort(), p.name).toEqual(p.status.map((s) => s.interface).sort());
      for (const s of p.status) {
        expect(info.get(s.interface)?.labels, `${p.name} ${s.interface}`).toEqual({
          namespace: 'default',
          pod: p.name,
          netns: '',
          interface: s.interface,
          network: s.name.split('/').pop(),
          network_namespace: 'default',
          kind: s.default ? 'veth' : 'macvlan',
          master: s.default ? '' : masters[s.name],
          mac: s.mac,
          pci_address: '',
          traffic_class: '',
          default: s.default ? 'true' : 'false',
        });
      }
      const missing = podSeries(samples, 'multinet_pod_network_attachment_missing', p.name);
      expect([...missing.values()].map((m) => m.value)).toEqual(p.status.filter((s) => !s.default).map(() => 0));
    }
    const attachments = byLabel(samples, 'multinet_host_interface_attachments', 'interface');
    expect(Object.fromEntries([...attachments].map(([k, v]) => [k, v.value]))).toEqual({ eth1: 1, eth2: 4, eth3: 5 });
  });

  it('counts traffic exactly as the kernel does inside each pod', async () => {
    const t = await lab('traffic', '--seconds', '2', '--bitrate', '50M');
    expect(t.code, t.out).toBe(0);
    expect(t.out).toMatch(/iperf3 default\/data-network: .* Mbit\/s/);
    expect(t.out).toMatch(/ping default\/mgmt-network: hexagonal-app -> 10\.10\.0\.1: 3\/3/);
    for (let attempt = 0; ; attempt++) {
      const before = await Promise.all(pods.map(async (p) => JSON.parse(await ip('-n', p.netns, '-s', '-j', 'link', 'show')) as IpLink[]));
      const samples = await scrape();
      const after = await Promise.all(pods.map(async (p) => JSON.parse(await ip('-n', p.netns, '-s', '-j', 'link', 'show')) as IpLink[]));
      // IPv6 neighbour discovery may still tick right after the links came up: compare a still picture.
      if (JSON.stringify(before) !== JSON.stringify(after)) {
        if (attempt < 10) continue;
        throw new Error('pod counters never settled');
      }
      let moved = 0;
      pods.forEach((p, k) => {
        for (const l of (after[k] ?? []).filter((x) => x.ifname !== 'lo')) {
          for (const [name, pick] of COUNTERS) {
            expect(podSeries(samples, name, p.name).get(l.ifname)?.value, `${name}{pod="${p.name}",interface="${l.ifname}"}`).toBe(pick(l));
          }
          expect(podSeries(samples, 'multinet_pod_interface_up', p.name).get(l.ifname)?.value).toBe(l.operstate === 'UP' ? 1 : 0);
          expect(podSeries(samples, 'multinet_pod_interface_mtu_bytes', p.name).get(l.ifname)?.value).toBe(l.mtu);
          if (l.stats64.tx.bytes > 1_000_000) moved++;
        }
      });
      expect(moved, 'the iperf3 client sent megabytes').toBeGreaterThan(0);
      break;
    }
  }, 60_000);

  it('exports a namespace with no pod under its netns name', async () => {
    const samples = await scrape();
    const sw = samples.filter((s) => s.name === 'multinet_pod_interface_info' && s.labels.netns === `mnlab-${LAB}-switch`);
    expect(sw.map((s) => [s.labels.pod, s.labels.interface]).sort()).toEqual([
      ['', 'br-eth1'],
      ['', 'br-eth2'],
      ['', 'br-eth3'],
      ['', 'sw-eth1'],
      ['', 'sw-eth2'],
      ['', 'sw-eth3'],
    ]);
  });

  it('reports malformed annotations and leaves the other pods alone', async () => {
    const samples = await scrape();
    const invalid = samples.filter((s) => s.name === 'multinet_pod_network_annotation_invalid');
    expect(invalid.map((s) => [s.labels.pod, s.labels.annotation, s.value])).toEqual([
      ['broken-annotations', 'k8s.v1.cni.cncf.io/networks', 1],
      ['broken-annotations', 'k8s.v1.cni.cncf.io/network-status', 1],
    ]);
    expect(new Set(samples.filter((s) => s.name === 'multinet_pod_interface_info' && s.labels.pod !== '').map((s) => s.labels.pod))).toEqual(new Set(pods.map((p) => p.name)));
  });

  it('doctor: clean on the seed, exit 1 with the master named when eth2 goes down', async () => {
    const manifests = path.join(STATE_ROOT, LAB, 'manifests');
    const clean = await doctor(manifests);
    expect(clean.out).toContain('No problems found.');
    expect(clean.code).toBe(0);
    expect(clean.out).toMatch(/pod default\/hexagonal-app [^\n]*\n(?:[^\n]*\n){2}net1\s+mgmt-network\s+macvlan\s+eth1\s+up/);
    await ip('-n', NODE, 'link', 'set', 'eth2', 'down');
    try {
      const broken = await doctor(manifests);
      expect(broken.code).toBe(1);
      expect(broken.out).toContain('[master-down] default/hexagonal-app: master eth2 is down');
      expect(broken.out).toContain('[interface-down] default/hexagonal-app: net2 interface down');
      expect(broken.out).not.toContain('eth1 is down');
    } finally {
      await ip('-n', NODE, 'link', 'set', 'eth2', 'up');
    }
  }, 60_000);

  it('host interface readiness: eth2 down is seen at once, and back', async () => {
    const ready = (samples: ParsedSample[]): Record<string, number> =>
      Object.fromEntries(samples.filter((x) => x.name === 'multinet_host_interface_ready').map((x) => [x.labels.interface, x.value]));
    let samples = await scrape();
    expect(ready(samples)).toEqual({ eth1: 1, eth2: 1, eth3: 1 });
    expect(samples.filter((x) => x.name === 'multinet_host_interface_required').map((x) => `${x.labels.interface} ${x.labels.network_namespace}/${x.labels.network}`).sort()).toEqual([
      'eth1 default/mgmt-network',
      'eth2 default/data-network',
      'eth3 default/storage-network',
    ]);
    const logged = (agent?.stderr() ?? '').length;
    await ip('-n', NODE, 'link', 'set', 'eth2', 'down');
    try {
      samples = await scrape();
      expect(ready(samples)).toEqual({ eth1: 1, eth2: 0, eth3: 1 });
      // The link event reached the agent's readiness monitor without waiting for a scrape.
      const log = (agent?.stderr() ?? '').slice(logged);
      expect(log).toMatch(/"interface":"eth2","ready":false,"reason":"admin down","msg":"host interface readiness changed"/);
    } finally {
      await ip('-n', NODE, 'link', 'set', 'eth2', 'up');
    }
    await new Promise((r) => setTimeout(r, 200));
    expect(ready(await scrape())).toEqual({ eth1: 1, eth2: 1, eth3: 1 });
    expect((agent?.stderr() ?? '').slice(logged)).toMatch(/"interface":"eth2","ready":true,"reason":"","msg":"host interface readiness changed"/);
  });

  it('maps pods with a process by cgroup and the others by network-status', async () => {
    const r = await run('ip', ['netns', 'exec', NODE, process.execPath, AGENT_BIN, 'doctor', '--output=json', '--manifests', path.join(STATE_ROOT, LAB, 'manifests'), '--log.level=error'], { encoding: 'utf8', maxBuffer: 16 << 20 });
    const report = JSON.parse(r.stdout) as { pods: { pod: string; mappedBy: string; interfaces: { interface: string; addresses: { address: string }[] }[] }[] };
    for (const p of pods) {
      const got = report.pods.find((x) => x.pod === p.name);
      expect(got?.mappedBy, p.name).toBe(p.pid !== undefined ? 'cgroup' : 'network-status');
      // Where a process exists, addresses come from the namespace itself and match what IPAM gave.
      if (p.pid !== undefined) {
        for (const s of p.status) expect(got?.interfaces.find((i) => i.interface === s.interface)?.addresses.map((a) => a.address)).toEqual(s.ips);
      }
    }
  });

  it('drops a pod\'s series on the first scrape after its namespace is gone', async () => {
    const victim = pods.find((p) => p.pid === undefined) as LabPodState;
    expect((await scrape()).some((s) => s.labels.pod === victim.name)).toBe(true);
    await ip('netns', 'del', victim.netns);
    const samples = await scrape();
    expect(samples.filter((s) => s.labels.pod === victim.name)).toEqual([]);
    expect(samples.some((s) => s.labels.pod === 'hexagonal-app')).toBe(true);
  });
});
