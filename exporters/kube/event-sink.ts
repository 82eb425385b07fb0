/**
 * Writes the agent's Events as core/v1 Events, the way client-go's event recorder does: create
 * the Event object with count, first and last timestamps and its source, then raise `count`,
 * `lastTimestamp` and `message` of the same object with a strategic merge patch. Failures are
 * thrown as {@link KubeApiError} (with the HTTP status and Status reason: 409 AlreadyExists on
 * create, 404 NotFound on patch of an expired Event); the recorder decides what to retry.
 */
import { CoreV1Api, PatchStrategy, setHeaderOptions, type CoreV1Event, type KubeConfig } from '@kubernetes/client-node';
import type { EventSink, KubeEvent } from '../../agent/model/ports.js';
import { KubeApiError, withSignal } from '../../collectors/kube/api-call.js';

/** The component that Events name as their source. */
export const EVENT_COMPONENT = 'multinet-agent';

/** Options of {@link KubeEventSink}. */
export interface KubeEventSinkOptions {
  readonly kubeConfig: KubeConfig;
  /** This node's name: `source.host` of every Event. */
  readonly nodeName: string;
  /** Time allowed for one create or patch. Default 10 s. */
  readonly requestTimeoutMs?: number;
}

type CreateArgs = Parameters<EventSink['create']>[0];
type PatchArgs = Parameters<EventSink['patch']>[0];

/** An {@link EventSink} on the kube API. */
export class KubeEventSink implements EventSink {
  readonly #api: CoreV1Api;
  readonly #nodeName: string;
  readonly #timeoutMs: number;

  constructor(options: KubeEventSinkOptions) {
    this.#api = options.kubeConfig.makeApiClient(CoreV1Api);
    this.#nodeName = options.nodeName;
    this.#timeoutMs = options.requestTimeoutMs ?? 10_000;
  }

  /** `POST /api/v1/namespaces/{namespace}/events`. */
  async create(e: CreateArgs): Promise<void> {
    try {
      await this.#api.createNamespacedEvent({ namespace: e.namespace, body: this.#eventObject(e) }, withSignal(AbortSignal.timeout(this.#timeoutMs)));
    } catch (err) {
      throw new KubeApiError(`event ${e.namespace}/${e.name} create failed`, err);
    }
  }

  /**
   * `PATCH /api/v1/namespaces/{namespace}/events/{name}` as a strategic merge patch.
   * client-node 1.x picks the first patch type its generated code lists
   * (`application/json-patch+json`) unless the Content-Type is set through middleware.
   */
  async patch(e: PatchArgs): Promise<void> {
    const body = { count: e.count, lastTimestamp: e.lastTimestamp.toISOString(), message: e.message };
    const options = setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch, withSignal(AbortSignal.timeout(this.#timeoutMs)));
    try {
      await this.#api.patchNamespacedEvent({ name: e.name, namespace: e.namespace, body }, options);
    } catch (err) {
      throw new KubeApiError(`event ${e.namespace}/${e.name} patch failed`, err);
    }
  }

  /** The core/v1 Event that {@link KubeEventSink.create} sends. */
  #eventObject(e: CreateArgs): CoreV1Event {
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
      firstTimestamp: e.firstTimestamp,
      lastTimestamp: e.lastTimestamp,
      source: { component: EVENT_COMPONENT, host: this.#nodeName },
      reportingComponent: EVENT_COMPONENT,
      reportingInstance: e.reportingInstance,
    };
  }
}
