import { describe, expect, it } from 'vitest';
import { NO_DEVICE_INFO, type DeviceInfo, type HostLink, type NetLink, type NetnsRef } from '../model/domain.js';
import type { CollectorInputs, CollectorRun, PartName } from '../model/collector.js';
import { type IfIndex } from '../model/ids.js';
import { EMPTY_SNAPSHOT, type Snapshot } from '../model/snapshot.js';
import type { DeviceInfoSource, LinkSource } from '../model/ports.js';
import { buildSnapshot, checkCollectorOrder, FailureLog, joinHostLinks, runCollector } from './snapshot.js';
import { snapshotFrom } from '../../test/support/collectors.js';
import { netLink, recordingLogger } from '../../test/support/links.js';
import { netnsRef, networkDefinition, pod } from '../../test/support/pods.js';
import { type IpamStateSource } from '../model/ipam.js';

const links: NetLink[] = [
  netLink({ ifindex: 2, name: 'eno1' }),
  netLink({ ifindex: 5, name: 'br0', kind: 'bridge' }),
  netLink({ ifindex: 7, name: 'mv0', kind: 'macvlan', parentIfindex: 2 as IfIndex }),
  netLink({ ifindex: 8, name: 'veth1', kind: 'veth', masterIfindex: 5 as IfIndex, parentIfindex: 3 as IfIndex, parentNetnsid: 0 as never }),
  netLink({ ifindex: 9, name: 'orphan', kind: 'macvlan', parentIfindex: 42 as IfIndex }),
];

const linkSource = (l: readonly NetLink[]): LinkSource => ({ listLinks: async () => l, close: () => {} });

describe('joinHostLinks', () => {
  it('resolves parent and master names in this namespace only', () => {
    const byName = new Map<string, HostLink>(joinHostLinks(links, undefined).map((l) => [l.name, l]));
    expect(byName.get('mv0')?.parentName).toBe('eno1');
    expect(byName.get('veth1')?.masterName).toBe('br0');
    // veth1's peer lives in another namespace: its ifindex 3 means nothing here.
    expect(byName.get('veth1')?.parentName).toBe('');
    expect(byName.get('orphan')?.parentName).toBe('');
  });

  it('carries every field of the link', () => {
    // `{ [K in keyof NetLink]-?: ... }`: the compiler asks for every field, optional ones included,
    // so a field added to NetLink fails here until joinHostLinks copies it.
    const every: { [K in keyof NetLink]-?: NetLink[K] | string } = {
      ifindex: 4 as IfIndex,
      name: 'ens1f0' as NetLink['name'],
      kind: 'macvlan',
      slaveKind: 'bridge',
      parentIfindex: 2 as IfIndex,
      parentNetnsid: 3 as never,
      masterIfindex: 5 as IfIndex,
      adminUp: true,
      operstate: 'lowerlayerdown',
      carrier: false,
      carrierChanges: 7,
      mtu: 9000,
      mac: '02:00:00:00:00:01',
      counters: { rxBytes: 1n, rxPackets: 2n, rxErrors: 3n, rxDropped: 4n, rxMulticast: 5n, txBytes: 6n, txPackets: 7n, txErrors: 8n, txDropped: 9n },
      pciAddress: '0000:3b:00.0',
      vfInfo: 'a PF\'s VF info',
    };
    const [joined] = joinHostLinks([every as NetLink], undefined);
    for (const [key, value] of Object.entries(every)) expect(joined?.[key as keyof HostLink], key).toBe(value);
  });
});

