/**
 * The exposition invariant every /metrics body a test sees must hold (issue 14): the Prometheus
 * text format 0.0.4 read strictly, plus `promtool check metrics`.
 *
 * - the bytes are valid UTF-8 (checked on the raw bytes when the caller has them; on a string,
 *   no lone surrogate, which would go out as U+FFFD);
 * - every line is a HELP, a TYPE, another comment, blank, or a sample, and ends with a line feed;
 * - HELP and TYPE at most once per family, before its first sample; a family's lines are one group;
 * - each sample belongs to the family declared for it (histogram `_bucket` with `le`, `_sum`,
 *   `_count`; summary `quantile`, `_sum`, `_count`; counter `name` or `name_total`);
 * - label names well-formed, not reserved (`__`), not repeated in one sample; label values use only
 *   the escapes `\\`, `\"`, `\n`; HELP only `\\` and `\n`; values and timestamps parse;
 * - no duplicate series: the same name and label set (in any order) twice;
 * - histogram buckets cumulative with a `+Inf` bucket equal to `_count`;
 * - `promtool check metrics` (Debian `prometheus`) finds nothing.
 *
 * promtool costs ~0.1 s a run, and tests scrape in polling loops, so it sees each family *shape*
 * once: a family's distinct lines with sample values and label values masked. Its lint works
 * family by family and reads just that (names, label names, HELP, TYPE); the syntax of the
 * masked parts, the order of the lines and duplicates are checked above, on every body.
 */
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);
/**
 * Go's strconv.ParseFloat as the text parser uses it, minus hex and underscores (the agent writes
 * neither). Its special values are case-insensitive: prom-client writes NaN as "Nan", which
 * Prometheus reads.
 */
const FLOAT = /^(?:[+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)|[+-]?(?:inf|infinity|nan))$/i;
const TIMESTAMP = /^-?\d+$/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Thrown by {@link assertExposition}: every violation found, one a line. */
export class ExpositionError extends Error {
  constructor(
    readonly violations: readonly string[],
    where: string,
  ) {
    super(`invalid exposition${where ? ` (${where})` : ''}:\n  ${violations.slice(0, 20).join('\n  ')}${violations.length > 20 ? `\n  … ${violations.length - 20} more` : ''}`);
    this.name = 'ExpositionError';
  }
}

interface Family {
  type?: string;
  help: boolean;
  sampled: boolean;
  closed: boolean;
}

/** Decodes `body` as UTF-8, strictly: invalid bytes (or lone surrogates in a string) are a violation. */
function decode(body: string | Uint8Array, out: string[]): string {
  if (typeof body === 'string') {
    if (LONE_SURROGATE.test(body)) out.push('not valid UTF-8: the text holds a lone surrogate (written as U+FFFD)');
    return body;
  }
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(body);
  } catch {
    const at = firstInvalidUtf8(body);
    out.push(`not valid UTF-8: invalid byte sequence at offset ${at}`);
    return new TextDecoder('utf-8').decode(body);
  }
}

/** The offset of the first invalid UTF-8 sequence (for the message). */
function firstInvalidUtf8(b: Uint8Array): number {
  for (let lo = 0, hi = b.length; ; ) {
    if (hi - lo <= 1) return lo;
    const mid = (lo + hi) >> 1;
    try {
      new TextDecoder('utf-8', { fatal: true }).decode(b.subarray(0, mid));
      lo = mid;
    } catch {
      hi = mid;
    }
  }
}

/**
 * Reads the label block of a sample after `{` at `i`; returns the labels and the index after `}`,
 * or a violation. Label values may hold any character but `"`, `\` and line feed unescaped.
 */
function readLabels(line: string, i: number): { labels: [string, string][]; end: number } | string {
  const labels: [string, string][] = [];
  for (;;) {
    if (line[i] === '}') return { labels, end: i + 1 };
    const eq = line.indexOf('=', i);
    if (eq < 0) return 'label without "="';
    const name = line.slice(i, eq);
    if (!LABEL_NAME.test(name)) return `malformed label name ${JSON.stringify(name)}`;
    if (line[eq + 1] !== '"') return `label ${name}: value not quoted`;
    let value = '';
    let j = eq + 2;
    for (;; j++) {
      const c = line[j];
      if (c === undefined) return `label ${name}: unterminated value`;
      if (c === '"') break;
      if (c === '\\') {
        const e = line[++j];
        if (e === '\\' || e === '"') value += e;
        else if (e === 'n') value += '\n';
        else return `label ${name}: invalid escape \\${e ?? ''}`;
      } else value += c;
    }
    labels.push([name, value]);
    i = j + 1;
    if (line[i] === ',') {
      i++;
      continue;
    }
    if (line[i] !== '}') return `label ${name}: expected "," or "}" after the value`;
  }
}

/** The family a sample named `name` belongs to, given the families declared so far. */
function familyOf(name: string, declared: ReadonlyMap<string, Family>): string {
  for (const suffix of ['_bucket', '_sum', '_count', '_total']) {
    if (!name.endsWith(suffix)) continue;
    const base = name.slice(0, -suffix.length);
    const t = declared.get(base)?.type;
    if (t === 'histogram' && suffix !== '_total') return base;
    if (t === 'summary' && (suffix === '_sum' || suffix === '_count')) return base;
    if (t === 'counter' && suffix === '_total' && !declared.has(name)) return base;
  }
  return name;
}

