/**
 * Writes the agent's Events as core/v1 Events, the way client-go's event recorder does: create
 * the Event object with count, first and last timestamps and its source, then raise `count`,
 * `lastTimestamp` and `message` of the same object with a strategic merge patch. Failures are
 * thrown as {@link KubeApiError} (with the HTTP status and Status reason: 409 AlreadyExists on
 * create, 404 NotFound on patch of an expired Event); the recorder decides what to retry.
 */
import type { EventSink, KubeEvent } from '../../agent/model/ports.js';
import { KubeApiError } from '../../collectors/kube/api-call.js';
import { KubeClient, PATCH } from '../../collectors/kube/kube-client.js';
import type { KubeClientConfig } from '../../collectors/kube/kube-config.js';

/** The component that Events name as their source. */
export const EVENT_COMPONENT = 'multinet-agent';

/** Options of {@link KubeEventSink}. */
export interface KubeEventSinkOptions {
  readonly kubeConfig: KubeClientConfig;
  /** This node's name: `source.host` of every Event. */
  readonly nodeName: string;
  /** Time allowed for one create or patch. Default 10 s. */
  readonly requestTimeoutMs?: number;
}

type CreateArgs = Parameters<EventSink['create']>[0];
type PatchArgs = Parameters<EventSink['patch']>[0];

/** An {@link EventSink} on the kube API. */
export class KubeEventSink implements EventSink {
  readonly #client: KubeClient;
  readonly #nodeName: string;
  readonly #timeoutMs: number;

  constructor(options: KubeEventSinkOptions) {
    this.#client = KubeClient.for(options.kubeConfig);
    this.#nodeName = options.nodeName;
    this.#timeoutMs = options.requestTimeoutMs ?? 10_000;
  }

  /** `POST /api/v1/namespaces/{namespace}/events`. */
  async create(e: CreateArgs): Promise<void> {
    try {
      const path = `/api/v1/namespaces/${encodeURIComponent(e.namespace)}/events`;
      await this.#client.request({ method: 'POST', path, body: this.#eventObject(e), signal: AbortSignal.timeout(this.#timeoutMs) });
    } catch (err) {
      throw new KubeApiError(`event ${e.namespace}/${e.name} create failed`, err);
    }
  }

  /**
   * `PATCH /api/v1/namespaces/{namespace}/events/{name}` as a strategic merge patch.
   */
  async patch(e: PatchArgs): Promise<void> {
    const body = { count: e.count, lastTimestamp: e.lastTimestamp.toISOString(), message: e.message };
    const path = `/api/v1/namespaces/${encodeURIComponent(e.namespace)}/events/${encodeURIComponent(e.name)}`;
    try {
      await this.#client.request({ method: 'PATCH', path, body, contentType: PATCH.strategicMerge, signal: AbortSignal.timeout(this.#timeoutMs) });
    } catch (err) {
      throw new KubeApiError(`event ${e.namespace}/${e.name} patch failed`, err);
    }
  }

  /** The core/v1 Event that {@link KubeEventSink.create} sends. */
  #eventObject(e: CreateArgs): Record<string, unknown> {
    const o: KubeEvent['involvedObject'] = e.event.involvedObject;
    return {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: e.name, namespace: e.namespace },
      involvedObject: {
        kind: o.kind,
        name: o.name,
        // A Node is cluster-scoped: its reference has no namespace.
        ...(o.namespace !== '' ? { namespace: o.namespace } : {}),
        ...(o.uid !== undefined ? { uid: o.uid } : {}),
        apiVersion: o.apiVersion,
      },
      reason: e.event.reason,
      message: e.event.message,
      type: e.event.type,
      count: e.count,
      firstTimestamp: e.firstTimestamp.toISOString(),
      lastTimestamp: e.lastTimestamp.toISOString(),
      source: { component: EVENT_COMPONENT, host: this.#nodeName },
      reportingComponent: EVENT_COMPONENT,
      reportingInstance: e.reportingInstance,
    };
  }
}
