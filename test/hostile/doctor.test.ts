/**
 * Issue 14, rows 12 and 15: doctor's report is read on a terminal, and it is the tool an
 * operator runs to ask "is anything wrong?". Text from outside (an annotation with ESC, CR, LF,
 * a bidi override) must not forge its table; a configured source that does not answer — a CRI
 * socket that is missing, or a containerd without the CRI plugin (UNIMPLEMENTED) — is named and
 * exits 1, where the old doctor said "No problems found." and exited 0.
 */
import { Server } from '@grpc/grpc-js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PodUid } from '../../agent/model/ids.js';
import { EMPTY_SNAPSHOT, type Snapshot } from '../../agent/model/snapshot.js';
import { readPolicy } from '../../agent/multus/parse-nad.js';
import { assess } from '../../agent/rules/assess.js';
import { joinPodNetns } from '../../agent/rules/attachments.js';
import { joinHostLinks } from '../../agent/runtime/snapshot.js';
import { runDoctor } from '../../exporters/doctor/doctor.js';
import { bindUnix, shutdownUnix } from '../support/grpc-unix.js';
import { netLink } from '../support/links.js';
import { macvlanNad, netnsRef, pod, podMacvlan } from '../support/pods.js';
import { QUIET, runAgent } from './agent.js';

/** A pod on a network whose allowed-pods annotation tries to draw its own verdict over the report. */
function forgedNode(): Snapshot {
  const forged = 'app=db\u001b[2J\u001b[H\rNo problems found.\n\u202egnp.tnemhcatta';
  const networks = [{ ...macvlanNad('storage-network', 'eth3', '10.30.0.0/24'), policy: readPolicy(forged) }];
  const hostLinks = joinHostLinks([netLink({ ifindex: 4, name: 'eth3' })], undefined);
  const rogue = pod({ name: 'rogue\u009b31m', namespace: 'team-b', uid: 'uid-rogue', labels: { app: 'x' }, requested: [{ namespace: 'default', name: 'storage-network', interface: 'net1' }] });
  const podNetns = joinPodNetns({
    samples: [{ ref: netnsRef(200, { podUid: rogue.uid as PodUid, pids: [20] }), nsid: 2, links: [podMacvlan(3, 'net1', 'aa:00:00:00:00:02', 4, 0)] }],
    selfNsid: 0,
    hostLinks,
    pods: [rogue],
    networks,
  });
  return { ...EMPTY_SNAPSHOT, takenAtMs: 60_000, hostLinks, podNetns, pods: [rogue], networks };
}

describe('doctor on hostile text', () => {
  it('escapes control characters and bidi overrides: every line of the report is its own', async () => {
    const snapshot = forgedNode();
    let out = '';
    const status = await runDoctor({ snapshot: async () => snapshot, networking: async () => new Map(), assess, sleep: async () => undefined, write: (t) => void (out += t), output: 'table' });
    expect(status).toBe(1);
    // Nothing that moves the cursor, clears the screen or reorders text reaches the terminal.
    expect(out).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/);
    // The forged verdict stays inside the problem line it came in, escaped.
    const forged = out.split('\n').filter((l) => l.includes('No problems found.'));
    expect(forged).toHaveLength(1);
    expect(forged[0]).toMatch(/^ {2}\[nad-invalid\] nad default\/storage-network: .*"app=db\\x1b\[2J\\x1b\[H\\x0dNo problems found\.\\x0a\\u\{202e\}gnp/);
    // A C1 CSI in a pod name (manifests are not validated as the API server would) shows as text in the pod table.
    expect(out).toContain('team-b/rogue\\x9b31m');
  });
});

describe('doctor on configured sources that do not answer', () => {
  let dir = '';
  let server: Server | undefined;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'mna-hostile-doctor-'));
    // A gRPC server without the CRI service, as containerd with its CRI plugin disabled answers: UNIMPLEMENTED.
    server = new Server();
    await bindUnix(server, path.join(dir, 'containerd.sock'));
  });
  afterAll(async () => {
    if (server) await shutdownUnix(server, path.join(dir, 'containerd.sock'));
    await rm(dir, { recursive: true, force: true });
  });

  it('a CRI endpoint without the CRI service (UNIMPLEMENTED) is named, exit 1', async () => {
    const r = await runAgent(['doctor', `--cri.endpoint=unix://${dir}/containerd.sock`, ...QUIET]);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.stdout).toMatch(/configured source not usable/);
    expect(r.stdout).toMatch(/container runtime \(--cri\.endpoint\): UNIMPLEMENTED/);
    expect(r.stdout).not.toMatch(/^No problems found\.$/m);
  }, 30_000);

  it('a CRI endpoint whose socket is missing is named, exit 1', async () => {
    const r = await runAgent(['doctor', `--cri.endpoint=unix://${dir}/missing.sock`, ...QUIET]);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.stdout).toMatch(/container runtime \(--cri\.endpoint\): UNAVAILABLE/);
    const json = await runAgent(['doctor', '--output=json', `--cri.endpoint=unix://${dir}/missing.sock`, ...QUIET]);
    expect(json.code).toBe(1);
    expect((JSON.parse(json.stdout) as { sources: { source: string }[] }).sources.map((s) => s.source)).toEqual(['container runtime (--cri.endpoint)']);
  }, 30_000);
});