/** Every violation of the invariant except promtool's, in order of the lines. Pure; fast. */
export function expositionViolations(body: string | Uint8Array): string[] {
  const out: string[] = [];
  const text = decode(body, out);
  if (text.length > 0 && !text.endsWith('\n')) out.push('the body does not end with a line feed');
  const families = new Map<string, Family>();
  const series = new Set<string>();
  // Histogram checks: per family and label set (minus le), the buckets seen and the count.
  const buckets = new Map<string, { les: [number, number][]; count?: number }>();
  let current: string | undefined;
  const lines = text.split('\n');
  if (text.endsWith('\n')) lines.pop();
  const family = (name: string): Family => {
    let f = families.get(name);
    if (!f) families.set(name, (f = { help: false, sampled: false, closed: false }));
    return f;
  };
  const enter = (name: string, n: number, line: string): Family => {
    if (current !== name) {
      if (current !== undefined) family(current).closed = true;
      const f = family(name);
      if (f.closed) out.push(`line ${n}: family ${name} appears again after other families: ${line}`);
      current = name;
    }
    return family(name);
  };
  lines.forEach((line, idx) => {
    const n = idx + 1;
    if (line === '') return;
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) (\S+)(?: (.*))?$/.exec(line);
      if (!m) return; // another comment
      const [, kind, name, rest = ''] = m as unknown as [string, string, string, string?];
      if (!METRIC_NAME.test(name)) out.push(`line ${n}: malformed metric name in ${kind}: ${line}`);
      const f = enter(name, n, line);
      if (kind === 'HELP') {
        if (f.help) out.push(`line ${n}: second HELP for ${name}`);
        if (f.sampled) out.push(`line ${n}: HELP for ${name} after its samples`);
        if (/\\[^\\n]|\\$/.test(rest.replace(/\\\\/g, ''))) out.push(`line ${n}: HELP for ${name} has an invalid escape`);
        f.help = true;
      } else {
        if (f.type !== undefined) out.push(`line ${n}: second TYPE for ${name}`);
        if (f.sampled) out.push(`line ${n}: TYPE for ${name} after its samples`);
        if (!TYPES.has(rest)) out.push(`line ${n}: unknown type ${JSON.stringify(rest)} for ${name}`);
        f.type = rest;
      }
      return;
    }
    const nameEnd = line.search(/[{ ]/);
    const name = nameEnd < 0 ? line : line.slice(0, nameEnd);
    if (!METRIC_NAME.test(name)) {
      out.push(`line ${n}: malformed metric name: ${line}`);
      return;
    }
    let labels: [string, string][] = [];
    let i = nameEnd < 0 ? line.length : nameEnd;
    if (line[i] === '{') {
      const r = readLabels(line, i + 1);
      if (typeof r === 'string') {
        out.push(`line ${n}: ${r}: ${line}`);
        return;
      }
      ({ labels, end: i } = r);
    }
    const fields = line.slice(i).split(' ');
    if (fields[0] !== '' || fields.length < 2 || fields.length > 3 || fields.slice(1).some((f) => f === '')) {
      out.push(`line ${n}: expected one space, a value and an optional timestamp: ${line}`);
      return;
    }
    const value = fields[1] as string;
    if (!FLOAT.test(value)) out.push(`line ${n}: value ${JSON.stringify(value)} is not a float: ${line}`);
    if (fields[2] !== undefined && !TIMESTAMP.test(fields[2])) out.push(`line ${n}: timestamp ${JSON.stringify(fields[2])} is not an integer: ${line}`);
    const names = labels.map(([k]) => k);
    for (const k of names) if (k.startsWith('__')) out.push(`line ${n}: reserved label name ${k}: ${line}`);
    if (new Set(names).size !== names.length) out.push(`line ${n}: a label name repeated: ${line}`);

    const famName = familyOf(name, families);
    const f = enter(famName, n, line);
    f.sampled = true;
    const type = f.type ?? 'untyped';
    if (type === 'histogram') {
      if (name === famName) out.push(`line ${n}: histogram ${famName} sample without _bucket/_sum/_count: ${line}`);
      if (names.includes('le') !== name.endsWith('_bucket')) out.push(`line ${n}: histogram ${famName}: "le" belongs on _bucket only: ${line}`);
    } else if (type === 'summary') {
      if (names.includes('quantile') !== (name === famName)) out.push(`line ${n}: summary ${famName}: "quantile" belongs on the quantile samples only: ${line}`);
    } else if (name !== famName && type !== 'counter') {
      out.push(`line ${n}: sample ${name} in ${type} family ${famName}`);
    }

    const key = `${name}{${labels
      .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
      .sort()
      .join(',')}}`;
    if (series.has(key)) out.push(`line ${n}: duplicate series ${key}`);
    series.add(key);

    if (type === 'histogram') {
      const rest = `${famName}{${labels
        .filter(([k]) => k !== 'le')
        .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
        .sort()
        .join(',')}}`;
      let h = buckets.get(rest);
      if (!h) buckets.set(rest, (h = { les: [] }));
      const le = labels.find(([k]) => k === 'le')?.[1];
      if (name.endsWith('_bucket') && le !== undefined) {
        const bound = le === '+Inf' ? Infinity : Number(le);
        if (!FLOAT.test(le) || Number.isNaN(bound)) out.push(`line ${n}: le ${JSON.stringify(le)} is not a number`);
        else h.les.push([bound, Number(value)]);
      } else if (name.endsWith('_count')) h.count = Number(value);
    }
  });
  for (const [key, h] of buckets) {
    const les = [...h.les].sort((a, b) => a[0] - b[0]);
    if (les.length === 0) continue;
    if (les.at(-1)?.[0] !== Infinity) out.push(`histogram ${key} has no +Inf bucket`);
    for (let k = 1; k < les.length; k++) if ((les[k] as [number, number])[1] < (les[k - 1] as [number, number])[1]) out.push(`histogram ${key}: buckets not cumulative`);
    if (h.count !== undefined && les.at(-1)?.[0] === Infinity && les.at(-1)?.[1] !== h.count) out.push(`histogram ${key}: +Inf bucket differs from _count`);
  }
  for (const [name, f] of families) if (f.type !== undefined && !f.sampled && !f.help) out.push(`TYPE for ${name} without HELP or samples`);
  return out;
}

