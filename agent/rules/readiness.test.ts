import { describe, expect, it } from 'vitest';
import type { NetLink } from '../model/domain.js';
import type { KubeEvent, LinkChange, LinkEventSource } from '../model/ports.js';
import { evaluateReadiness, requiredInterfaces } from './readiness.js';
import { ProblemReporter, ReadinessMonitor } from '../runtime/readiness-monitor.js';
import { netLink, recordingLogger } from '../../test/support/links.js';
import { macvlanNad, pod } from '../../test/support/pods.js';

const networks = [macvlanNad('mgmt-network', 'eth1', '10.10.0.0/24'), macvlanNad('data-network', 'eth2', '10.20.0.0/24'), macvlanNad('unused', 'eth9', '10.90.0.0/24')];
const pods = [
  pod({ name: 'hexagonal-app', requested: [{ name: 'mgmt-network', interface: 'net1' }, { name: 'data-network', interface: 'net2' }] }),
  pod({ name: 'order-service-1', requested: [{ name: 'data-network', interface: 'net1' }] }),
  pod({ name: 'listed-only', status: [{ name: 'cbr0', interface: 'eth0', default: true }, { name: 'default/data-network', interface: 'net1' }] }),
];
const host = (over: Partial<Record<'eth1' | 'eth2', Partial<NetLink>>> = {}): NetLink[] => [
  netLink({ ifindex: 2, name: 'eth1', ...over.eth1 }),
  netLink({ ifindex: 3, name: 'eth2', ...over.eth2 }),
];

describe('requiredInterfaces', () => {
  it('names the masters the pods on this node need, with their networks and attachments', () => {
    expect(requiredInterfaces(pods, networks)).toEqual([
      { interface: 'eth1', networks: ['default/mgmt-network'], attachments: 1 },
      { interface: 'eth2', networks: ['default/data-network'], attachments: 3 },
    ]);
  });

  it('ignores NADs that no pod uses and invalid NADs', () => {
    expect(requiredInterfaces(pods, [{ ...macvlanNad('mgmt-network', 'eth1', '10.10.0.0/24'), invalid: 'bad' }])).toEqual([]);
  });
});

describe('evaluateReadiness', () => {
  it.each([
    [{}, true, ''],
    [{ eth2: { adminUp: false, operstate: 'down' as const } }, false, 'admin down'],
    [{ eth2: { carrier: false, operstate: 'lowerlayerdown' as const } }, false, 'no carrier'],
  ])('%j', (over, ready, reason) => {
    const r = evaluateReadiness(requiredInterfaces(pods, networks), host(over)).find((x) => x.interface === 'eth2');
    expect([r?.ready, r?.reason]).toEqual([ready, reason]);
  });

  it('a missing master is not ready', () => {
    expect(evaluateReadiness(requiredInterfaces(pods, networks), host().slice(1)).find((x) => x.interface === 'eth1')).toMatchObject({ ready: false, reason: 'missing' });
  });
});

/** Link events by hand: what the kernel would announce. */
function manualLinkEvents(): LinkEventSource & { emit(c: LinkChange): void; resync(): void } {
  let change: (c: LinkChange) => void = () => {};
  let resync: () => void = () => {};
  return {
    start(onChange, onResync) {
      change = onChange;
      resync = onResync;
    },
    stop() {},
    emit: (c) => change(c),
    resync: () => resync(),
  };
}

describe('ReadinessMonitor', () => {
  it('turns a master going down and coming back into Node events, at once', async () => {
    const events: KubeEvent[] = [];
    const linkEvents = manualLinkEvents();
    const m = new ReadinessMonitor({
      links: { listLinks: async () => host(), close: () => {} },
      linkEvents,
      metadata: () => ({ pods, networks }),
      events: { record: (e) => events.push(e) },
      nodeName: 'node-1',
      log: recordingLogger().log,
    });
    await m.start(new AbortController().signal);
    expect(events).toEqual([]);
    linkEvents.emit({ removed: false, link: netLink({ ifindex: 3, name: 'eth2', adminUp: false, operstate: 'down' }) });
    linkEvents.emit({ removed: false, link: netLink({ ifindex: 3, name: 'eth2', adminUp: false, operstate: 'down' }) });
    linkEvents.emit({ removed: false, link: netLink({ ifindex: 3, name: 'eth2' }) });
    expect(events.map((e) => [e.involvedObject.kind, e.involvedObject.name, e.type, e.reason, e.message])).toEqual([
      ['Node', 'node-1', 'Warning', 'HostInterfaceNotReady', 'host interface eth2 is not ready (admin down): networks default/data-network (3 pod attachments on this node) depend on it'],
      ['Node', 'node-1', 'Normal', 'HostInterfaceReady', 'host interface eth2 is ready again: networks default/data-network (3 pod attachments on this node)'],
    ]);
    expect(m.current().map((r) => [r.interface, r.ready])).toEqual([
      ['eth1', true],
      ['eth2', true],
    ]);
  });

  it('says at start when a needed master is missing, on the Node and on each NAD naming it; urgently', async () => {
    const events: KubeEvent[] = [];
    const urgent: boolean[] = [];
    const m = new ReadinessMonitor({
      links: { listLinks: async () => host().slice(1), close: () => {} },
      linkEvents: manualLinkEvents(),
      metadata: () => ({ pods, networks }),
      events: {
        record: (e, opts) => {
          events.push(e);
          urgent.push(opts?.urgent === true);
        },
      },
      nodeName: 'node-1',
      log: recordingLogger().log,
    });
    await m.start(new AbortController().signal);
    expect(events.map((e) => [e.involvedObject.kind, e.involvedObject.name, e.reason])).toEqual([
      ['Node', 'node-1', 'HostInterfaceNotReady'],
      ['NetworkAttachmentDefinition', 'mgmt-network', 'MasterMissing'],
    ]);
    // Ahead of queued pod problem Events in the recorder (a master down gives one per pod).
    expect(urgent).toEqual([true, true]);
  });

  it('a link removed and a resync are followed', async () => {
    const events: KubeEvent[] = [];
    const linkEvents = manualLinkEvents();
    let links = host();
    const m = new ReadinessMonitor({
      links: { listLinks: async () => links, close: () => {} },
      linkEvents,
      metadata: () => ({ pods, networks }),
      events: { record: (e) => events.push(e) },
      nodeName: 'n',
      log: recordingLogger().log,
    });
    await m.start(new AbortController().signal);
    linkEvents.emit({ removed: true, link: netLink({ ifindex: 2, name: 'eth1' }) });
    expect(m.current().find((r) => r.interface === 'eth1')?.reason).toBe('missing');
    links = host();
    linkEvents.resync();
    await new Promise((r) => setTimeout(r, 10));
    expect(m.current().find((r) => r.interface === 'eth1')?.ready).toBe(true);
    expect(events.map((e) => e.reason)).toEqual(['HostInterfaceNotReady', 'MasterMissing', 'HostInterfaceReady']);
  });
});

