/**
 * One /metrics scrape over a kept-alive connection, as Prometheus does it: uncompressed (no
 * Accept-Encoding) so neither exporter spends time on gzip, or with `Accept-Encoding: gzip` as
 * Prometheus sends it; and what an exposition contains.
 */
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { gunzipSync } from 'node:zlib';

/** A completed scrape: wall time from request to the last body byte, and the body. */
export interface Scrape {
  readonly ms: number;
  readonly body: string;
  /** Bytes on the wire: compressed when `gzip` is set. */
  readonly bytes: number;
  /** Whether the answer came with Content-Encoding gzip. */
  readonly gzipped: boolean;
}

/** GETs `url` and reads the whole body; rejects on a status other than 200. */
export function scrape(url: string, agent: http.Agent, timeoutMs = 30_000, gzip = false): Promise<Scrape> {
  const started = performance.now();
  const headers: Record<string, string> = { Accept: 'text/plain;version=0.0.4', ...(gzip ? { 'Accept-Encoding': 'gzip' } : {}) };
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent, headers, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const ms = performance.now() - started;
        const raw = Buffer.concat(chunks);
        const gzipped = res.headers['content-encoding'] === 'gzip';
        const body = gzipped ? gunzipSync(raw) : raw;
        if (res.statusCode !== 200) reject(new Error(`GET ${url}: HTTP ${res.statusCode}: ${body.toString().slice(0, 200)}`));
        else resolve({ ms, body: body.toString(), bytes: raw.length, gzipped });
      });
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url}: no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}

/** What one exposition holds. */
export interface ExpositionStats {
  /** Sample lines: every line that is neither empty nor a `#` comment. */
  readonly series: number;
  /** Distinct interfaces: values of the interface label, told apart by the pod or netns label where a series has one. */
  readonly links: number;
  /** The exporter's own duration of each collector, seconds, keyed by the `collector` label. */
  readonly collectorSeconds: ReadonlyMap<string, number>;
}

/** Labels that, with the interface label, name one interface of a pod; host series have none of them. */
const POD_KEY_LABELS = ['namespace', 'pod', 'netns'] as const;

const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** Splits a sample line into metric name, labels and value. */
function parseSample(line: string): { name: string; labels: Map<string, string>; value: number } {
  const brace = line.indexOf('{');
  const space = line.lastIndexOf(' ');
  const close = line.lastIndexOf('}');
  const name = brace >= 0 ? line.slice(0, brace) : line.slice(0, space);
  const labels = new Map<string, string>();
  if (brace >= 0) for (const m of line.slice(brace + 1, close).matchAll(LABEL)) labels.set(m[1] as string, m[2] as string);
  return { name, labels, value: Number(line.slice(space + 1)) };
}

/** Counts series and interfaces and reads the per-collector durations of an exposition. */
export function expositionStats(body: string, linkLabel: string, collectorDurationMetric: string): ExpositionStats {
  let series = 0;
  const links = new Set<string>();
  const collectorSeconds = new Map<string, number>();
  for (const line of body.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    series++;
    const sample = parseSample(line);
    const link = sample.labels.get(linkLabel);
    // Every pod namespace has its own net1: the pod (or, for an unknown pod, netns) label tells them apart.
    if (link !== undefined) links.add(POD_KEY_LABELS.map((l) => sample.labels.get(l) ?? '').join('/') + `/${link}`);
    const collector = sample.labels.get('collector');
    if (sample.name === collectorDurationMetric && collector !== undefined) collectorSeconds.set(collector, sample.value);
  }
  return { series, links: links.size, collectorSeconds };
}

/** Samples of `metric` in an exposition, and how many of them have `label` set to one of `values`. */
export function countSamples(body: string, metric: string, label: string, values: ReadonlySet<string>): { all: number; named: number; withPod: number } {
  let all = 0;
  let named = 0;
  let withPod = 0;
  for (const line of body.split('\n')) {
    if (!line.startsWith(metric) || (line[metric.length] !== '{' && line[metric.length] !== ' ')) continue;
    all++;
    const labels = parseSample(line).labels;
    const value = labels.get(label);
    if (value !== undefined && values.has(value)) named++;
    if ((labels.get('pod') ?? '') !== '') withPod++;
  }
  return { all, named, withPod };
}
