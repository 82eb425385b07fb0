/**
 * Root-only: the lab in kube mode. The seed lab's Pods and NADs are served by the kube API test
 * server (reached from the lab's node namespace over a veth of the test's own); the agent runs
 * there with --kubeconfig and NODE_NAME, maps every pod interface to its NAD from the API, and a
 * master set down reaches the API as a Node Event within a second, and back; the API gone for a
 * while leaves the metrics flowing and ends without an event storm.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgentIn, type AgentProcess } from '../support/agent-process.js';
import type { ParsedSample } from '../support/exposition.js';
import { KubeApiServer } from '../support/kube-api-server.js';
import { bridgeToNetns, type NetnsBridge } from '../support/netns-bridge.js';
import { LAB_POSSIBLE, requireLab, scrapeAgent, seedKubeApiFromLab, testLab } from '../support/lab.js';
import { ip } from '../support/netns.js';
import { until as untilEvery } from '../support/until.js';

const until = <T>(what: string, timeoutMs: number, probe: () => T | undefined | Promise<T | undefined>): Promise<T> => untilEvery(what, timeoutMs, probe, 10);

const LAB = `ik${process.pid % 100000}`;
const theLab = testLab(LAB);
const NODE = theLab.node;
const lab = theLab.run;
const PORT = 19741;

requireLab('test/integration/lab-kube.test.ts');


/** Node events the agent wrote, as the server holds them. */
function nodeEvents(server: KubeApiServer): { reason: string; message: string; count: number }[] {
  return server
    .events()
    .filter((e) => (e.involvedObject as { kind?: string } | undefined)?.kind === 'Node')
    .map((e) => ({ reason: String(e.reason), message: String(e.message), count: Number(e.count ?? 1) }));
}

