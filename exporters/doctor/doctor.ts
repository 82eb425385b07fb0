/**
 * `multinet-agent doctor`: what the agent sees on this node, as a table per pod, then the
 * problems found, in the words of the troubleshooting list. Two snapshots a second apart give
 * the rates.
 */
import { type Assessment } from '../../agent/model/assessment.js';
import { type PodInterface, type PodNetnsView } from '../../agent/model/attachments.js';
import type { NetnsRef } from '../../agent/model/domain.js';
import { type Snapshot } from '../../agent/model/snapshot.js';
import { type NetnsNetworking } from '../../agent/model/problems.js';
import { netnsLabel } from '../prometheus/pod-families.js';
import { pfLabel } from '../prometheus/sriov-families.js';

/** What the doctor needs from the wiring. */
export interface DoctorDeps {
  readonly snapshot: () => Promise<Snapshot>;
  readonly networking: (refs: readonly NetnsRef[]) => Promise<ReadonlyMap<number, NetnsNetworking>>;
  /** The rules' verdicts on a snapshot with the addresses and routes just read (agent/rules/assess.ts, wired by the app). */
  readonly assess: (snapshot: Snapshot, networking: ReadonlyMap<number, NetnsNetworking>) => Assessment;
  readonly sleep: (ms: number) => Promise<void>;
  readonly write: (text: string) => void;
  /** Seconds between the two samples; 1 by default. */
  readonly intervalSeconds?: number;
  /** Configured sources the wiring found unusable (the kube API not synced), besides the collectors' own statuses. */
  readonly sourceFindings?: () => Promise<readonly SourceFinding[]>;
  readonly output: 'table' | 'json';
}

/** A configured source of pod facts that does not answer: doctor names it and exits 1. */
export interface SourceFinding {
  /** What was configured, as the operator wrote it (`--cri.endpoint unix:///...`). */
  readonly source: string;
  readonly problem: string;
}

/** The flag that configures each cache-kind collector, for naming it in a finding. */
const SOURCE_OF_COLLECTOR: Readonly<Record<string, string>> = {
  cri: 'container runtime (--cri.endpoint)',
  podresources: 'kubelet PodResources (--path.podresources)',
};

/** Collectors that talk to a configured daemon and did not answer in the snapshot. */
export function collectorSourceFindings(snapshot: Snapshot): SourceFinding[] {
  return snapshot.collectors
    .filter((c) => !c.success && SOURCE_OF_COLLECTOR[c.name] !== undefined)
    .map((c) => ({ source: SOURCE_OF_COLLECTOR[c.name] as string, problem: c.error ?? 'not answering' }));
}

/**
 * Text from outside (pod, NAD and interface names, annotations, error messages) made safe for a
 * terminal: C0 and C1 control characters (ESC, CR, LF, ...), DEL and the bidirectional
 * overrides and isolates are shown as `\xNN` / `\u{NNNN}`, so no value can move the cursor,
 * start a new line, recolour the screen or reorder what follows it — the table cannot be forged.
 */
export function escapeControl(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, (c) => {
    const n = c.charCodeAt(0);
    return n <= 0xff ? `\\x${n.toString(16).padStart(2, '0')}` : `\\u{${n.toString(16)}}`;
  });
}

/** Receive and transmit rates of one interface in bits per second. */
interface Rate {
  readonly rxBps: number;
  readonly txBps: number;
}

const rateKey = (inode: number, ifname: string): string => `${inode}/${ifname}`;

