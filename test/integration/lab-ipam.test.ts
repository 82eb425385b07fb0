/**
 * Root-only: issue 7's faults on the seed lab, with the real CNI plugins (macvlan + host-local)
 * and the agent in kube mode against the kube API test server (reached over bridge slot 3), so
 * that each fault shows as a metric, an Event at the API and a doctor finding:
 * the correct seed reports nothing; a small host-local range exhausted by real ADDs; a lease
 * left behind by a sandbox lost without CNI DEL; a route inside a pod sending the storage subnet
 * out of eth0; a pod attached to the storage network against its NAD's policy.
 */
import { execFile } from 'node:child_process';
import { cp, mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENT_BIN, startAgentIn, type AgentProcess } from '../support/agent-process.js';
import type { ParsedSample } from '../support/exposition.js';
import { KubeApiServer, type KubeObject } from '../support/kube-api-server.js';
import { bridgeToNetns, type NetnsBridge } from '../support/netns-bridge.js';
import { LAB_POSSIBLE, LAB_STATE_ROOT, labPods, requireLab, scrapeAgent, testLab, TINY_NAD, type LabPodState } from '../support/lab.js';
import { ip } from '../support/netns.js';
import { until as untilEvery } from '../support/until.js';
import { problemKey, problemSeries } from '../support/problem-series.js';
import { PROBLEM_REASON } from '../../agent/runtime/readiness-monitor.js';

const until = <T>(what: string, timeoutMs: number, probe: () => T | undefined | Promise<T | undefined>): Promise<T> => untilEvery(what, timeoutMs, probe, 250);

const run = promisify(execFile);
const LAB = `iq${process.pid % 100000}`;
const theLab = testLab(LAB);
const NODE = theLab.node;
const lab = theLab.run;
const PORT = 19742;
const SEED = new URL('../../lab/manifests/seed', import.meta.url).pathname;
const LAB_DIR = path.join(LAB_STATE_ROOT, LAB);
const MANIFESTS = path.join(LAB_DIR, 'manifests');

requireLab('test/integration/lab-ipam.test.ts');

async function doctor(...flags: string[]): Promise<{ code: number; out: string }> {
  try {
    const r = await run('ip', ['netns', 'exec', NODE, process.execPath, AGENT_BIN, 'doctor', '--manifests', MANIFESTS, '--log.level=error', ...flags], { encoding: 'utf8', maxBuffer: 16 << 20 });
    return { code: 0, out: r.stdout };
  } catch (err) {
    const e = err as { code?: number; stdout?: string };
    return { code: e.code ?? -1, out: e.stdout ?? '' };
  }
}

const value = (samples: ParsedSample[], name: string, labels: Record<string, string>): number | undefined =>
  samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;

