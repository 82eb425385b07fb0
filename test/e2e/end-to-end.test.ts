/**
 * Root-only golden end-to-end test, as node_exporter's end-to-end-test.sh: the BUILT agent
 * (`node AGENT_BIN`) runs as a real process in a network namespace of its own, against a real
 * but fully deterministic kernel view and fixture trees, and its whole /metrics is diffed against
 * e2e-output.prom. Regenerate with `UPDATE_GOLDEN=1 npx vitest run test/e2e` (as root).
 *
 * What the agent sees, and why it is the same on every run and machine:
 * - Its namespace holds links with fixed names, MACs and MTUs, created in a fixed order (the
 *   kernel numbers ifindexes per namespace, so they repeat): veths standing for NICs (`eno1`,
 *   `ens1f0`, `eno2`, peers in a "wire" namespace), a host macvlan, a pod's veth peer, a bridge
 *   and a vxlan left down. IPv6 is off in every namespace (no ND/MLD/autoconf traffic) and no
 *   link has an IPv4 address, so every counter stays 0 except lo's, which carries the scrape
 *   and is not in the default host-interface set.
 * - Pod namespaces are bind-mounted in a test-owned --path.netns under fixed `cni-*` names:
 *   web-0's (joined by network-status MACs: eth0 veth, net1 macvlan bridge on eno1, net2 macvlan
 *   private on ens1f0), db-0's (joined by the pod UID in a fixture process's cgroup: net1 macvlan
 *   vepa on eno1, net2 macvlan passthru on eno2; net3 requested and missing) and one no pod owns.
 *   Each macvlan is made in the agent's namespace on its parent and moved in.
 * - --path.procfs is a fixture tree made at start: `self` links to the real /proc/self (so the
 *   agent finds its own namespace) and one process, db-0's, whose ns/net names db-0's namespace
 *   and whose cgroup and net/route are fixtures; the machine's real processes are not seen.
 * - --path.sysfs is fixtures/sys: eno1 an igb at 1 Gb/s and eno2 a virtio NIC (from
 *   collectors/sysfs/testdata), ens1f0 the E810 PF and every SR-IOV PF of collectors/sriov/testdata.
 * - --manifests are fixtures/manifests (NADs, pods of this node and of another); --path.ipam is a
 *   copy of fixtures/ipam whose lease files get a fixed old mtime (leaks are judged by age).
 * - --no-collector.podresources: no kubelet here.
 *
 * Masked, because it cannot be deterministic:
 * - process_* and nodejs_* families: dropped (CPU, memory, event loop, handles of this process).
 * - multinet_build_info's node_version label: the Node.js running the test.
 * - multinet_scrape_collector_duration_seconds values: wall time.
 * Everything else, ifindex labels included, must match exactly.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgentIn, type AgentProcess } from '../support/agent-process.js';
import { scrapeInNetns } from '../support/scrape.js';
import { createNetns, deleteNetns, fetchInNetns, ip, IS_ROOT } from '../support/netns.js';
import { expositionComplaints } from '../support/exposition-invariant.js';

const GOLDEN = new URL('./e2e-output.prom', import.meta.url).pathname;
const FIXTURES = new URL('./fixtures/', import.meta.url).pathname;

/** Namespaces of this test process (names are unique per process; link names live inside them). */
const TAG = `mne2e-${process.pid}`;
const HOST = `${TAG}-host`;
const WIRE = `${TAG}-wire`;
const WEB = `${TAG}-web`;
const DB = `${TAG}-db`;
const ORPHAN = `${TAG}-orphan`;
/** The names the agent knows the pod namespaces by, as containerd names them. */
const BIND_NAMES: Record<string, string> = {
  [WEB]: 'cni-0a0a0a0a-1111-2222-3333-444444444444',
  [DB]: 'cni-0b0b0b0b-1111-2222-3333-444444444444',
  [ORPHAN]: 'cni-0c0c0c0c-1111-2222-3333-444444444444',
};
/** The fixture process inside db-0's namespace. */
const DB_PID = '4242';
/** Any port: the agent's namespace is new, nothing else listens in it. */
const PORT = 9739;
/** host-local lease files were reserved long ago: past any leak grace period. */
const LEASE_TIME = new Date('2024-01-01T00:00:00Z');

if (!IS_ROOT) {
  if (process.env.CI) throw new Error('the e2e suite must run as root in CI');
  console.warn('test/e2e/end-to-end.test.ts needs root (network namespaces): skipped');
}

