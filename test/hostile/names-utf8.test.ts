/**
 * Names are bytes. Unit: the one mapping from kernel names to labels (agent/rules/names.ts) keeps
 * valid UTF-8 as it is, escapes the rest, and is reversible. Root: the real agent in a namespace
 * of its own with links named `é0`, `é1`, `a\b` and the bytes ff fe, a pod namespace with a
 * macvlan `é1` on master `é0`, and a NAD whose master is `é0`: names come out as they are (no `Ã©1`), `é0` is ready, the attachment present.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { nameFromBytes, nameFromText, nameToBytes } from '../../agent/rules/names.js';
import { startAgentIn, type AgentProcess } from '../support/agent-process.js';
import { parseExposition, type ParsedSample } from '../support/exposition.js';
import { createNetns, deleteNetns, fetchInNetns, ip, IS_ROOT, netnsName } from '../support/netns.js';
import { duplicateSeries } from './series.js';

describe('the name mapping', () => {
  it.each([
    ['ASCII', Buffer.from('eth0'), 'eth0'],
    ['UTF-8 stays UTF-8', Buffer.from('é1', 'utf8'), 'é1'],
    ['Latin-1 é is one invalid byte', Buffer.from([0xe9, 0x31]), '\\xe91'],
    ['a lone continuation byte', Buffer.from([0x61, 0x80]), 'a\\x80'],
    ['an overlong NUL', Buffer.from([0xc0, 0x80]), '\\xc0\\x80'],
    ['a UTF-16 surrogate in UTF-8', Buffer.from([0xed, 0xa0, 0x80]), '\\xed\\xa0\\x80'],
    ['a truncated sequence', Buffer.from([0xe2, 0x82]), '\\xe2\\x82'],
    ['a backslash', Buffer.from('a\\b'), 'a\\\\b'],
    ['text that looks like an escape', Buffer.from('\\xff'), '\\\\xff'],
    ['four-byte UTF-8', Buffer.from('n😀', 'utf8'), 'n😀'],
  ])('%s', (_what, bytes, text) => {
    expect(nameFromBytes(bytes)).toBe(text);
    expect(nameToBytes(text).equals(bytes)).toBe(true);
  });

  it('is reversible for every 1- and 2-byte name, and for 20,000 random names (fixed seed)', () => {
    const check = (b: Buffer): void => {
      const t = nameFromBytes(b);
      if (!nameToBytes(t).equals(b)) throw new Error(`not reversible: ${b.toString('hex')} -> ${t}`);
      if (!Buffer.from(t, 'utf8').equals(Buffer.from(Buffer.from(t, 'utf8').toString('utf8'), 'utf8'))) throw new Error('not valid UTF-8');
    };
    for (let a = 1; a < 256; a++) {
      check(Buffer.from([a]));
      for (let b = 1; b < 256; b++) check(Buffer.from([a, b]));
    }
    let seed = 0x1234567;
    const rand = (): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8) & 0xff;
    for (let i = 0; i < 20_000; i++) check(Buffer.from(Array.from({ length: 1 + (rand() % 15) }, () => rand() || 1)));
  });

  it('maps a NAD master given as text as the kernel name would be', () => {
    expect(nameFromText('é0')).toBe(nameFromBytes(Buffer.from('é0', 'utf8')));
    expect(nameFromText('a\\b')).toBe(nameFromBytes(Buffer.from('a\\b')));
  });
});

const HOST = netnsName('names');
const POD = netnsName('names-pod');
const PORT = 19761;

if (!IS_ROOT) {
  if (process.env.CI) throw new Error('the hostile names suite must run as root in CI');
  console.warn('test/hostile/names-utf8.test.ts needs root (network namespaces): real links skipped');
}

/** `ip` with arguments that hold raw bytes (printf escapes), through bash. */
function ipBytes(args: string): void {
  execFileSync('bash', ['-c', `ip ${args}`], { stdio: 'pipe' });
}

