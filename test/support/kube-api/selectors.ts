/**
 * Field and label selectors as the kube-apiserver reads them (apimachinery `pkg/fields` and
 * `pkg/labels`): comma-separated requirements that must all hold. Field selectors support `=`,
 * `==` and `!=` on the field labels a resource registers; label selectors add set-based
 * requirements (`in`, `notin`, `key`, `!key`).
 */

/** A parsed selector: a predicate, or the apiserver's BadRequest message. */
export type Selector = { readonly ok: true; readonly matches: (obj: unknown) => boolean } | { readonly ok: false; readonly error: string };

const EVERYTHING: Selector = { ok: true, matches: () => true };

/** Reads a dotted path (`spec.nodeName`) from an object; undefined when absent. */
export function fieldAt(obj: unknown, path: string): unknown {
  let cur: unknown = obj;
  for (const part of path.split('.')) {
    if (typeof cur !== 'object' || cur === null) return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

/**
 * A field selector over the given field labels. A field that is unset compares as '' (the
 * apiserver's field sets hold every registered label, empty when unset).
 */
export function parseFieldSelector(text: string | null, supported: ReadonlySet<string>): Selector {
  if (text === null || text.trim() === '') return EVERYTHING;
  const reqs: { field: string; value: string; equal: boolean }[] = [];
  for (const raw of splitTopLevel(text)) {
    const term = raw.trim();
    const m = /^([^=!]+?)\s*(==|=|!=)\s*(.*)$/.exec(term);
    if (!m) return { ok: false, error: `invalid selector: '${text}'; can't understand '${term}'` };
    const field = m[1] ?? '';
    if (!supported.has(field)) return { ok: false, error: `field label not supported: ${field}` };
    reqs.push({ field, value: m[3] ?? '', equal: m[2] !== '!=' });
  }
  return {
    ok: true,
    matches: (obj) =>
      reqs.every((r) => {
        const v = fieldAt(obj, r.field);
        const s = v === undefined || v === null ? '' : String(v);
        return (s === r.value) === r.equal;
      }),
  };
}

/** A label selector (equality- and set-based). */
export function parseLabelSelector(text: string | null): Selector {
  if (text === null || text.trim() === '') return EVERYTHING;
  const reqs: ((labels: Record<string, string>) => boolean)[] = [];
  for (const raw of splitTopLevel(text)) {
    const term = raw.trim();
    let m: RegExpExecArray | null;
    if ((m = /^([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(term))) {
      const key = m[1] ?? '';
      const values = new Set((m[3] ?? '').split(',').map((v) => v.trim()));
      const inSet = m[2] === 'in';
      reqs.push((l) => (inSet ? l[key] !== undefined && values.has(l[key]) : l[key] === undefined || !values.has(l[key])));
    } else if ((m = /^([\w./-]+)\s*(==|=|!=)\s*([\w./-]*)$/.exec(term))) {
      const key = m[1] ?? '';
      const value = m[3] ?? '';
      const equal = m[2] !== '!=';
      reqs.push((l) => (equal ? l[key] === value : l[key] !== value));
    } else if ((m = /^!([\w./-]+)$/.exec(term))) {
      const key = m[1] ?? '';
      reqs.push((l) => l[key] === undefined);
    } else if ((m = /^([\w./-]+)$/.exec(term))) {
      const key = m[1] ?? '';
      reqs.push((l) => l[key] !== undefined);
    } else {
      return { ok: false, error: `unable to parse requirement: ${term}` };
    }
  }
  return {
    ok: true,
    matches: (obj) => {
      const labels = fieldAt(obj, 'metadata.labels');
      const map = typeof labels === 'object' && labels !== null ? (labels as Record<string, string>) : {};
      return reqs.every((r) => r(map));
    },
  };
}

/** Splits on commas that are not inside parentheses. */
function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ',' && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts;
}
