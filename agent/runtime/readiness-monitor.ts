/**
 * Keeps host-interface readiness current between scrapes: link changes arrive by rtnetlink
 * multicast and the interfaces that pods need are re-evaluated at once; a transition becomes a
 * Node Event (HostInterfaceNotReady / HostInterfaceReady) naming the networks and the pod
 * attachments that depend on the interface. Readiness is judged by the one rule the snapshot's
 * assessment also uses (hostInterfaceReadiness); the monitor only judges fresher links, fed by
 * events, so that a link change reaches a Node Event within a second rather than at the next
 * snapshot. Pod and NAD problems of the assessment become Events on those objects, once per
 * problem (the recorder dedupes repeats).
 */
import type { NetLink } from '../model/domain.js';
import { type Problem } from '../model/problems.js';
import type { NetworkDefinition, PodInfo } from '../model/pods.js';
import type { EventRecorderPort, KubeEvent, LinkChange, LinkEventSource, LinkSource, Logger } from '../model/ports.js';
import { hostInterfaceReadiness } from '../rules/readiness.js';
import { type InterfaceReadiness, type RequiredInterface } from '../model/readiness.js';
import { type SriovSnapshot } from '../model/sriov.js';

/** Options of {@link ReadinessMonitor}. */
export interface ReadinessMonitorOptions {
  readonly links: LinkSource;
  readonly linkEvents: LinkEventSource;
  /** Pods on this node and NADs, as the pod-metadata port knows them now. */
  readonly metadata: () => { readonly pods: readonly PodInfo[]; readonly networks: readonly NetworkDefinition[] };
  readonly events: EventRecorderPort | undefined;
  readonly nodeName: string;
  readonly log: Logger;
  /** Told of every transition (tests and the bench time them). */
  readonly onTransition?: (r: InterfaceReadiness) => void;
  /** The node's SR-IOV PFs and VFs as last seen (a PF a pod's VF hangs off is required, and needs VFs). */
  readonly sriov?: () => SriovSnapshot;
}

/** Event reasons, stable: alerts and runbooks match on them. */
export const EVENT_REASON = {
  notReady: 'HostInterfaceNotReady',
  ready: 'HostInterfaceReady',
  masterMissing: 'MasterMissing',
} as const;

/** Readiness Events go ahead of queued pod problem Events (a master down gives one per pod). */
const URGENT = { urgent: true } as const;

function describe(r: RequiredInterface): string {
  return `networks ${r.networks.join(', ')} (${r.attachments} pod attachment${r.attachments === 1 ? '' : 's'} on this node)`;
}

/** Host-interface readiness, kept current by link events. */
export class ReadinessMonitor {
  readonly #o: ReadinessMonitorOptions;
  readonly #byIndex = new Map<number, NetLink>();
  #required: readonly RequiredInterface[] = [];
  readonly #state = new Map<string, InterfaceReadiness>();
  #started = false;

  constructor(opts: ReadinessMonitorOptions) {
    this.#o = opts;
  }