/** The kernel view: every link with a fixed name, MAC and MTU, in a fixed order. */
async function buildKernelView(): Promise<void> {
  for (const ns of [HOST, WIRE, WEB, DB, ORPHAN]) await createNetns(ns);
  const veth = (ns: string, name: string, mac: string, mtu: number, peerNs: string, peer: string, peerMac: string) =>
    ip('-n', ns, 'link', 'add', name, 'address', mac, 'mtu', String(mtu), 'type', 'veth', 'peer', 'name', peer, 'address', peerMac, 'mtu', String(mtu), 'netns', peerNs);
  // NICs of the node; their far ends in the wire namespace.
  await veth(HOST, 'eno1', '02:e2:e0:00:00:01', 1500, WIRE, 'wire-eno1', '02:e2:e0:ff:00:01');
  await veth(HOST, 'ens1f0', '02:e2:e0:00:00:02', 9000, WIRE, 'wire-ens1f0', '02:e2:e0:ff:00:02');
  await veth(HOST, 'eno2', '02:e2:e0:00:00:03', 1500, WIRE, 'wire-eno2', '02:e2:e0:ff:00:03');
  // The cluster network of web-0: a veth pair, eth0 in the pod.
  await veth(WEB, 'eth0', '0a:58:0a:f4:00:05', 1450, HOST, 'vethweb0', '02:e2:e0:00:00:04');
  // A host macvlan on eno1, a bridge and a vxlan left down.
  await ip('-n', HOST, 'link', 'add', 'mv-mgmt', 'link', 'eno1', 'address', '02:e2:e0:00:00:05', 'type', 'macvlan', 'mode', 'bridge');
  await ip('-n', HOST, 'link', 'add', 'br-e2e', 'address', '02:e2:e0:00:00:06', 'type', 'bridge');
  await ip('-n', HOST, 'link', 'add', 'vx100', 'address', '02:e2:e0:00:00:07', 'type', 'vxlan', 'id', '100', 'dstport', '4789', 'dev', 'eno1');
  // Pod macvlans: made on their parent in the agent's namespace, moved into the pod and renamed.
  const podMacvlan = async (pod: string, tmpName: string, name: string, parent: string, mode: string, mac: string | undefined, mtu: number): Promise<void> => {
    await ip('-n', HOST, 'link', 'add', tmpName, 'link', parent, ...(mac ? ['address', mac] : []), 'mtu', String(mtu), 'type', 'macvlan', 'mode', mode);
    await ip('-n', HOST, 'link', 'set', tmpName, 'netns', pod);
    await ip('-n', pod, 'link', 'set', tmpName, 'name', name);
  };
  await podMacvlan(WEB, 'web-net1', 'net1', 'eno1', 'bridge', '02:e2:e0:0a:00:01', 1500);
  await podMacvlan(WEB, 'web-net2', 'net2', 'ens1f0', 'private', '02:e2:e0:0a:00:02', 9000);
  await podMacvlan(DB, 'db-net1', 'net1', 'eno1', 'vepa', '02:e2:e0:0b:00:01', 1500);
  // passthru takes the lower device's MAC.
  await podMacvlan(DB, 'db-net2', 'net2', 'eno2', 'passthru', undefined, 1500);
  // A namespace of no known pod.
  await veth(ORPHAN, 'eth0', '02:e2:e0:0c:00:01', 1500, WIRE, 'wire-orphan', '02:e2:e0:ff:00:04');

  for (const dev of ['eno1', 'ens1f0', 'eno2', 'vethweb0', 'mv-mgmt']) await ip('-n', HOST, 'link', 'set', dev, 'up');
  for (const dev of ['wire-eno1', 'wire-ens1f0', 'wire-eno2']) await ip('-n', WIRE, 'link', 'set', dev, 'up');
  for (const dev of ['eth0', 'net1', 'net2']) await ip('-n', WEB, 'link', 'set', dev, 'up');
  for (const dev of ['net1', 'net2']) await ip('-n', DB, 'link', 'set', dev, 'up');
}

/** Test-owned --path.netns, --path.procfs and --path.ipam under `dir`. */
function buildFixtureDirs(dir: string): void {
  const netnsDir = path.join(dir, 'netns');
  mkdirSync(netnsDir);
  for (const [ns, bindName] of Object.entries(BIND_NAMES)) {
    const target = path.join(netnsDir, bindName);
    writeFileSync(target, '');
    execFileSync('mount', ['--bind', `/run/netns/${ns}`, target]);
  }
  const proc = path.join(dir, 'proc');
  mkdirSync(proc);
  // The agent's own namespace: through the real /proc/self of whichever process reads it.
  symlinkSync('/proc/self', path.join(proc, 'self'));
  const db = path.join(proc, DB_PID);
  cpSync(path.join(FIXTURES, 'proc/db-0'), db, { recursive: true });
  mkdirSync(path.join(db, 'ns'));
  // What the kernel's ns/net link reads: the nsfs inode of db-0's namespace.
  symlinkSync(`net:[${statSync(`/run/netns/${DB}`).ino}]`, path.join(db, 'ns/net'));

  const ipam = path.join(dir, 'ipam');
  cpSync(path.join(FIXTURES, 'ipam'), ipam, { recursive: true });
  for (const network of readdirSync(ipam)) {
    for (const f of readdirSync(path.join(ipam, network))) utimesSync(path.join(ipam, network, f), LEASE_TIME, LEASE_TIME);
  }
}

