/**
 * The PATCH bodies the kube-apiserver accepts, by Content-Type: JSON merge patch (RFC 7386),
 * strategic merge patch (a merge patch whose lists with a patch merge key are merged by that key,
 * apimachinery `strategicpatch`), and JSON patch (RFC 6902). Only what the tests send is covered
 * of strategic merge: merge keys by list path, `$patch: delete` on a list item.
 */

/** Patch content types, as `kubectl patch --type` sends them. */
export const PATCH_CONTENT_TYPES = {
  json: 'application/json-patch+json',
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
} as const;

type Json = unknown;

/** The outcome of applying a patch: the new object, or the apiserver's reason it is refused. */
export type PatchResult = { readonly ok: true; readonly value: Json } | { readonly ok: false; readonly error: string };

function isObject(v: Json): v is Record<string, Json> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** RFC 7386: objects merge key by key, null deletes, anything else replaces. */
export function mergePatch(target: Json, patch: Json): Json {
  if (!isObject(patch)) return structuredClone(patch);
  const out: Record<string, Json> = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

/**
 * Strategic merge: like a merge patch, except lists named in `mergeKeys` (dotted path → key field,
 * e.g. `status.conditions` → `type`) are merged item by item on that key.
 */
export function strategicMergePatch(target: Json, patch: Json, mergeKeys: Readonly<Record<string, string>>, path = ''): Json {
  if (!isObject(patch)) return structuredClone(patch);
  const out: Record<string, Json> = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    const here = path === '' ? k : `${path}.${k}`;
    const key = mergeKeys[here];
    if (v === null) delete out[k];
    else if (key !== undefined && Array.isArray(v)) out[k] = mergeList(Array.isArray(out[k]) ? (out[k] as Json[]) : [], v as Json[], key, mergeKeys, here);
    else out[k] = strategicMergePatch(out[k], v, mergeKeys, here);
  }
  return out;
}

function mergeList(current: readonly Json[], patch: readonly Json[], key: string, mergeKeys: Readonly<Record<string, string>>, path: string): Json[] {
  const out = [...current];
  for (const item of patch) {
    if (!isObject(item)) continue;
    const at = out.findIndex((c) => isObject(c) && c[key] === item[key]);
    if (item['$patch'] === 'delete') {
      if (at >= 0) out.splice(at, 1);
    } else if (at >= 0) {
      out[at] = strategicMergePatch(out[at], item, mergeKeys, path);
    } else {
      out.push(structuredClone(item));
    }
  }
  return out;
}

/** RFC 6902 with add, remove, replace and test. */
export function jsonPatch(target: Json, ops: Json): PatchResult {
  if (!Array.isArray(ops)) return { ok: false, error: 'json patch is not a list of operations' };
  let doc = structuredClone(target);
  for (const op of ops as Json[]) {
    if (!isObject(op) || typeof op['op'] !== 'string' || typeof op['path'] !== 'string') return { ok: false, error: 'invalid json patch operation' };
    const parts = op['path'] === '' ? [] : op['path'].split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
    const last = parts.pop();
    if (last === undefined) {
      if (op['op'] !== 'replace' && op['op'] !== 'add') return { ok: false, error: `cannot ${op['op']} the whole document` };
      doc = structuredClone(op['value']);
      continue;
    }
    let parent: Json = doc;
    for (const p of parts) {
      parent = Array.isArray(parent) ? parent[Number(p)] : isObject(parent) ? parent[p] : undefined;
      if (parent === undefined) return { ok: false, error: `doc is missing path: ${op['path']}` };
    }
    const exists = Array.isArray(parent) ? Number(last) < parent.length || last === '-' : isObject(parent) && last in parent;
    switch (op['op']) {
      case 'add':
        if (Array.isArray(parent)) parent.splice(last === '-' ? parent.length : Number(last), 0, structuredClone(op['value']));
        else if (isObject(parent)) parent[last] = structuredClone(op['value']);
        break;
      case 'replace':
        if (!exists) return { ok: false, error: `replace operation does not apply: doc is missing key: ${op['path']}` };
        if (Array.isArray(parent)) parent[Number(last)] = structuredClone(op['value']);
        else if (isObject(parent)) parent[last] = structuredClone(op['value']);
        break;
      case 'remove':
        if (!exists) return { ok: false, error: `remove operation does not apply: doc is missing path: ${op['path']}` };
        if (Array.isArray(parent)) parent.splice(Number(last), 1);
        else if (isObject(parent)) delete parent[last];
        break;
      case 'test': {
        const v = Array.isArray(parent) ? parent[Number(last)] : isObject(parent) ? parent[last] : undefined;
        if (JSON.stringify(v) !== JSON.stringify(op['value'])) return { ok: false, error: `testing value ${op['path']} failed` };
        break;
      }
      default:
        return { ok: false, error: `unsupported json patch operation: ${op['op']}` };
    }
  }
  return { ok: true, value: doc };
}