function rates(before: Snapshot, after: Snapshot): Map<string, Rate> {
  const dt = (after.takenAtMs - before.takenAtMs) / 1000;
  const prev = new Map<string, PodInterface>();
  for (const v of before.podNetns) for (const i of v.interfaces) prev.set(rateKey(v.netns.inode, i.link.name), i);
  const out = new Map<string, Rate>();
  for (const v of after.podNetns) {
    for (const i of v.interfaces) {
      const p = prev.get(rateKey(v.netns.inode, i.link.name));
      const a = i.link.counters;
      const b = p?.link.counters;
      // A re-created interface (new ifindex) restarts its counters: no rate for it this time.
      if (!a || !b || p?.link.ifindex !== i.link.ifindex || dt <= 0) continue;
      out.set(rateKey(v.netns.inode, i.link.name), { rxBps: (Number(a.rxBytes - b.rxBytes) * 8) / dt, txBps: (Number(a.txBytes - b.txBytes) * 8) / dt });
    }
  }
  return out;
}

/** Bits per second, human-sized. */
export function formatBps(bps: number | undefined): string {
  if (bps === undefined) return '-';
  const units = ['bit/s', 'kbit/s', 'Mbit/s', 'Gbit/s'];
  let v = bps;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${v >= 100 || u === 0 ? v.toFixed(0) : v.toFixed(1)} ${units[u]}`;
}

function table(input: readonly (readonly string[])[]): string {
  const rows = input.map((r) => r.map(escapeControl));
  const widths = rows[0]?.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length))) ?? [];
  return rows.map((r) => r.map((cell, c) => cell.padEnd(widths[c] ?? 0)).join('  ').trimEnd()).join('\n');
}

/** Where the namespace is: its bind mount, else the path the runtime gave, else its first process. */
function netnsWhere(v: PodNetnsView): string {
  return v.netns.bindPath ?? v.sandbox?.netnsPath ?? `pid ${v.netns.pids[0] ?? '?'}`;
}

function podTitle(v: PodNetnsView): string {
  return escapeControl(
    v.pod
      ? `pod ${v.pod.namespace}/${v.pod.name}  (mapped by ${v.joinedBy}; netns ${netnsWhere(v)})`
      : v.sandbox
        ? // The runtime named it, but no pod the kube API or --manifests knows: say what the runtime said.
          `netns ${netnsLabel(v.netns)}  (runtime sandbox ${v.sandbox.id.slice(0, 13)} of ${v.sandbox.namespace}/${v.sandbox.name}, a pod the kube API or --manifests does not know; netns ${netnsWhere(v)})`
        : `netns ${netnsLabel(v.netns)}  (no pod known; ${v.netns.pids.length} processes)`,
  );
}

function interfaceRows(v: PodNetnsView, r: ReadonlyMap<string, Rate>, net: NetnsNetworking | undefined): string[][] {
  const rows = [['INTERFACE', 'NETWORK', 'KIND', 'MASTER', 'STATE', 'MTU', 'IPS', 'RX', 'TX', 'ERRORS', 'DROPS']];
  for (const i of v.interfaces) {
    const c = i.link.counters;
    const ips = net
      ? net.addresses.filter((a) => a.iface === i.link.name).map((a) => `${a.address}/${a.prefixLen}`)
      : [...(i.status?.ips ?? [])].map((ip) => `${ip} (status)`);
    const rate = r.get(rateKey(v.netns.inode, i.link.name));
    rows.push([
      i.link.name,
      i.network || (i.isDefault ? '(default)' : '-'),
      i.kind,
      i.master || '-',
      i.link.operstate,
      String(i.link.mtu ?? '-'),
      ips.join(',') || '-',
      formatBps(rate?.rxBps),
      formatBps(rate?.txBps),
      c ? `${c.rxErrors}/${c.txErrors}` : '-',
      c ? `${c.rxDropped}/${c.txDropped}` : '-',
    ]);
  }
  return rows;
}

/** One row per pod namespace: who it is and which source tied it to its pod (CRI sandbox, cgroup, network-status MACs). */
function podRows(views: readonly PodNetnsView[]): string[][] {
  const rows = [['POD', 'MAPPED BY', 'SANDBOX', 'NETNS', 'PROCESSES']];
  for (const v of views) {
    rows.push([
      v.pod ? `${v.pod.namespace}/${v.pod.name}` : v.sandbox ? `${v.sandbox.namespace}/${v.sandbox.name} (runtime)` : '-',
      v.joinedBy,
      v.sandboxId ? v.sandboxId.slice(0, 13) : '-',
      netnsWhere(v),
      String(v.netns.pids.length),
    ]);
  }
  return rows;
}

/** One row per VF: its PF, configuration, counters and user (sysfs stats where the driver has them, else netlink). */
function sriovRows(snapshot: Snapshot, users: Assessment['vfUsers']): string[][] {
  const rows = [['PF', 'VF', 'PCI', 'DRIVER', 'MAC', 'VLAN', 'SPOOFCHK', 'TRUST', 'LINK', 'RX BYTES', 'TX BYTES', 'POD', 'INTERFACE', 'NETWORK']];
  for (const pf of snapshot.sriov.pfs) {
    for (const vf of pf.vfs) {
      const nl = vf.netlink;
      const c = vf.sysfsStats ?? nl?.stats;
      const u = users.get(vf.pciAddress);
      const onOff = (v: boolean | undefined): string => (v === undefined ? '-' : v ? 'on' : 'off');
      rows.push([
        pfLabel(pf),
        String(vf.index),
        vf.pciAddress,
        vf.driver ?? '-',
        nl?.mac ?? '-',
        nl?.vlan ? `${nl.vlan}${nl.qos ? ` qos ${nl.qos}` : ''}` : '-',
        onOff(nl?.spoofCheck),
        onOff(nl?.trust),
        nl?.linkState ?? '-',
        c?.rxBytes !== undefined ? String(c.rxBytes) : '-',
        c?.txBytes !== undefined ? String(c.txBytes) : '-',
        u ? `${u.namespace}/${u.pod}` : '-',
        u?.interface || '-',
        u?.network || '-',
      ]);
    }
  }
  return rows;
}

/** Renders the report as text: the snapshot and its assessment (judged with `networking`, the addresses just read). */
export function renderDoctor(snapshot: Snapshot, assessment: Assessment, r: ReadonlyMap<string, Rate>, networking: ReadonlyMap<number, NetnsNetworking>, sources: readonly SourceFinding[] = collectorSourceFindings(snapshot)): string {
  const { problems } = assessment;
  const out: string[] = [];
  const withPod = snapshot.podNetns.filter((v) => v.pod);
  const without = snapshot.podNetns.filter((v) => !v.pod);
  out.push(`multinet doctor: ${snapshot.hostLinks.length} host interfaces, ${withPod.length} pods with a network namespace, ${without.length} other namespaces, ${snapshot.networks.length} NADs`, '');
  // A configured source that does not answer is a finding of its own (exit 1): the rest of the report is then partial.
  if (sources.length > 0) {
    out.push(`${sources.length} configured source${sources.length === 1 ? '' : 's'} not usable (what follows may be incomplete):`);
    for (const f of sources) out.push(`  ${escapeControl(f.source)}: ${escapeControl(f.problem)}`);
    out.push('');
  }
  const sorted = [...withPod].sort((a, b) => podTitle(a).localeCompare(podTitle(b)));
  // The table also lists the sandboxes the runtime named that no known pod matched (no --manifests, no kube API).
  const table1 = [...sorted, ...without.filter((v) => v.sandbox).sort((a, b) => podTitle(a).localeCompare(podTitle(b)))];
  if (table1.length > 0) out.push(table(podRows(table1)), '');
  for (const v of sorted) {
    out.push(podTitle(v), table(interfaceRows(v, r, networking.get(v.netns.inode))), '');
  }
  for (const v of without) if (v.interfaces.length > 0 || v.sandbox) out.push(podTitle(v), table(interfaceRows(v, r, networking.get(v.netns.inode))), '');
  if (snapshot.sriov.pfs.length > 0) {
    const vfs = snapshot.sriov.pfs.reduce((n, pf) => n + pf.vfs.length, 0);
    out.push(`SR-IOV: ${snapshot.sriov.pfs.length} PFs, ${vfs} VFs`, table(sriovRows(snapshot, assessment.vfUsers)), '');
  }
  const ipam = assessment.ipam;
  if (ipam.length > 0) {
    const rows = [['NETWORK', 'RANGE', 'ALLOCATED', 'CAPACITY', 'LEAKED', 'DIRECTORY']];
    for (const u of ipam) rows.push([u.network, u.range, String(u.allocated), String(u.capacity), u.leaked === undefined ? '-' : String(u.leaked), u.dir]);
    out.push('IPAM (host-local, this node):', table(rows), '');
  }
  for (const d of snapshot.ipam?.dirs ?? []) if (d.error !== undefined) out.push(escapeControl(`IPAM: lease directory ${d.dir} of network ${d.network} cannot be listed (${d.error}); its usage is unknown`), '');
  if (problems.length === 0) {
    out.push(sources.length === 0 ? 'No problems found.' : 'No problems found in what could be read.');
  } else {
    out.push(`${problems.length} problem${problems.length === 1 ? '' : 's'}:`);
    for (const p of problems) {
      const who = p.pod ? `${p.namespace}/${p.pod}` : p.network ? `nad ${p.namespace}/${p.network}` : '';
      out.push(escapeControl(`  [${p.code}] ${who}: ${p.message}`));
    }
    // What to check, once per kind of problem (the troubleshooting list).
    const byCode = new Map<string, readonly string[]>();
    for (const p of problems) if (!byCode.has(p.code)) byCode.set(p.code, p.hints);
    out.push('', 'What to check:');
    for (const [code, hints] of byCode) {
      out.push(`  ${code}:`);
      for (const h of hints) out.push(`    - ${escapeControl(h)}`);
    }
  }
  return `${out.join('\n')}\n`;
}

/** Runs the doctor; resolves to the exit status (1 when a problem is found). */
export async function runDoctor(deps: DoctorDeps): Promise<number> {
  const first = await deps.snapshot();
  await deps.sleep((deps.intervalSeconds ?? 1) * 1000);
  const second = await deps.snapshot();
  const networking = await deps.networking(second.podNetns.map((v) => v.netns));
  const assessment = deps.assess(second, networking);
  const { problems } = assessment;
  const r = rates(first, second);
  const sources = [...collectorSourceFindings(second), ...((await deps.sourceFindings?.()) ?? [])];
  if (deps.output === 'json') {
    deps.write(
      `${JSON.stringify(
        {
          pods: second.podNetns.map((v) => ({
            namespace: v.pod?.namespace ?? '',
            pod: v.pod?.name ?? '',
            netns: netnsLabel(v.netns),
            mappedBy: v.joinedBy,
            sandboxId: v.sandboxId ?? '',
            // What the runtime said of the sandbox, also when no known pod matched it (namespace and pod are then empty).
            sandbox: v.sandbox ? { id: v.sandbox.id, namespace: v.sandbox.namespace, name: v.sandbox.name, uid: v.sandbox.uid, netnsPath: v.sandbox.netnsPath ?? '' } : null,
            interfaces: v.interfaces.map((i) => ({
              interface: i.link.name,
              network: i.network,
              kind: i.kind,
              master: i.master,
              operstate: i.link.operstate,
              mtu: i.link.mtu,
              addresses: networking.get(v.netns.inode)?.addresses.filter((a) => a.iface === i.link.name) ?? [],
              ...r.get(rateKey(v.netns.inode, i.link.name)),
            })),
            attachments: v.attachments,
          })),
          ipam: assessment.ipam.map(({ nads: _nads, ...u }) => u),
          sources,
          problems,
        },
        null,
        2,
      )}\n`,
    );
  } else {
    deps.write(renderDoctor(second, assessment, r, networking, sources));
  }
  return problems.length > 0 || sources.length > 0 ? 1 : 0;
}