describe('buildSnapshot', () => {
  it('reports a failing collector and keeps what the others read', async () => {
    const { log, lines } = recordingLogger();
    const devices: DeviceInfoSource = { describe: () => Promise.reject(new Error('sysfs gone')) };
    const s = await snapshotFrom({ links: linkSource(links), devices }, { collectorTimeoutMs: 1000, failures: new FailureLog(log) });
    expect(s.hostLinks.map((l) => l.name)).toEqual(['eno1', 'br0', 'mv0', 'veth1', 'orphan']);
    expect(s.collectors.map((c) => [c.name, c.success])).toEqual([
      ['netlink', true],
      ['sysfs', false],
    ]);
    expect(s.hostLinks[0]?.device.driver).toBeUndefined();
    expect(lines.map((l) => [l.level, l.msg])).toEqual([['warn', 'collector failed']]);
  });

  it('gives up on a collector that exceeds its budget and aborts its work', async () => {
    const { log } = recordingLogger();
    let aborted = false;
    const devices: DeviceInfoSource = {
      describe: (_l, signal) =>
        new Promise<ReadonlyMap<IfIndex, DeviceInfo>>((_resolve, reject) => {
          signal.addEventListener('abort', () => {
            aborted = true;
            reject(signal.reason);
          });
        }),
    };
    const s = await snapshotFrom({ links: linkSource(links), devices }, { collectorTimeoutMs: 20, failures: new FailureLog(log) });
    expect(aborted).toBe(true);
    expect(s.collectors.find((c) => c.name === 'sysfs')?.success).toBe(false);
    expect(s.hostLinks).toHaveLength(links.length);
  });

  it('ipam: a collector of its own; leaks judged only with the sandboxes in view', async () => {
    const { log } = recordingLogger();
    const nad = networkDefinition('default', 'storage', { type: 'macvlan', ipam: { type: 'host-local', ranges: [{ subnet: '10.30.0.0/24', rangeStart: undefined, rangeEnd: undefined, gateway: undefined }], routes: [], dataDir: '/d' } });
    const ipam: IpamStateSource = { read: async (dirs) => dirs.map((d) => ({ ...d, exists: true, allocations: [] })) };
    const netns = {
      discovery: { discover: () => ({ netns: [], deniedPids: 1 }) },
      links: { selfNsid: async () => 0, listIn: async () => undefined, concurrency: 1, retain: () => undefined, close: () => undefined },
    };
    const judge = async (over: { synced?: boolean; netns?: boolean; failing?: boolean }) => {
      const s = await snapshotFrom(
        {
          links: linkSource(links),
          devices: undefined,
          netns: over.netns === false ? undefined : netns,
          metadata: { pods: () => [], networks: () => [nad], synced: () => over.synced ?? true },
          ipam: { source: over.failing ? { read: () => Promise.reject(new Error('EACCES')) } : ipam, root: '/var/lib/cni/networks', leakGraceMs: 0 },
        },
        { collectorTimeoutMs: 1000, failures: new FailureLog(log) },
      );
      return [s.collectors.find((c) => c.name === 'ipam')?.success, s.ipam?.dirs.map((d) => d.dir), s.ipam?.leaksJudgeable];
    };
    expect(await judge({})).toEqual([true, ['/d/storage'], true]);
    expect(await judge({ synced: false })).toEqual([true, ['/d/storage'], false]);
    expect(await judge({ netns: false })).toEqual([true, ['/d/storage'], false]);
    expect(await judge({ failing: true })).toEqual([false, undefined, undefined]);
  });

  it('exports no links, and says so, when the link dump fails', async () => {
    const { log } = recordingLogger();
    const failing: LinkSource = { listLinks: () => Promise.reject(new Error('EPERM')), close: () => {} };
    const s = await snapshotFrom({ links: failing, devices: undefined }, { collectorTimeoutMs: 1000, failures: new FailureLog(log) });
    expect(s.hostLinks).toEqual([]);
    expect(s.collectors).toMatchObject([{ name: 'netlink', success: false }]);
  });
});

