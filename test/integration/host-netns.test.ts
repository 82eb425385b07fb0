/**
 * Root-only: the real agent in a network namespace of its own, with veth, macvlan, bridge and
 * vxlan links and real traffic; every exported counter must equal what `ip -s -j link` reports.
 */
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgentIn, type AgentProcess } from '../support/agent-process.js';
import { byLabel, parseExposition, type ParsedSample } from '../support/exposition.js';
import { counterFields, type IpLink } from '../support/iproute.js';
import { expositionComplaints } from '../support/exposition-invariant.js';
import { scrapeInNetns } from '../support/scrape.js';
import { createNetns, deleteNetns, fetchInNetns, inNetns, ip, IS_ROOT, netnsName } from '../support/netns.js';

const NS = netnsName('it-host');
const PEER = netnsName('it-peer');
const PORT = 19739;
const PINGS = 20;
const PAYLOAD = 1000;

if (!IS_ROOT) {
  if (process.env.CI) throw new Error('the integration suite must run as root in CI');
  console.warn('test/integration/host-netns.test.ts needs root (network namespaces): skipped');
}

async function links(ns: string): Promise<IpLink[]> {
  return JSON.parse(await ip('-n', ns, '-s', '-d', '-j', 'link', 'show')) as IpLink[];
}

async function mac(ns: string, dev: string): Promise<string> {
  return (JSON.parse(await ip('-n', ns, '-j', 'link', 'show', dev)) as IpLink[])[0]?.address ?? '';
}

/** Addresses and permanent neighbours on both sides: no ARP, so the ping counts are exact. */
async function address(local: string, dev: string, addr: string, peerNs: string, peerDev: string, peerAddr: string): Promise<void> {
  await ip('-n', local, 'addr', 'add', `${addr}/24`, 'dev', dev);
  await ip('-n', peerNs, 'addr', 'add', `${peerAddr}/24`, 'dev', peerDev);
  await ip('-n', local, 'neigh', 'replace', peerAddr, 'lladdr', await mac(peerNs, peerDev), 'dev', dev, 'nud', 'permanent');
  await ip('-n', peerNs, 'neigh', 'replace', addr, 'lladdr', await mac(local, dev), 'dev', peerDev, 'nud', 'permanent');
}

/** Reads `ip -s -j link` until two reads agree, so the comparison is against a still picture. */
async function stableLinks(ns: string): Promise<IpLink[]> {
  // Bridge timers in `-d` output tick on their own; counters and states are what must hold still.
  const still = (ls: IpLink[]): string => JSON.stringify(ls.filter((l) => l.ifname !== 'lo').map((l) => [l.ifname, l.operstate, l.flags, l.stats64]));
  let prev = await links(ns);
  for (let i = 0; i < 10; i++) {
    await new Promise((r) => setTimeout(r, 200));
    const cur = await links(ns);
    if (still(cur) === still(prev)) return cur;
    prev = cur;
  }
  throw new Error('counters in the test namespace never settled');
}

/** Waits past the agent's snapshot reuse window so the next scrape reads the kernel anew. */
const nextSnapshot = (): Promise<void> => new Promise((r) => setTimeout(r, 1100));

async function scrape(agent: AgentProcess): Promise<{ text: string; samples: ParsedSample[] }> {
  const res = await scrapeInNetns(NS, `${agent.url}/metrics`);
  expect(res.status).toBe(200);
  return { text: res.text, samples: res.samples };
}

const COUNTERS = counterFields('multinet_host_interface');

/** Every exported value of every link, checked against iproute2 and sysfs. */
async function expectMatchesKernel(samples: ParsedSample[], kernel: IpLink[]): Promise<void> {
  const info = byLabel(samples, 'multinet_host_interface_info', 'interface');
  expect([...info.keys()].sort()).toEqual(kernel.map((l) => l.ifname).sort());
  for (const l of kernel) {
    expect(info.get(l.ifname)?.labels, l.ifname).toMatchObject({
      ifindex: String(l.ifindex),
      kind: l.linkinfo?.info_kind ?? '',
      parent: l.link ?? '',
      master: l.master ?? '',
      mac: l.address,
      operstate: l.operstate.toLowerCase(),
    });
    // The scrape itself travels over lo, so lo's counters move while they are read.
    for (const [name, pick] of l.ifname === 'lo' ? [] : COUNTERS) {
      expect(byLabel(samples, name, 'interface').get(l.ifname)?.value, `${name}{interface="${l.ifname}"}`).toBe(pick(l));
    }
    expect(byLabel(samples, 'multinet_host_interface_mtu_bytes', 'interface').get(l.ifname)?.value).toBe(l.mtu);
    expect(byLabel(samples, 'multinet_host_interface_admin_up', 'interface').get(l.ifname)?.value).toBe(l.flags.includes('UP') ? 1 : 0);
    expect(byLabel(samples, 'multinet_host_interface_up', 'interface').get(l.ifname)?.value).toBe(l.operstate === 'UP' ? 1 : 0);
    const carrierChanges = Number(await inNetns(NS, 'cat', `/sys/class/net/${l.ifname}/carrier_changes`));
    expect(byLabel(samples, 'multinet_host_interface_carrier_changes_total', 'interface').get(l.ifname)?.value).toBe(carrierChanges);
    // speed: the kernel's own answer, or no series at all where it answers EINVAL or -1.
    const speed = spawnSync('ip', ['netns', 'exec', NS, 'cat', `/sys/class/net/${l.ifname}/speed`], { encoding: 'utf8' });
    const mbps = speed.status === 0 ? Number(speed.stdout) : -1;
    expect(byLabel(samples, 'multinet_host_interface_speed_bytes', 'interface').get(l.ifname)?.value, `speed of ${l.ifname}`).toBe(
      mbps > 0 ? mbps * 125_000 : undefined,
    );
  }
}

