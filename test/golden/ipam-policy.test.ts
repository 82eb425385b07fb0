/**
 * Golden exposition of the IPAM, route and attachment-policy families: the seed's NADs read from
 * their manifests (storage with its allowed-pods policy), a NAD whose policy does not parse, the
 * host-local lease tree of collectors/ipam/testdata read by the real collector, two pods joined
 * by cgroup (one allowed on storage, one not), their routes as /proc would give them.
 * Regenerate with UPDATE_GOLDEN=1.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { joinPodNetns } from '../../agent/rules/attachments.js';
import { EMPTY_SNAPSHOT, type Snapshot } from '../../agent/model/snapshot.js';
import { type NetnsNetworking } from '../../agent/model/problems.js';
import { assess } from '../../agent/rules/assess.js';
import { hostLocalNetworks } from '../../agent/rules/ipam.js';
import { networkDefinitionFromObject } from '../../agent/multus/parse-nad.js';
import type { NetworkDefinition } from '../../agent/model/pods.js';
import { type PodUid } from '../../agent/model/ids.js';
import { joinHostLinks } from '../../agent/runtime/snapshot.js';
import { HostLocalIpamSource } from '../../collectors/ipam/host-local.js';
import { parseManifest } from '../../collectors/manifests/manifest-source.js';
import { writeFamilies } from '../../exporters/prometheus/exposition.js';
import { snapshotFamilies } from '../../exporters/prometheus/families.js';
import { netLink } from '../support/links.js';
import { netnsRef, pod, podMacvlan } from '../support/pods.js';
import { expositionComplaints } from '../support/exposition-invariant.js';

const GOLDEN = new URL('./ipam-policy.prom', import.meta.url);
const IPAM_ROOT = new URL('../../collectors/ipam/testdata/networks', import.meta.url).pathname;
const SEED_NADS = new URL('../../lab/manifests/seed/network-definitions.yaml', import.meta.url);
const SELF = 0;
const FAMILIES = /^multinet_(ipam_|pod_interface_route_mismatch|pod_network_policy_violation|network_attachment_definition_)/;

async function render(): Promise<string> {
  const docs = parseManifest(readFileSync(SEED_NADS, 'utf8'));
  if (!docs.ok) throw new Error(docs.error);
  const seed = docs.value.map((d) => networkDefinitionFromObject(d)).flatMap((p) => (p.ok ? [p.value] : []));
  const dual: NetworkDefinition = {
    ...(seed[1] as NetworkDefinition),
    name: 'dual',
    cniName: 'dual',
    master: 'eth4',
    ipam: { type: 'host-local', ranges: [{ subnet: '10.50.0.0/29', rangeStart: undefined, rangeEnd: undefined, gateway: undefined }, { subnet: 'fd50::/64', rangeStart: undefined, rangeEnd: undefined, gateway: undefined }], routes: [], dataDir: undefined },
    policy: { text: 'app in (a b)', selector: undefined, error: 'selector "app in (a b)": expected "," or ")" in "app in (...)", found "b"' },
  };
  const networks = [...seed, dual];
  const hostLinks = joinHostLinks([netLink({ ifindex: 2, name: 'eth1' }), netLink({ ifindex: 3, name: 'eth2' }), netLink({ ifindex: 4, name: 'eth3' })], undefined);
  const db = pod({ name: 'order-db', uid: '00000000-0000-0000-0000-00000000000d', labels: { app: 'order-db', 'hexagonal.io/adapter': 'database' }, requested: [{ name: 'storage-network', interface: 'net1' }] });
  const rogue = pod({ name: 'rogue', uid: '00000000-0000-0000-0000-00000000000e', labels: { app: 'rogue' }, requested: [{ name: 'data-network', interface: 'net1' }, { name: 'storage-network', interface: 'net2' }] });
  const podNetns = joinPodNetns({
    samples: [
      { ref: netnsRef(100, { podUid: db.uid as PodUid, pids: [10], containerId: '0e9e986859311b6abfd21c0f64e59f057dd276eb79359a73df' }), nsid: 1, links: [podMacvlan(3, 'net1', 'aa:00:00:00:00:01', 4, SELF)] },
      { ref: netnsRef(200, { podUid: rogue.uid as PodUid, pids: [20] }), nsid: 2, links: [podMacvlan(3, 'net1', 'aa:00:00:00:00:02', 3, SELF), podMacvlan(4, 'net2', 'aa:00:00:00:00:03', 4, SELF)] },
    ],
    selfNsid: SELF,
    hostLinks,
    pods: [db, rogue],
    networks,
  });
  const networking = new Map<number, NetnsNetworking>([
    [100, { addresses: [{ iface: 'net1', family: 4, address: '10.30.0.100', prefixLen: 24 }], routes: [{ family: 4, dst: '10.30.0.0/24', gateway: undefined, iface: 'net1' }] }],
    // The rogue pod's storage subnet leaves by eth0.
    [200, { addresses: [], routes: [{ family: 4, dst: '10.20.0.0/24', gateway: undefined, iface: 'net1' }, { family: 4, dst: '10.30.0.0/16', gateway: undefined, iface: 'eth0' }] }],
  ]);
  const nets = hostLocalNetworks(networks, IPAM_ROOT);
  const dirs = await new HostLocalIpamSource({ log: { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined }, waitForDetails: true }).read(nets, AbortSignal.timeout(5000));
  // Grace 0: judged whatever the fixture files' mtimes are after a checkout.
  const snapshot: Snapshot = { ...EMPTY_SNAPSHOT, takenAtMs: Date.now(), hostLinks, podNetns, pods: [db, rogue], networks, networking, ipam: { nets, dirs, leaksJudgeable: true, leakGraceMs: 0 } };
  return writeFamilies(snapshotFamilies(snapshot, assess(snapshot)).filter((f) => FAMILIES.test(f.name)));
}

describe('golden IPAM, route and policy families', () => {
  it('matches ipam-policy.prom', async () => {
    const text = await render();
    if (process.env.UPDATE_GOLDEN === '1') writeFileSync(GOLDEN, text);
    expect(text).toBe(readFileSync(GOLDEN, 'utf8'));
  });

  it('holds the exposition invariant, promtool check metrics included', async () => {
    expect(expositionComplaints(await render())).toBe('');
  });
});