let promtoolState: 'unknown' | 'present' | 'missing' = 'unknown';
const promtoolClean = new Set<string>();

/**
 * The body's family blocks (HELP, TYPE and samples of one family; contiguous once the structure
 * holds), each with its shape: its distinct lines with label values and sample values masked.
 */
function familyBlocks(text: string): { shape: string; lines: string[] }[] {
  const types = new Map<string, Family>();
  const blocks = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    let family: string | undefined;
    const meta = /^# (HELP|TYPE) (\S+)(?: (.*))?$/.exec(line);
    if (meta) {
      family = meta[2] as string;
      if (meta[1] === 'TYPE') types.set(family, { type: meta[3] ?? '', help: true, sampled: false, closed: false });
    } else if (!line.startsWith('#')) family = familyOf(line.slice(0, line.search(/[{ ]/)), types);
    if (family === undefined) continue;
    let lines = blocks.get(family);
    if (!lines) blocks.set(family, (lines = []));
    lines.push(line);
  }
  return [...blocks.values()].map((lines) => {
    const masked = new Set(lines.map((line) => (line.startsWith('#') ? line : line.replace(/="(?:[^"\\]|\\.)*"/g, '=""').replace(/ \S+( -?\d+)?$/, ' 0'))));
    return { shape: createHash('sha256').update([...masked].join('\n')).digest('hex'), lines };
  });
}

/**
 * promtool's complaints about `text` ('' when clean, or when this shape was clean before).
 * Missing promtool throws in CI (CI=true: .ci/run installs it) and is said once elsewhere.
 */
export function promtoolViolations(text: string): string[] {
  if (promtoolState === 'unknown') {
    promtoolState = spawnSync('promtool', ['--version']).status === 0 ? 'present' : 'missing';
    if (promtoolState === 'missing') {
      if (process.env.CI) throw new Error('promtool is missing: .ci/run must install Debian package prometheus');
      console.warn('promtool not installed (apt-get install prometheus): the exposition invariant runs without it');
    }
  }
  if (promtoolState === 'missing') return [];
  // promtool lints family by family: only blocks of a shape not seen clean before go to it, in one run.
  const fresh = familyBlocks(text).filter((b) => !promtoolClean.has(b.shape));
  if (fresh.length === 0) return [];
  const r = spawnSync('promtool', ['check', 'metrics'], { input: `${fresh.map((b) => b.lines.join('\n')).join('\n\n')}\n`, encoding: 'utf8', maxBuffer: 64 << 20 });
  const said = `${r.stdout}${r.stderr}`.trim();
  if (r.status === 0 && said === '') {
    for (const b of fresh) promtoolClean.add(b.shape);
    return [];
  }
  return [`promtool check metrics (exit ${r.status}): ${said}`];
}

/**
 * Asserts the invariant on one exposition (raw bytes preferred) and returns its text. `where`
 * names the scrape in the error. Throws {@link ExpositionError} listing every violation.
 */
export function assertExposition(body: string | Uint8Array, where = ''): string {
  const violations = expositionViolations(body);
  const text = typeof body === 'string' ? body : new TextDecoder('utf-8').decode(body);
  if (violations.length === 0) violations.push(...promtoolViolations(text));
  if (violations.length > 0) throw new ExpositionError(violations, where);
  return text;
}

/** Every violation of `body`, promtool's included, one a line: '' when it holds the invariant. */
export function expositionComplaints(body: string | Uint8Array): string {
  const violations = expositionViolations(body);
  if (violations.length === 0) violations.push(...promtoolViolations(typeof body === 'string' ? body : new TextDecoder('utf-8').decode(body)));
  return violations.join('\n');
}