describe('FailureLog', () => {
  it('warns when a failure is new or its reason changes, then stays quiet, and says when it recovers', () => {
    const { log, lines } = recordingLogger();
    const f = new FailureLog(log);
    f.failed('netns', new Error('EPERM'));
    f.failed('netns', new Error('EPERM'));
    f.failed('netns', new Error('ETIMEDOUT'));
    f.succeeded('netns');
    f.succeeded('netns');
    expect(lines.map((l) => [l.level, l.msg])).toEqual([
      ['warn', 'collector failed'],
      ['debug', 'collector failed'],
      ['warn', 'collector failed'],
      ['info', 'collector recovered'],
    ]);
  });

  it('puts a missing capability in the collector status', async () => {
    const { log } = recordingLogger();
    const { CapabilityError } = await import('../model/errors.js');
    const s = await snapshotFrom(
      {
        links: linkSource(links),
        devices: undefined,
        netns: {
          discovery: { discover: () => ({ netns: [], deniedPids: 0 }) },
          links: { selfNsid: () => Promise.reject(new CapabilityError('CAP_NET_ADMIN', 'no')), listIn: async () => undefined, concurrency: 1, retain: () => {}, close: () => {} },
        },
      },
      { collectorTimeoutMs: 1000, failures: new FailureLog(log) },
    );
    expect(s.collectors.find((c) => c.name === 'netns')).toMatchObject({ success: false, error: 'no', missingCapability: 'CAP_NET_ADMIN' });
  });

  it('fails the collector when namespaces are denied to an agent lacking the capability, and still exports the ones it read; an agent that has it skips them', async () => {
    const { log, lines } = recordingLogger();
    const { CapabilityError } = await import('../model/errors.js');
    const { samplePodNetns } = await import('../../collectors/index.js');
    const ref = (inode: number, bindPath: string): NetnsRef => ({ inode, path: bindPath, bindPath, pids: [], podUid: undefined, containerId: undefined });
    const readable = ref(4026532001, '/run/netns/a');
    const refused = ref(4026532002, '/run/netns/b');
    const NET_ADMIN = 1n << 12n;
    const SYS_PTRACE = 1n << 19n;
    const build = async (capabilities: bigint, deniedPids: number, deny: string | undefined): Promise<{ status: unknown; inodes: number[] }> => {
      const collect = samplePodNetns({
        discovery: { discover: () => ({ netns: [readable, refused], deniedPids }) },
        links: {
          selfNsid: async () => 0,
          listIn: async (r: NetnsRef) => {
            if (r === refused && deny) throw new CapabilityError(deny, deny === 'CAP_NET_ADMIN' ? 'cannot dump the links of another network namespace (EACCES)' : `cannot open ${r.path} (EACCES)`);
            return { nsid: r.inode % 10, links: [] };
          },
          concurrency: 2,
          retain: () => {},
          close: () => {},
        },
        capabilities,
        log,
      });
      const ran = await runCollector('netns', 1000, new FailureLog(log), (signal) => (collect.kind === 'read' ? collect.run(signal, { parts: {}, networks: [] }) : Promise.reject(new Error('not read'))));
      return { status: ran.status, inodes: (ran.value?.samples ?? []).map((x) => x.ref.inode) };
    };
    // No NET_ADMIN: whatever the kernel said (here: nothing at all), pod namespaces exist and the agent cannot dump them.
    expect(await build(SYS_PTRACE, 0, undefined)).toMatchObject({ status: { success: false, missingCapability: 'CAP_NET_ADMIN', error: 'some pod network namespaces not read: cannot dump the links of another network namespace (CAP_NET_ADMIN)' } });
    const noPtrace = await build(NET_ADMIN, 3, 'CAP_SYS_PTRACE');
    expect(noPtrace).toMatchObject({ status: { success: false, missingCapability: 'CAP_SYS_PTRACE', error: 'some pod network namespaces not read: cannot read /proc/<pid>/ns/net of some processes (CAP_SYS_PTRACE)' }, inodes: [readable.inode] });
    expect((await build(NET_ADMIN, 0, 'CAP_SYS_PTRACE')).status).toMatchObject({ error: 'some pod network namespaces not read: cannot open a pod network namespace (EACCES) (CAP_SYS_PTRACE)' });
    // With both, a refused process or namespace is not a missing capability: skipped, said at debug.
    const both = await build(NET_ADMIN | SYS_PTRACE, 3, 'CAP_SYS_PTRACE');
    expect(both).toMatchObject({ status: { success: true }, inodes: [readable.inode] });
    expect(lines.some((l) => l.level === 'debug' && l.msg === 'denied although the agent has the capability; skipped')).toBe(true);
  });
});

