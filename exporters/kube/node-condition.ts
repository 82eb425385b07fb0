/**
 * The optional Node condition (`--kube.node-condition`, off by default): host-interface readiness
 * as a condition on this node's status, `SecondaryNetworksReady`, so schedulers, descheduler
 * policies and `kubectl describe node` see it. Written with a strategic merge patch of
 * `status.conditions` (merge key `type`), as the node-problem-detector does; needs RBAC
 * `nodes/status` patch.
 */
import { type InterfaceReadiness } from '../../agent/model/readiness.js';
import { KubeApiError } from '../../collectors/kube/api-call.js';
import { KubeClient, PATCH } from '../../collectors/kube/kube-client.js';
import type { KubeClientConfig } from '../../collectors/kube/kube-config.js';

/** The condition type the agent owns on its Node. */
export const NODE_CONDITION_TYPE = 'SecondaryNetworksReady';

/** The condition for a readiness evaluation: True when every required host interface is ready. */
export function nodeCondition(readiness: readonly InterfaceReadiness[], now: Date, lastTransition: Date): Record<string, string> {
  const notReady = readiness.filter((r) => !r.ready);
  return {
    type: NODE_CONDITION_TYPE,
    status: notReady.length === 0 ? 'True' : 'False',
    reason: notReady.length === 0 ? 'HostInterfacesReady' : 'HostInterfaceNotReady',
    message:
      notReady.length === 0
        ? `all ${readiness.length} host interfaces that pod networks need are ready`
        : notReady.map((r) => `${r.interface} (${r.reason}: ${r.networks.join(', ')})`).join('; '),
    lastHeartbeatTime: now.toISOString(),
    lastTransitionTime: lastTransition.toISOString(),
  };
}

/** Patches the condition on the Node; only when the status flips or every `heartbeatMs`. */
export class NodeConditionWriter {
  readonly #client: KubeClient;
  readonly #nodeName: string;
  readonly #heartbeatMs: number;
  #last: { status: string; message: string; at: number } | undefined;
  #transition = new Date();

  constructor(opts: { kubeConfig: KubeClientConfig; nodeName: string; heartbeatMs?: number }) {
    this.#client = KubeClient.for(opts.kubeConfig);
    this.#nodeName = opts.nodeName;
    this.#heartbeatMs = opts.heartbeatMs ?? 60_000;
  }

  /** Writes the condition if it changed or its heartbeat is due; throws KubeApiError on failure. */
  async write(readiness: readonly InterfaceReadiness[]): Promise<boolean> {
    const now = new Date();
    const ready = readiness.every((r) => r.ready) ? 'True' : 'False';
    if (this.#last && this.#last.status !== ready) this.#transition = now;
    const condition = nodeCondition(readiness, now, this.#transition);
    if (this.#last && this.#last.status === ready && this.#last.message === condition.message && now.getTime() - this.#last.at < this.#heartbeatMs) return false;
    try {
      await this.#client.request({
        method: 'PATCH',
        path: `/api/v1/nodes/${encodeURIComponent(this.#nodeName)}/status`,
        body: { status: { conditions: [condition] } },
        contentType: PATCH.strategicMerge,
        signal: AbortSignal.timeout(10_000),
      });
    } catch (err) {
      throw new KubeApiError(`node ${this.#nodeName} condition patch failed`, err);
    }
    this.#last = { status: ready, message: condition.message ?? '', at: now.getTime() };
    return true;
  }
}