describe.skipIf(!IS_ROOT)('agent in a network namespace of its own', () => {
  let agent: AgentProcess | undefined;

  beforeAll(async () => {
    deleteNetns(NS, PEER);
    try {
      await createNetns(NS);
      await createNetns(PEER);
      await ip('-n', NS, 'link', 'add', 'vA', 'type', 'veth', 'peer', 'name', 'vB', 'netns', PEER);
      await ip('-n', NS, 'link', 'add', 'mv0', 'link', 'vA', 'type', 'macvlan', 'mode', 'bridge');
      await ip('-n', NS, 'link', 'add', 'br0', 'type', 'bridge');
      await ip('-n', NS, 'link', 'add', 'vC', 'type', 'veth', 'peer', 'name', 'vD', 'netns', PEER);
      await ip('-n', NS, 'link', 'set', 'vC', 'master', 'br0');
      // A link that stays down: its speed answers EINVAL.
      await ip('-n', NS, 'link', 'add', 'vx0', 'type', 'vxlan', 'id', '42', 'dstport', '4789', 'dev', 'vA');
      for (const dev of ['vA', 'mv0', 'br0', 'vC']) await ip('-n', NS, 'link', 'set', dev, 'up');
      for (const dev of ['vB', 'vD']) await ip('-n', PEER, 'link', 'set', dev, 'up');
      await address(NS, 'mv0', '10.199.1.1', PEER, 'vB', '10.199.1.2');
      await address(NS, 'br0', '10.199.2.1', PEER, 'vD', '10.199.2.2');
      // Host links only: the pod-namespace suite covers the other namespaces of the machine, and
      // there is no kubelet here to ask for device allocations.
      agent = await startAgentIn(NS, PORT, ['--no-collector.netns', '--no-collector.podresources', '--host.interfaces=all']);
    } catch (err) {
      deleteNetns(NS, PEER);
      throw err;
    }
  }, 60_000);

  afterAll(async () => {
    await agent?.stop();
    deleteNetns(NS, PEER);
  });

  it('serves /healthz and /readyz', async () => {
    if (!agent) throw new Error('no agent');
    expect(await fetchInNetns(NS, `${agent.url}/healthz`)).toEqual({ status: 200, body: 'ok\n' });
    expect(await fetchInNetns(NS, `${agent.url}/readyz`)).toEqual({ status: 200, body: 'ok\n' });
  });

  it('exports exactly what the kernel reports, before and after known traffic', async () => {
    if (!agent) throw new Error('no agent');
    await nextSnapshot();
    const before = await stableLinks(NS);
    await expectMatchesKernel((await scrape(agent)).samples, before);

    await inNetns(NS, 'ping', '-q', '-c', String(PINGS), '-i', '0.01', '-s', String(PAYLOAD), '-I', 'mv0', '10.199.1.2');
    await inNetns(NS, 'ping', '-q', '-c', '5', '-i', '0.01', '-I', 'br0', '10.199.2.2');
    await nextSnapshot();
    const after = await stableLinks(NS);
    const { samples } = await scrape(agent);
    await expectMatchesKernel(samples, after);

    // The known amount: each echo request and reply is 14 (Ethernet) + 20 (IP) + 8 (ICMP) + payload bytes.
    const tx = byLabel(samples, 'multinet_host_interface_transmit_packets_total', 'interface');
    const txBytes = byLabel(samples, 'multinet_host_interface_transmit_bytes_total', 'interface');
    const rx = byLabel(samples, 'multinet_host_interface_receive_packets_total', 'interface');
    const pick = (m: Map<string, ParsedSample>, dev: string, at: IpLink[]): number =>
      (m.get(dev)?.value ?? NaN) - (COUNTERS.find(([n]) => m.get(dev)?.name === n)?.[1](at.find((l) => l.ifname === dev) as IpLink) ?? NaN);
    expect(pick(tx, 'mv0', before)).toBe(PINGS);
    expect(pick(rx, 'mv0', before)).toBe(PINGS);
    expect(pick(txBytes, 'mv0', before)).toBe(PINGS * (14 + 20 + 8 + PAYLOAD));
    expect(pick(tx, 'br0', before)).toBe(5);
  }, 60_000);

  it('passes promtool check metrics with the process metrics included', async () => {
    if (!agent) throw new Error('no agent');
    expect(expositionComplaints((await scrape(agent)).text)).toBe('');
  });

  it('logs nothing above debug for a healthy namespace', () => {
    const lines = (agent?.stderr() ?? '').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { level: number; msg: string });
    expect(lines.filter((l) => l.level > 30)).toEqual([]);
  });
});