describe.skipIf(!LAB_POSSIBLE)('IPAM, routes and attachment policy on the seed lab', () => {
  let server: KubeApiServer | undefined;
  let bridge: NetnsBridge | undefined;
  let agent: AgentProcess | undefined;
  let workDir = '';

  const scrape = (): Promise<ParsedSample[]> => scrapeAgent(NODE, agent, { fresh: true });
  /** Warning events at the API for an object, by reason. */
  const events = (kind: string, name: string, reason: string): { message: string }[] =>
    (server?.events() ?? [])
      .filter((e) => (e.involvedObject as { kind?: string; name?: string }).kind === kind && (e.involvedObject as { name?: string }).name === name && e.reason === reason)
      .map((e) => ({ message: String(e.message) }));
  /** Puts the lab's pods that the API does not have yet into it. */
  const syncPods = async (): Promise<void> => {
    const pods = JSON.parse(await readFile(path.join(MANIFESTS, 'pods.json'), 'utf8')) as { items: KubeObject[] };
    for (const p of pods.items) if (!server?.get('pods', 'default', String(p.metadata.name))) server?.create('pods', p);
  };

  beforeAll(async () => {
    await lab('down');
    workDir = await mkdtemp(path.join(tmpdir(), 'mna-ipam-'));
    const manifests = path.join(workDir, 'manifests');
    await cp(SEED, manifests, { recursive: true });
    await writeFile(path.join(manifests, 'tiny-network.yaml'), TINY_NAD);
    const up = await lab('up', '--manifests', manifests);
    if (up.code !== 0) throw new Error(`lab up failed: ${up.out}`);
    bridge = await bridgeToNetns(NODE, 3);
    server = await KubeApiServer.start({ host: bridge.hostAddress });
    const nads = JSON.parse(await readFile(path.join(MANIFESTS, 'network-attachment-definitions.json'), 'utf8')) as { items: KubeObject[] };
    for (const n of nads.items) server.create('network-attachment-definitions', n);
    await syncPods();
    const kubeconfig = path.join(workDir, 'kubeconfig');
    await writeFile(
      kubeconfig,
      ['apiVersion: v1', 'kind: Config', `clusters: [{name: test, cluster: {server: "${server.url}", insecure-skip-tls-verify: true}}]`, 'users: [{name: u, user: {token: t}}]', 'contexts: [{name: test, context: {cluster: test, user: u}}]', 'current-context: test', ''].join('\n'),
    );
    agent = await startAgentIn(NODE, PORT, [`--kubeconfig=${kubeconfig}`], 30_000, { NODE_NAME: NODE });
  }, 180_000);

  afterAll(async () => {
    await agent?.stop();
    await server?.close();
    await bridge?.remove();
    const down = await lab('down');
    if (workDir) await rm(workDir, { recursive: true, force: true });
    expect(down.code).toBe(0);
    expect((await ip('netns', 'list')).includes(`mnlab-${LAB}-`)).toBe(false);
  }, 120_000);

  it('the correct seed: allocations as host-local made them, nothing leaked, every route and attachment right, doctor clean', async () => {
    const samples = await scrape();
    const ipam = (name: string) =>
      Object.fromEntries(samples.filter((s) => s.name === `multinet_ipam_addresses_${name}`).map((s) => [`${s.labels.network} ${s.labels.range}`, s.value]));
    expect(ipam('allocated')).toEqual({
      'mgmt-network 10.10.0.100-10.10.0.200': 1,
      'data-network 10.20.0.100-10.20.0.200': 4,
      'storage-network 10.30.0.100-10.30.0.200': 5,
      'tiny-network 10.40.0.2-10.40.0.4': 0,
    });
    expect(ipam('capacity')).toEqual({
      'mgmt-network 10.10.0.100-10.10.0.200': 101,
      'data-network 10.20.0.100-10.20.0.200': 101,
      'storage-network 10.30.0.100-10.30.0.200': 101,
      'tiny-network 10.40.0.2-10.40.0.4': 3,
    });
    expect(Object.values(ipam('leaked'))).toEqual([0, 0, 0, 0]);
    expect(value(samples, 'multinet_scrape_collector_success', { collector: 'ipam' })).toBe(1);

    // Routes are read where a process makes that possible: every pod with one, every secondary interface.
    const pods = await labPods(LAB);
    const withProcess = pods.filter((p) => p.pid !== undefined);
    const routes = samples.filter((s) => s.name === 'multinet_pod_interface_route_mismatch');
    expect(routes.map((s) => `${s.labels.pod} ${s.labels.interface} ${s.value}`).sort()).toEqual(
      withProcess.flatMap((p) => p.status.filter((s) => s.name !== 'cbr0').map((s) => `${p.name} ${s.interface} 0`)).sort(),
    );
    // Every storage attachment is checked against the policy, and allowed.
    const policy = samples.filter((s) => s.name === 'multinet_pod_network_policy_violation');
    expect(policy.map((s) => `${s.labels.pod} ${s.labels.network} ${s.labels.interface} ${s.value}`).sort()).toEqual(
      pods.flatMap((p) => p.status.filter((s) => s.name === 'default/storage-network').map((s) => `${p.name} storage-network ${s.interface} 0`)).sort(),
    );
    expect(value(samples, 'multinet_network_attachment_definition_info', { network: 'storage-network' })).toBe(1);
    expect(samples.find((s) => s.name === 'multinet_network_attachment_definition_info' && s.labels.network === 'storage-network')?.labels.policy).toBe('hexagonal.io/adapter in (database)');
    expect(samples.filter((s) => s.name === 'multinet_network_attachment_definition_invalid').map((s) => s.value)).toEqual([0, 0, 0, 0]);

    const d = await doctor();
    expect(d.out).toContain('No problems found.');
    expect(d.code).toBe(0);
    expect(d.out).toMatch(/storage-network\s+10\.30\.0\.100-10\.30\.0\.200\s+5\s+101\s+0/);
    expect((server?.events() ?? []).filter((e) => e.type === 'Warning')).toEqual([]);
  }, 60_000);

  it('exhausting a small range with the real host-local: allocated equals capacity, Event on the NAD, doctor', async () => {
    const added: string[] = [];
    let failure = '';
    for (let i = 0; i < 5 && failure === ''; i++) {
      const r = await lab('pod', 'add', '--pod', `tiny-${i}`, '--networks', 'tiny-network@net1', '--labels', 'app=tiny');
      if (r.code === 0) added.push(`tiny-${i}`);
      else failure = r.out;
    }
    expect(added).toEqual(['tiny-0', 'tiny-1', 'tiny-2']);
    expect(failure).toContain('no IP addresses available in range set: 10.40.0.2-10.40.0.4');
    const samples = await scrape();
    expect(value(samples, 'multinet_ipam_addresses_allocated', { network: 'tiny-network' })).toBe(3);
    expect(value(samples, 'multinet_ipam_addresses_capacity', { network: 'tiny-network' })).toBe(3);
    expect(value(samples, 'multinet_ipam_addresses_leaked', { network: 'tiny-network' })).toBe(0);
    const ev = await until('IpamRangeExhausted', 30_000, async () => events('NetworkAttachmentDefinition', 'tiny-network', 'IpamRangeExhausted')[0]);
    expect(ev.message).toContain('host-local range 10.40.0.2-10.40.0.4 of network tiny-network is full on this node: 3 of 3 addresses allocated');
    const d = await doctor();
    expect(d.code).toBe(1);
    expect(d.out).toContain('[ipam-exhausted] nad default/tiny-network: host-local range 10.40.0.2-10.40.0.4 of network tiny-network is full on this node: 3 of 3');
  }, 90_000);

  it('a sandbox lost without CNI DEL leaves leases: leaked once past the grace period, Event on the NAD, doctor', async () => {
    const victim = (await labPods(LAB)).find((p) => p.pid === undefined && p.name.startsWith('order-service-')) as LabPodState;
    const del = await lab('pod', 'del', '--pod', victim.name, '--cni-del', 'no');
    expect(del.code, del.out).toBe(0);
    server?.delete('pods', 'default', victim.name);
    // Its leases, made at lab up, are aged past the 2 minute grace period: the files, not the clock.
    const ipamDir = path.join(LAB_DIR, 'ipam');
    const leases: string[] = [];
    for (const net of await readdir(ipamDir)) {
      for (const f of await readdir(path.join(ipamDir, net))) {
        const file = path.join(ipamDir, net, f);
        if ((await readFile(file, 'latin1')).startsWith(victim.containerId)) leases.push(`${net}/${f}`);
      }
    }
    expect(leases.map((l) => l.split('/')[0]).sort()).toEqual(['cbr0', 'data-network', 'storage-network']);
    const old = new Date(Date.now() - 10 * 60_000);
    for (const l of leases) await utimes(path.join(ipamDir, l), old, old);

    // Who holds a lease, and since when, is read every 10 s off the scrape path.
    const samples = await until('leaked 1', 30_000, async () => {
      const got = await scrape();
      return value(got, 'multinet_ipam_addresses_leaked', { network: 'storage-network' }) === 1 ? got : undefined;
    });
    expect(value(samples, 'multinet_ipam_addresses_leaked', { network: 'data-network' })).toBe(1);
    expect(value(samples, 'multinet_ipam_addresses_leaked', { network: 'storage-network' })).toBe(1);
    expect(value(samples, 'multinet_ipam_addresses_leaked', { network: 'mgmt-network' })).toBe(0);
    // Still allocated: host-local cannot hand them out again.
    expect(value(samples, 'multinet_ipam_addresses_allocated', { network: 'storage-network' })).toBe(5);
    const ev = await until('IpamAddressesLeaked', 30_000, async () => events('NetworkAttachmentDefinition', 'storage-network', 'IpamAddressesLeaked')[0]);
    expect(ev.message).toContain('1 address of host-local range 10.30.0.100-10.30.0.200 of network storage-network held by containers that no longer exist on this node');
    const d = await doctor();
    expect(d.out).toContain('[ipam-leaked] nad default/data-network: 1 address of host-local range 10.20.0.100-10.20.0.200');
    expect(d.out).toContain('[ipam-leaked] nad default/storage-network: 1 address');
  }, 90_000);

  it('the storage subnet routed out of eth0 inside a pod: route_mismatch 1, Event on the pod, doctor; and back', async () => {
    const hex = (await labPods(LAB)).find((p) => p.name === 'hexagonal-app') as LabPodState;
    expect(hex.pid).toBeDefined();
    const net3 = hex.status.find((s) => s.interface === 'net3')?.ips[0] as string;
    const mismatch = async (): Promise<number | undefined> => value(await scrape(), 'multinet_pod_interface_route_mismatch', { pod: 'hexagonal-app', interface: 'net3', network: 'storage-network' });
    expect(await mismatch()).toBe(0);
    await ip('-n', hex.netns, 'route', 'replace', '10.30.0.0/24', 'dev', 'eth0');
    try {
      // Routes are read every 10 s off the scrape path.
      await until('route_mismatch 1', 30_000, async () => ((await mismatch()) === 1 ? true : undefined));
      expect(value(await scrape(), 'multinet_pod_interface_route_mismatch', { pod: 'hexagonal-app', interface: 'net2' })).toBe(0);
      const ev = await until('NetworkRouteMismatch', 30_000, async () => events('Pod', 'hexagonal-app', 'NetworkRouteMismatch')[0]);
      expect(ev.message).toBe('10.30.0.0/24 of network storage-network is routed via eth0, not net3');
      const d = await doctor();
      expect(d.code).toBe(1);
      expect(d.out).toContain('[route-mismatch] default/hexagonal-app: 10.30.0.0/24 of network storage-network is routed via eth0, not net3');
    } finally {
      await ip('-n', hex.netns, 'route', 'replace', '10.30.0.0/24', 'dev', 'net3', 'proto', 'kernel', 'scope', 'link', 'src', net3);
    }
    await until('route_mismatch 0', 30_000, async () => ((await mismatch()) === 0 ? true : undefined));
    expect((await doctor()).out).not.toContain('[route-mismatch]');
  }, 120_000);

  it('a pod attached to the storage network against its policy: violation 1, Event on the pod, doctor', async () => {
    const add = await lab('pod', 'add', '--pod', 'rogue', '--networks', 'data-network@net1,storage-network@net2', '--labels', 'app=order-service');
    expect(add.code, add.out).toBe(0);
    await syncPods();
    const violation = async (): Promise<ParsedSample[]> => (await scrape()).filter((s) => s.name === 'multinet_pod_network_policy_violation' && s.labels.pod === 'rogue');
    const seen = await until('the violation', 30_000, async () => {
      const v = await violation();
      return v.length > 0 ? v : undefined;
    });
    expect(seen.map((s) => [s.labels.network, s.labels.interface, s.value])).toEqual([['storage-network', 'net2', 1]]);
    // The seed's own pods stay allowed.
    expect((await scrape()).filter((s) => s.name === 'multinet_pod_network_policy_violation' && s.value === 1).map((s) => s.labels.pod)).toEqual(['rogue']);
    const ev = await until('NetworkPolicyViolation', 30_000, async () => events('Pod', 'rogue', 'NetworkPolicyViolation')[0]);
    expect(ev.message).toBe('net2 is attached to network default/storage-network, which allows only pods matching "hexagonal.io/adapter in (database)" (pod labels: app=order-service)');
    const d = await doctor();
    expect(d.out).toContain('[policy-violation] default/rogue: net2 is attached to network default/storage-network, which allows only pods matching "hexagonal.io/adapter in (database)"');
  }, 90_000);

  it('with the faults above still in place, doctor, /metrics and the Events name the same problems', async () => {
    const d = await doctor('--output', 'json');
    expect(d.code).toBe(1);
    const problems = (JSON.parse(d.out) as { problems: { code: string; namespace: string; pod: string; interface: string; network: string; message: string }[] }).problems;
    const named = [...new Set(problems.map((p) => problemKey(p.code, p.namespace, p.pod, p.interface, p.network)))].sort();
    expect(named).toEqual([
      problemKey('ipam-exhausted', 'default', '', '', 'tiny-network'),
      problemKey('ipam-leaked', 'default', '', '', 'data-network'),
      problemKey('ipam-leaked', 'default', '', '', 'storage-network'),
      problemKey('policy-violation', 'default', 'rogue', 'net2', 'storage-network'),
    ]);
    expect([...problemSeries(await scrape())].sort()).toEqual(named);
    // Every problem has had its Event (reason, object, message). The only others are the route
    // case's, put back above: /proc names a local address's device by its route, so while the
    // subnet left by eth0 net3 also had no address in it.
    const warnings = (server?.events() ?? []).filter((e) => e.type === 'Warning');
    const told = (p: (typeof problems)[number]): boolean =>
      warnings.some((e) => {
        const o = e.involvedObject as { kind?: string; namespace?: string; name?: string };
        return e.reason === PROBLEM_REASON[p.code] && o.namespace === p.namespace && (p.pod ? o.kind === 'Pod' && o.name === p.pod : o.kind === 'NetworkAttachmentDefinition' && o.name === p.network) && e.message === p.message;
      });
    expect(problems.filter((p) => !told(p)).map((p) => p.message)).toEqual([]);
    expect([...new Set(warnings.map((e) => String(e.reason)))].sort()).toEqual(['IpamAddressesLeaked', 'IpamRangeExhausted', 'NetworkPolicyViolation', 'NetworkRouteMismatch', 'NoAddress']);
  }, 60_000);
});