function unmountAll(dir: string | undefined): void {
  if (!dir) return;
  for (const bindName of Object.values(BIND_NAMES)) {
    try {
      execFileSync('umount', ['-l', path.join(dir, 'netns', bindName)], { stdio: 'ignore' });
    } catch {
      // Not mounted (set-up failed before it).
    }
  }
  rmSync(dir, { recursive: true, force: true });
}

/** The exposition with what cannot be deterministic masked (see the header). */
function maskScrape(text: string): string {
  const out: string[] = [];
  let dropped = false;
  for (const line of text.split('\n')) {
    const name = /^(?:# (?:HELP|TYPE) )?([a-zA-Z_:][a-zA-Z0-9_:]*)/.exec(line)?.[1] ?? '';
    // A dropped family goes with the blank line that ends it.
    if (name.startsWith('process_') || name.startsWith('nodejs_') || (dropped && line === '')) {
      dropped = line !== '';
      continue;
    }
    dropped = false;
    out.push(
      line
        .replace(/^(multinet_build_info\{.*node_version=")[^"]*(")/, '$1<node>$2')
        .replace(/^(multinet_scrape_collector_duration_seconds\{[^}]*\}) .*$/, '$1 <duration>'),
    );
  }
  return out.join('\n');
}

/** Waits past the agent's snapshot reuse window, so the next scrape takes a new snapshot. */
const nextSnapshot = (): Promise<void> => new Promise((r) => setTimeout(r, 1200));

/**
 * A scrape once the agent's background reads have landed: lease details (container ID, mtime)
 * and db-0's routes are read off the scrape path, so the first snapshots may lack them. Scrapes
 * a new snapshot until two in a row agree.
 */
async function settledScrape(agent: AgentProcess): Promise<string> {
  let prev: string | undefined;
  for (let i = 0; i < 10; i++) {
    await nextSnapshot();
    const res = await scrapeInNetns(HOST, `${agent.url}/metrics`);
    if (res.status !== 200) throw new Error(`/metrics answered ${res.status}: ${res.text}`);
    if (prev !== undefined && maskScrape(res.text) === maskScrape(prev)) return res.text;
    prev = res.text;
  }
  throw new Error('/metrics never settled');
}

describe.skipIf(!IS_ROOT)('golden end to end: the built agent on a deterministic node', () => {
  let agent: AgentProcess | undefined;
  let dir: string | undefined;
  let scrape = '';

  const cleanUp = (): void => {
    unmountAll(dir);
    dir = undefined;
    deleteNetns(HOST, WIRE, WEB, DB, ORPHAN);
  };

  beforeAll(async () => {
    cleanUp();
    try {
      await buildKernelView();
      dir = mkdtempSync(path.join(tmpdir(), `${TAG}-`));
      buildFixtureDirs(dir);
      agent = await startAgentIn(HOST, PORT, [
        `--path.sysfs=${path.join(FIXTURES, 'sys')}`,
        `--path.procfs=${path.join(dir, 'proc')}`,
        `--path.netns=${path.join(dir, 'netns')}`,
        `--path.ipam=${path.join(dir, 'ipam')}`,
        `--manifests=${path.join(FIXTURES, 'manifests')}`,
        '--node-name=e2e-node',
        '--no-collector.podresources',
      ]);
      scrape = await settledScrape(agent);
    } catch (err) {
      await agent?.stop();
      cleanUp();
      throw err;
    }
  }, 60_000);

  afterAll(async () => {
    await agent?.stop();
    cleanUp();
  });

  it('serves exactly e2e-output.prom', () => {
    const text = maskScrape(scrape);
    if (process.env.UPDATE_GOLDEN === '1') writeFileSync(GOLDEN, text);
    expect(text).toBe(readFileSync(GOLDEN, 'utf8'));
  });

  it('serves an exposition that holds the invariant, promtool check metrics included', () => {
    expect(expositionComplaints(scrape)).toBe('');
  });

  it('logs no warning or error on the way', () => {
    const lines = (agent?.stderr() ?? '').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { level: number; msg: string });
    expect(lines.filter((l) => l.level > 30)).toEqual([]);
  });
});