describe.skipIf(!LAB_POSSIBLE)('the seed lab against the kube API', () => {
  let server: KubeApiServer | undefined;
  let bridge: NetnsBridge | undefined;
  let agent: AgentProcess | undefined;
  let workDir = '';
  let podNames: string[] = [];

  const scrape = (): Promise<ParsedSample[]> => scrapeAgent(NODE, agent, { fresh: false });

  beforeAll(async () => {
    await lab('down');
    const up = await lab('up');
    if (up.code !== 0) throw new Error(`lab up failed: ${up.out}`);
    bridge = await bridgeToNetns(NODE, 1);
    server = await KubeApiServer.start({ host: bridge.hostAddress });
    // A pod of another node: the field selector must keep it out.
    const pods = await seedKubeApiFromLab(server, LAB, { extraPods: [{ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'elsewhere', namespace: 'default' }, spec: { nodeName: 'other-node' } }] });
    podNames = pods.map((p) => String(p.metadata.name));
    workDir = await mkdtemp(path.join(tmpdir(), 'mna-kube-'));
    const kubeconfig = path.join(workDir, 'kubeconfig');
    await server.writeKubeconfig(kubeconfig);
    agent = await startAgentIn(NODE, PORT, [`--kubeconfig=${kubeconfig}`, '--kube.node-condition'], 30_000, { NODE_NAME: NODE });
  }, 120_000);

  afterAll(async () => {
    await agent?.stop();
    await server?.close();
    await bridge?.remove();
    await lab('down');
    if (workDir) await rm(workDir, { recursive: true, force: true });
  }, 120_000);

  it('maps every pod interface of this node to its NAD from the API', async () => {
    const samples = await scrape();
    const info = samples.filter((s) => s.name === 'multinet_pod_interface_info' && s.labels.pod !== '');
    expect([...new Set(info.map((s) => s.labels.pod))].sort()).toEqual([...podNames].sort());
    expect(info.filter((s) => s.labels.interface?.startsWith('net')).every((s) => s.labels.network?.endsWith('-network') && /^eth[123]$/.test(s.labels.master ?? ''))).toBe(true);
    expect(samples.find((s) => s.name === 'multinet_kube_cache_synced' && s.labels.resource === 'pods')?.value).toBe(1);
    expect(samples.find((s) => s.name === 'multinet_kube_cache_objects' && s.labels.resource === 'pods')?.value).toBe(podNames.length);
    expect(samples.filter((s) => s.name === 'multinet_pod_network_attachment_missing' && s.value === 1)).toEqual([]);
  });

  it('a master going down reaches the API as a Node Event within a second, and back', async () => {
    if (!server) throw new Error('no server');
    const before = nodeEvents(server).length;
    const downAt = Date.now();
    await ip('-n', NODE, 'link', 'set', 'eth2', 'down');
    const notReady = await until('HostInterfaceNotReady', 5000, () => (server ? nodeEvents(server).slice(before).find((e) => e.reason === 'HostInterfaceNotReady') : undefined));
    const eventMs = Date.now() - downAt;
    const ready = await until('ready 0 in /metrics', 5000, async () => ((await scrape()).find((s) => s.name === 'multinet_host_interface_ready' && s.labels.interface === 'eth2')?.value === 0 ? true : undefined));
    const metricMs = Date.now() - downAt;
    expect(ready).toBe(true);
    expect(notReady.message).toContain('host interface eth2 is not ready (admin down): networks default/data-network (4 pod attachments on this node)');
    console.log(`eth2 down -> Event at the API in ${eventMs} ms, -> /metrics in ${metricMs} ms`);
    expect(eventMs).toBeLessThan(1000);

    const condition = (): Record<string, string> | undefined =>
      ((server?.get('nodes', '', NODE)?.status as { conditions?: Record<string, string>[] } | undefined)?.conditions ?? []).find((c) => c.type === 'SecondaryNetworksReady');
    expect((await until('condition False', 5000, () => (condition()?.status === 'False' ? condition() : undefined)))?.message).toContain('eth2 (admin down');

    await ip('-n', NODE, 'link', 'set', 'eth2', 'up');
    const back = await until('HostInterfaceReady', 5000, () => (server ? nodeEvents(server).slice(before).find((e) => e.reason === 'HostInterfaceReady') : undefined));
    expect(back.message).toContain('host interface eth2 is ready again');
    await until('condition True', 5000, () => (condition()?.status === 'True' ? true : undefined));
  });

  it('the API gone for a while: metrics keep flowing, caches recover, no event storm', async () => {
    if (!server) throw new Error('no server');
    const eventsBefore = server.eventWrites().length;
    const outage = server.outage(8000);
    await new Promise((r) => setTimeout(r, 1000));
    // While the API is away, a master flaps: the Event waits in the recorder's queue.
    await ip('-n', NODE, 'link', 'set', 'eth3', 'down');
    const during = await scrape();
    expect(during.filter((s) => s.name === 'multinet_pod_interface_info' && s.labels.pod !== '').length).toBeGreaterThan(0);
    expect(during.find((s) => s.name === 'multinet_host_interface_ready' && s.labels.interface === 'eth3')?.value).toBe(0);
    await ip('-n', NODE, 'link', 'set', 'eth3', 'up');
    await outage;
    await until('events after the outage', 40_000, () => (server && nodeEvents(server).some((e) => e.message.includes('eth3 is ready again')) ? true : undefined));
    const writes = server.eventWrites().slice(eventsBefore);
    // Two transitions, each written once (retries of a failed write never reached the server).
    expect(writes.filter((w) => w.status < 300).length).toBeLessThanOrEqual(4);
    const after = await scrape();
    expect(after.find((s) => s.name === 'multinet_kube_cache_synced' && s.labels.resource === 'pods')?.value).toBe(1);
    const warns = (agent?.stderr() ?? '').split('\n').filter((l) => l.includes('"level":40'));
    expect(warns.length).toBeLessThan(10);
  }, 90_000);
});