describe.skipIf(!IS_ROOT)('names of real links, namespaces and NADs', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'multinet-names-'));
  let agent: AgentProcess | undefined;
  afterAll(async () => {
    await agent?.stop();
    deleteNetns(HOST, POD);
    rmSync(dir, { recursive: true, force: true });
  });

  it('exports é names as they are, escapes invalid bytes, and judges é0 ready and the pod attached', async () => {
    await createNetns(HOST);
    await createNetns(POD);
    // veth pairs (no dummy module here), both ends up: carrier.
    for (const [name, peer] of [['é0', 'pe0'], ['é1', 'pe1'], ['a\\b', 'pab']] as const) {
      await ip('-n', HOST, 'link', 'add', name, 'type', 'veth', 'peer', 'name', peer);
      await ip('-n', HOST, 'link', 'set', name, 'up');
      await ip('-n', HOST, 'link', 'set', peer, 'up');
    }
    // The kernel takes any bytes but '/', ':', whitespace and NUL in a name (dev_valid_name).
    ipBytes(`-n ${HOST} link add name "$(printf '\\xff\\xfe')" type veth peer name pff`);
    await ip('-n', HOST, 'link', 'add', 'link', 'é0', 'name', 'mv-tmp', 'type', 'macvlan', 'mode', 'bridge');
    await ip('-n', HOST, 'link', 'set', 'mv-tmp', 'netns', POD);
    await ip('-n', POD, 'link', 'set', 'mv-tmp', 'name', 'é1');
    await ip('-n', POD, 'link', 'set', 'é1', 'up');
    const mac = (JSON.parse(await ip('-n', POD, '-j', 'link', 'show', 'é1')) as { address: string }[])[0]?.address ?? '';

    const manifest = path.join(dir, 'objects.yaml');
    writeFileSync(
      manifest,
      `apiVersion: k8s.cni.cncf.io/v1
kind: NetworkAttachmentDefinition
metadata: { name: nad-e, namespace: default }
spec:
  config: '{"cniVersion":"0.3.1","type":"macvlan","master":"é0","mode":"bridge"}'
---
apiVersion: v1
kind: Pod
metadata:
  name: p
  namespace: default
  uid: 00000000-0000-0000-0000-0000000000e1
  annotations:
    k8s.v1.cni.cncf.io/networks: nad-e@é1
    k8s.v1.cni.cncf.io/network-status: '[{"name":"default/nad-e","interface":"é1","mac":"${mac}"}]'
spec: { nodeName: node-1 }
`,
    );
    agent = await startAgentIn(HOST, PORT, [`--manifests=${manifest}`, '--node-name=node-1', '--host.interfaces=all']);
    const res = await fetchInNetns(HOST, `${agent.url}/metrics`);
    expect(res.status).toBe(200);
    expect(duplicateSeries(res.body)).toEqual([]);
    const samples = parseExposition(res.body);
    const of = (name: string, labels: Record<string, string>): ParsedSample[] => samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));

    const hostNames = of('multinet_host_interface_info', {}).map((s) => s.labels.interface).sort();
    expect(hostNames).toEqual(['a\\\\b', 'lo', 'pab', 'pe0', 'pe1', 'pff', '\\xff\\xfe', 'é0', 'é1'].sort());
    expect(of('multinet_host_interface_ready', { interface: 'é0' }).map((s) => s.value)).toEqual([1]);
    expect(of('multinet_pod_interface_up', { pod: 'p', interface: 'é1' }).map((s) => s.value)).toEqual([1]);
    expect(of('multinet_pod_interface_info', { pod: 'p', interface: 'é1' }).map((s) => [s.labels.master, s.labels.network])).toEqual([['é0', 'nad-e']]);
    expect(of('multinet_pod_network_attachment_missing', { pod: 'p', interface: 'é1' }).map((s) => s.value)).toEqual([0]);
  });
});
