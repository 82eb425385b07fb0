/**
 * A Pod object (parsed from a manifest or an API response) reduced to the {@link PodInfo} the
 * agent joins on: identity, node, labels, and the two Multus annotations parsed.
 */
import type { PodInfo, Parsed } from '../model/pods.js';
import { type PodUid } from '../model/ids.js';
import { isJsonObject } from './go-json.js';
import { readObjectMeta } from './object-meta.js';
import { readNetworkStatus } from './parse-network-status.js';
import { NETWORKS_ANNOTATION, parseNetworksAnnotation } from './parse-networks.js';

/**
 * The UIDs Kubernetes makes: an RFC 4122 UUID from the API server, or the 32 hex digits the
 * kubelet derives for a static pod from its manifest file.
 */
const POD_UID = /^(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{32})$/;

/** A pod UID as Kubernetes writes it, lowercased; undefined when the text is not one. */
export function parsePodUid(text: string): PodUid | undefined {
  const lower = text.toLowerCase();
  return POD_UID.test(lower) ? (lower as PodUid) : undefined;
}

/**
 * Reads a Pod object. An error means the object is not a usable pod (no `metadata.name`, a label
 * that is not a string, ...); bad Multus annotations are not errors here but land in
 * `requested` / `status` as `{ ok: false }`, so the pod itself is still known.
 */
export function podInfoFromObject(obj: unknown): Parsed<PodInfo> {
  const meta = readObjectMeta(obj);
  if (!meta.ok) return meta;
  const { namespace, name, uid, labels, annotations } = meta.value;
  const spec = isJsonObject(obj) ? obj['spec'] : undefined;
  const nodeName = isJsonObject(spec) ? spec['nodeName'] : undefined;
  if (nodeName !== undefined && nodeName !== null && typeof nodeName !== 'string') {
    return { ok: false, error: 'spec.nodeName is not a string' };
  }
  return {
    ok: true,
    value: {
      namespace,
      name,
      uid: uid === undefined ? undefined : parsePodUid(uid),
      nodeName: nodeName || undefined,
      labels,
      requested: parseNetworksAnnotation(annotations[NETWORKS_ANNOTATION], namespace),
      ...readNetworkStatus(annotations),
    },
  };
}
