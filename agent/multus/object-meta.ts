/**
 * The `metadata` of a Kubernetes object as parsed from YAML or JSON (a manifest file or an API
 * response). Kubernetes decodes object fields case-sensitively and refuses a label or annotation
 * value that is not a string, so a wrong shape here is an error, not a guess.
 */
import type { Parsed } from '../model/pods.js';
import { isJsonObject, type JsonObject } from './go-json.js';

/** What the agent reads from `metadata`. */
export interface ObjectMeta {
  /** `metadata.namespace`; `default` when unset, as kubectl applies a manifest without one. */
  readonly namespace: string;
  readonly name: string;
  /** `metadata.uid` as written, when set. */
  readonly uid: string | undefined;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
}

/** Reads the `metadata` of an object; an error says why it is not a usable object. */
export function readObjectMeta(obj: unknown): Parsed<ObjectMeta> {
  if (!isJsonObject(obj)) return { ok: false, error: 'not an object' };
  const meta = obj['metadata'];
  if (!isJsonObject(meta)) return { ok: false, error: 'no metadata' };
  const name = meta['name'];
  if (typeof name !== 'string' || name === '') return { ok: false, error: 'no metadata.name' };
  const namespace = meta['namespace'] ?? '';
  if (typeof namespace !== 'string') return { ok: false, error: 'metadata.namespace is not a string' };
  const uid = meta['uid'] ?? '';
  if (typeof uid !== 'string') return { ok: false, error: 'metadata.uid is not a string' };
  const labels = stringMap(meta, 'labels');
  if (!labels.ok) return labels;
  const annotations = stringMap(meta, 'annotations');
  if (!annotations.ok) return annotations;
  return {
    ok: true,
    value: { namespace: namespace || 'default', name, uid: uid || undefined, labels: labels.value, annotations: annotations.value },
  };
}

/** `metadata.labels` / `metadata.annotations`: a map of strings, empty when unset. */
function stringMap(meta: JsonObject, key: 'labels' | 'annotations'): Parsed<Readonly<Record<string, string>>> {
  const value = meta[key];
  if (value === undefined || value === null) return { ok: true, value: {} };
  if (!isJsonObject(value)) return { ok: false, error: `metadata.${key} is not a map` };
  const entries = Object.entries(value);
  const wrong = entries.find(([, v]) => typeof v !== 'string');
  if (wrong !== undefined) return { ok: false, error: `metadata.${key}["${wrong[0]}"] is not a string` };
  // fromEntries defines own properties, so a key like "__proto__" stays a plain key.
  return { ok: true, value: Object.fromEntries(entries as [string, string][]) };
}