describe('buildSnapshot with the container runtime (CRI)', () => {
  it('joins through the runtime\'s sandboxes while it answers, and not on a stale list while it does not', async () => {
    const { log } = recordingLogger();
    const p = pod({ name: 'l3-app', uid: '33333333-2222-3333-4444-555555555555', status: [{ name: 'default/data-network', interface: 'net1' }] });
    let connected = true;
    const sources = {
      links: linkSource(links),
      devices: undefined,
      netns: {
        discovery: { discover: () => ({ netns: [netnsRef(4026532100)], deniedPids: 0 }) },
        links: { selfNsid: async () => 0, listIn: async () => ({ nsid: 1, links: [netLink({ ifindex: 3, name: 'net1', kind: 'ipvlan' })] }), concurrency: 1, retain: () => {}, close: () => {} },
      },
      metadata: { pods: () => [p], networks: () => [] },
      sandboxes: {
        sandboxes: () => [{ id: 'sb1', namespace: 'default', name: 'l3-app', uid: p.uid ?? '', netnsPath: '/var/run/netns/cni-1', pid: undefined, netnsInode: 4026532100 }],
        status: () => ({ connected, lastError: connected ? undefined : 'UNAVAILABLE: No connection established' }),
      },
    };
    const up = await snapshotFrom(sources, { collectorTimeoutMs: 1000, failures: new FailureLog(log) });
    expect(up.podNetns.map((v) => [v.pod?.name, v.joinedBy, v.sandboxId])).toEqual([['l3-app', 'cri', 'sb1']]);
    expect(up.collectors.find((c) => c.name === 'cri')).toEqual({ name: 'cri', success: true, durationSeconds: 0 });
    connected = false;
    const down = await snapshotFrom(sources, { collectorTimeoutMs: 1000, failures: new FailureLog(log) });
    expect(down.podNetns.map((v) => [v.pod?.name, v.joinedBy, v.sandboxId])).toEqual([[undefined, 'none', undefined]]);
    expect(down.collectors.find((c) => c.name === 'cri')).toEqual({ name: 'cri', success: false, durationSeconds: 0, error: 'UNAVAILABLE: No connection established' });
  });
});

describe('buildSnapshot runs collectors as a DAG', () => {
  const run = (name: CollectorRun['name'], fills: PartName, dependsOn: PartName[], work: (inputs: CollectorInputs) => Promise<unknown>): CollectorRun =>
    ({ kind: 'read', name, fills, dependsOn, run: (_s: AbortSignal, inputs: CollectorInputs) => work(inputs) }) as unknown as CollectorRun;

  it('runs collectors that do not wait for each other at the same time, and a dependent one after its dependency', async () => {
    const { log } = recordingLogger();
    // Each of the two independent collectors finishes only once both have started: run one after the other, the first would time out.
    const started: string[] = [];
    let bothStarted: () => void = () => {};
    const barrier = new Promise<void>((r) => (bothStarted = r));
    const meet = async (who: string): Promise<void> => {
      started.push(who);
      if (started.length === 2) bothStarted();
      await barrier;
    };
    const collectors = [
      run('netlink', 'links', [], async () => {
        await meet('netlink');
        return links;
      }),
      run('sysfs', 'devices', ['links'], async (inputs) => new Map((inputs.parts.links ?? []).map((l) => [l.ifindex, { ...NO_DEVICE_INFO, driver: 'seen' }]))),
      run('sriov', 'sriov', [], async () => {
        await meet('sriov');
        return [];
      }),
    ];
    const s = await buildSnapshot(collectors, {}, { collectorTimeoutMs: 5000, failures: new FailureLog(log) });
    expect(s.collectors.map((c) => [c.name, c.success])).toEqual([
      ['netlink', true],
      ['sysfs', true],
      ['sriov', true],
    ]);
    // sysfs ran after the link dump: it described every link.
    expect(s.hostLinks.every((l) => l.device.driver === 'seen')).toBe(true);
  });

  it('refuses a collector that waits for a part filled after it (the list is the topological order)', () => {
    const noop = async (): Promise<unknown> => [];
    expect(() => checkCollectorOrder([run('sysfs', 'devices', ['links'], noop), run('netlink', 'links', [], noop)])).toThrow(/waits for links/);
    expect(() => checkCollectorOrder([run('netlink', 'links', [], noop), run('netlink', 'links', [], noop)])).toThrow(/filled twice/);
  });
});