  /** Reads the links, evaluates, and starts following link changes. */
  async start(signal: AbortSignal): Promise<void> {
    await this.#resync(signal);
    this.#o.linkEvents.start(
      (c) => this.#onLinkChange(c),
      () => void this.#resync(AbortSignal.timeout(5000)).catch((err: unknown) => this.#o.log.warn({ err }, 'link resync failed')),
    );
    this.#started = true;
  }

  stop(): void {
    if (this.#started) this.#o.linkEvents.stop();
    this.#started = false;
  }

  /** The last evaluation, one entry per required interface. */
  current(): readonly InterfaceReadiness[] {
    return [...this.#state.values()];
  }

  /** Pods or NADs changed: the set of required interfaces may have. */
  metadataChanged(): void {
    this.#evaluate();
  }

  async #resync(signal: AbortSignal): Promise<void> {
    const links = await this.#o.links.listLinks(signal);
    this.#byIndex.clear();
    for (const l of links) this.#byIndex.set(l.ifindex, l);
    this.#evaluate();
  }

  #onLinkChange(c: LinkChange): void {
    const before = this.#byIndex.get(c.link.ifindex)?.name;
    if (c.removed) this.#byIndex.delete(c.link.ifindex);
    else this.#byIndex.set(c.link.ifindex, c.link);
    // Only the interfaces pods need matter (veth churn does not); a rename counts under both names.
    if (this.#required.some((r) => r.interface === c.link.name || r.interface === before)) this.#evaluate();
  }

  #evaluate(): void {
    const { pods, networks } = this.#o.metadata();
    const sriov = this.#o.sriov?.() ?? { pfs: [] };
    // The same rule as the snapshot's assessment (agent/rules/assess.ts), on the links as the
    // events left them: between snapshots this is the fresher view, never a different judgment.
    const now = hostInterfaceReadiness(pods, networks, [...this.#byIndex.values()], sriov);
    this.#required = now;
    const names = new Set(now.map((r) => r.interface));
    for (const r of now) {
      const before = this.#state.get(r.interface);
      this.#state.set(r.interface, r);
      if (before?.ready === r.ready && before.reason === r.reason) continue;
      // First sight of a ready interface is no news; anything else is.
      if (!before && r.ready) continue;
      this.#o.onTransition?.(r);
      this.#emitNode(r);
      if (r.reason === 'missing') this.#emitMasterMissing(r, networks);
    }
    for (const name of this.#state.keys()) if (!names.has(name)) this.#state.delete(name);
  }

  #emitNode(r: InterfaceReadiness): void {
    const message = r.ready
      ? `host interface ${r.interface} is ready again: ${describe(r)}`
      : `host interface ${r.interface} is not ready (${r.reason}): ${describe(r)} depend on it`;
    this.#o.log.info({ interface: r.interface, ready: r.ready, reason: r.reason }, 'host interface readiness changed');
    this.#o.events?.record({
      involvedObject: { kind: 'Node', name: this.#o.nodeName, namespace: '', apiVersion: 'v1' },
      type: r.ready ? 'Normal' : 'Warning',
      reason: r.ready ? EVENT_REASON.ready : EVENT_REASON.notReady,
      message,
    }, URGENT);
  }

  #emitMasterMissing(r: InterfaceReadiness, networks: readonly NetworkDefinition[]): void {
    for (const full of r.networks) {
      const def = networks.find((n) => `${n.namespace}/${n.name}` === full);
      if (!def) continue;
      this.#o.events?.record({
        involvedObject: { kind: 'NetworkAttachmentDefinition', name: def.name, namespace: def.namespace, apiVersion: 'k8s.cni.cncf.io/v1' },
        type: 'Warning',
        reason: EVENT_REASON.masterMissing,
        message: `host interface ${r.interface} named by this network does not exist on node ${this.#o.nodeName}`,
      }, URGENT);
    }
  }
}

/** Pod and NAD Event reasons for the health rules' problem codes. */
export const PROBLEM_REASON: Readonly<Record<string, string>> = {
  'attachment-missing': 'NetworkAttachmentMissing',
  'interface-down': 'SecondaryInterfaceDown',
  'annotation-invalid': 'NetworkAnnotationInvalid',
  'mtu-above-master': 'MtuAboveMaster',
  'route-mismatch': 'NetworkRouteMismatch',
  'policy-violation': 'NetworkPolicyViolation',
  'ipam-exhausted': 'IpamRangeExhausted',
  'ipam-leaked': 'IpamAddressesLeaked',
  'no-address': 'NoAddress',
  'nad-missing': 'NetworkAttachmentDefinitionMissing',
  'nad-invalid': 'NetworkAttachmentDefinitionInvalid',
  'attachment-conflict': 'NetworkAttachmentConflict',
  'pod-capped': 'PodObjectsCapped',
  'vf-claim-conflict': 'VfClaimConflict',
};

/**
 * Turns problems into Events on their objects, once per problem while it lasts: a problem seen in
 * the previous evaluation is not announced again (and if it were, the recorder would fold it).
 * Host-interface problems are the monitor's: master-missing and master-down are left out here.
 */
export class ProblemReporter {
  readonly #events: EventRecorderPort;
  readonly #uids: (namespace: string, pod: string) => string | undefined;
  #last = new Set<string>();

  constructor(events: EventRecorderPort, uids: (namespace: string, pod: string) => string | undefined) {
    this.#events = events;
    this.#uids = uids;
  }

  report(problems: readonly Problem[]): void {
    const next = new Set<string>();
    for (const p of problems) {
      const reason = PROBLEM_REASON[p.code];
      if (!reason) continue;
      const key = `${p.code}/${p.namespace}/${p.pod}/${p.interface}/${p.network}`;
      next.add(key);
      if (this.#last.has(key)) continue;
      const involvedObject: KubeEvent['involvedObject'] = p.pod
        ? { kind: 'Pod', name: p.pod, namespace: p.namespace, apiVersion: 'v1', ...(this.#uids(p.namespace, p.pod) ? { uid: this.#uids(p.namespace, p.pod) } : {}) }
        : { kind: 'NetworkAttachmentDefinition', name: p.network, namespace: p.namespace, apiVersion: 'k8s.cni.cncf.io/v1' };
      this.#events.record({ involvedObject, type: 'Warning', reason, message: p.message });
    }
    this.#last = next;
  }
}
