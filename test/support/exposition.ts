/**
 * A minimal reader of the Prometheus text format, for asserting on whole /metrics bodies. Every
 * body it reads must first hold the exposition invariant (exposition-invariant.ts): a test that
 * parses a scrape cannot skip it.
 */
import { assertExposition } from './exposition-invariant.js';

/** One sample line. */
export interface ParsedSample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** Asserts the exposition invariant on `body` (raw bytes preferred), then parses every sample line. */
export function parseExposition(body: string | Uint8Array, where = ''): ParsedSample[] {
  const text = assertExposition(body, where);
  const out: ParsedSample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = LINE.exec(line);
    if (!m) throw new Error(`unreadable exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(LABEL)) labels[l[1] as string] = (l[2] as string).replace(/\\(.)/g, (_s, c: string) => (c === 'n' ? '\n' : c));
    out.push({ name: m[1] as string, labels, value: Number(m[3]) });
  }
  return out;
}

/** The samples of one family, keyed by the value of one label. */
export function byLabel(samples: readonly ParsedSample[], name: string, label: string): Map<string, ParsedSample> {
  return new Map(samples.filter((s) => s.name === name).map((s) => [s.labels[label] ?? '', s]));
}