describe('ProblemReporter', () => {
  it('announces each problem once while it lasts, and again if it comes back', () => {
    const events: KubeEvent[] = [];
    const r = new ProblemReporter({ record: (e) => events.push(e) }, () => 'uid-1');
    const p = { code: 'interface-down' as const, namespace: 'default', pod: 'order-service-abc123', interface: 'net2', network: 'data-network', message: 'net2 interface down (operstate down)', hints: [] };
    r.report([p]);
    r.report([p]);
    r.report([]);
    r.report([p]);
    expect(events.map((e) => [e.involvedObject.kind, e.involvedObject.name, e.involvedObject.uid, e.reason])).toEqual([
      ['Pod', 'order-service-abc123', 'uid-1', 'SecondaryInterfaceDown'],
      ['Pod', 'order-service-abc123', 'uid-1', 'SecondaryInterfaceDown'],
    ]);
  });
});

describe('SR-IOV readiness', () => {
  const sriovNad = { ...macvlanNad('sriov-data', 'unused', '10.50.0.0/24'), type: 'sriov', master: undefined, resourceName: 'intel.com/intel_sriov_netdevice' };
  const vfPod = pod({ name: 'dpdk-app', status: [{ name: 'default/sriov-data', interface: 'net1', pciAddress: '0000:3b:02.1' as never }] });
  const sriovWith = (numVfs: number) => ({
    pfs: [{ pciAddress: '0000:3b:00.0', netdevs: ['ens1f0'], netdev: 'ens1f0', linkLayer: 'ethernet', driver: 'ice', numVfs, totalVfs: 128, numaNode: 0, vendorId: '0x8086', deviceId: '0x159b', vfDeviceId: '0x1889', vfs: numVfs > 0 ? [{ index: 9, pciAddress: '0000:3b:02.1', driver: 'vfio-pci', netdev: undefined, sysfsStats: undefined, netlink: undefined }] : [] }],
  }) as never;

  it('finds the PF of the VF a pod got, and wants it to have VFs', () => {
    const required = requiredInterfaces([vfPod], [sriovNad], sriovWith(4));
    expect(required).toEqual([{ interface: 'ens1f0', networks: ['default/sriov-data'], attachments: 1 }]);
    const links = [netLink({ ifindex: 5, name: 'ens1f0' })];
    expect(evaluateReadiness(required, links, sriovWith(4))[0]).toMatchObject({ ready: true });
    expect(evaluateReadiness(required, links, { pfs: [{ ...(sriovWith(4) as { pfs: object[] }).pfs[0], numVfs: 0 }] } as never)[0]).toMatchObject({ ready: false, reason: 'no VFs' });
  });
});

describe('ReadinessMonitor and link churn', () => {
  it('does not re-evaluate for links no pod needs, and follows a rename of a needed one', async () => {
    let metadataReads = 0;
    const events: KubeEvent[] = [];
    const linkEvents = manualLinkEvents();
    const m = new ReadinessMonitor({
      links: { listLinks: async () => host(), close: () => {} },
      linkEvents,
      metadata: () => {
        metadataReads++;
        return { pods, networks };
      },
      events: { record: (e) => events.push(e) },
      nodeName: 'n',
      log: recordingLogger().log,
    });
    await m.start(new AbortController().signal);
    const reads = metadataReads;
    for (let i = 0; i < 50; i++) linkEvents.emit({ removed: false, link: netLink({ ifindex: 100 + i, name: `veth${i}`, kind: 'veth' }) });
    expect(metadataReads).toBe(reads);
    linkEvents.emit({ removed: false, link: netLink({ ifindex: 3, name: 'eth2-old' }) });
    expect(events.map((e) => [e.reason, e.involvedObject.name])).toEqual([
      ['HostInterfaceNotReady', 'n'],
      ['MasterMissing', 'data-network'],
    ]);
  });
});
