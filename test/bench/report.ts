/**
 * What the bench prints: per case a table of both exporters, where the agent's time goes, the
 * ratio and the targets; and at the end one JSON line with every figure.
 */
import type { PreparedCase } from './cases.js';
import type { ExporterFigures, ExporterId, MeasureConfig, MeasureResult } from './protocol.js';

/** The targets: median scrape at most a tenth of node_exporter's, agent RSS at most 80 MB. */
export const TARGETS = { maxRatio: 0.1, maxAgentRssMB: 80 } as const;

/** Figures are printed in MB of 10^6 bytes. */
const MB = 1e6;

/** One measured case. */
export interface CaseReport {
  readonly name: string;
  /** Macvlan links the case created. */
  readonly links: number;
  readonly prepared: PreparedCase;
  readonly config: MeasureConfig;
  readonly result: MeasureResult;
}

/** The ratio and whether each target is met. */
export interface Verdict {
  readonly ratio: number;
  readonly ratioMet: boolean;
  readonly agentRssMB: number;
  readonly rssMet: boolean;
}

/** The figures of one exporter; throws if measure.ts did not report it. */
export function figuresOf(result: MeasureResult, id: ExporterId): ExporterFigures {
  const f = result.exporters.find((e) => e.id === id);
  if (!f) throw new Error(`no figures for ${id}`);
  return f;
}

/** Judges a case against {@link TARGETS}. */
export function verdictOf(result: MeasureResult): Verdict {
  const agent = figuresOf(result, 'agent');
  const nodeExporter = figuresOf(result, 'node_exporter');
  const ratio = agent.medianMs / nodeExporter.medianMs;
  const agentRssMB = agent.rssBytes / MB;
  return { ratio, ratioMet: ratio <= TARGETS.maxRatio, agentRssMB, rssMet: agentRssMB <= TARGETS.maxAgentRssMB };
}

const ms = (v: number): string => v.toFixed(1);
const mb = (v: number): string => (v / MB).toFixed(1);
const met = (ok: boolean): string => (ok ? 'met' : 'MISSED');

/** Right-aligned columns after a left-aligned first one. */
function table(rows: readonly (readonly string[])[]): string[] {
  const widths = (rows[0] ?? []).map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))).join('  '));
}

function exporterTable(result: MeasureResult): string[] {
  const header = ['exporter', 'links', 'median ms', 'p95 ms', 'RSS MB', 'peak RSS MB', 'series', 'bytes'];
  const rows = result.exporters.map((e) => [e.name, String(e.links), ms(e.medianMs), ms(e.p95Ms), mb(e.rssBytes), mb(e.peakRssBytes), String(e.series), String(e.bytes)]);
  return table([header, ...rows]);
}

function collectorList(f: ExporterFigures): string {
  return Object.entries(f.collectorMedianMs)
    .map(([name, v]) => `${name} ${ms(v)}`)
    .join(', ');
}

function agentSplit(result: MeasureResult): string[] {
  const agent = figuresOf(result, 'agent');
  const raw = result.rawDump.medianMs;
  const share = Math.round((raw / agent.medianMs) * 100);
  const cached = agent.cachedScrapes;
  const line = (label: string, value: number, note: string): string => `  ${label.padEnd(44)} ${ms(value).padStart(7)} ms  ${note}`;
  return [
    `agent time split (medians; the dump and listLinks timed in measure.js inside the namespace, ${result.rawDump.runs} runs each, paced like the scrapes):`,
    line('raw RTM_GETLINK dump alone', raw, `kernel round trip for ${result.dumpMessages} links, ${share}% of the full scrape`),
    line("listLinks: the dump plus the agent's parser", result.listLinks.medianMs, ''),
    `  the agent's own collector durations: ${collectorList(agent)} (ms)`,
    line('full /metrics scrape', agent.medianMs, `${ms(agent.medianMs - raw)} ms beyond the kernel round trip`),
    ...(cached
      ? [line('scrape answered from the snapshot cache', cached.medianMs, `rendering + HTTP alone; p95 ${ms(cached.p95Ms)} ms; ${cached.hits}/${cached.runs} reused the snapshot`)]
      : []),
  ].map((l) => l.trimEnd());
}

/** The human-readable report of one case. */
export function formatCase(report: CaseReport): string {
  const { config, result } = report;
  const agent = figuresOf(result, 'agent');
  const nodeExporter = figuresOf(result, 'node_exporter');
  const v = verdictOf(result);
  return [
    `case ${report.name}: ${report.prepared.description}`,
    `${config.warmups} warm-up + ${config.scrapes} timed scrapes per exporter, sequential, one exporter running at a time, whole body read, uncompressed.`,
    `Each scrape starts ${config.gapMs} ms after the previous one ended: longer than the agent serves a snapshot again (1 s), so every timed agent scrape builds a new one (fresh snapshots: ${agent.freshScrapes}/${config.scrapes}).`,
    `links = distinct interface names in the exposition; series = sample lines; bytes = body of the last scrape; MB = 10^6 bytes; RSS = VmRSS after the scrapes, peak = VmHWM.`,
    `commands, in netns ${report.prepared.netns} and a PID namespace of their own (unshare --pid --mount-proc):`,
    ...result.exporters.map((e) => `  ${e.name.padEnd(15)} ${e.command}   [${e.mode}]`),
    '',
    ...exporterTable(result),
    '',
    ...agentSplit(result),
    `node_exporter collector durations (medians, ms): ${collectorList(nodeExporter)}`,
    '',
    `ratio median(agent)/median(node_exporter) = ${v.ratio.toFixed(3)} (target <= ${TARGETS.maxRatio}): ${met(v.ratioMet)}`,
    `agent RSS ${v.agentRssMB.toFixed(1)} MB (target <= ${TARGETS.maxAgentRssMB} MB): ${met(v.rssMet)}`,
  ].join('\n');
}

function exporterJson(f: ExporterFigures): Record<string, unknown> {
  return {
    links: f.links,
    medianMs: round(f.medianMs),
    p95Ms: round(f.p95Ms),
    rssMB: round(f.rssBytes / MB),
    peakRssMB: round(f.peakRssBytes / MB),
    series: f.series,
    bytes: f.bytes,
    freshScrapes: f.freshScrapes,
    collectorMedianMs: Object.fromEntries(Object.entries(f.collectorMedianMs).map(([k, v]) => [k, round(v)])),
    scrapesMs: f.scrapesMs.map(round),
    ...(f.cachedScrapes
      ? { cachedScrape: { medianMs: round(f.cachedScrapes.medianMs), p95Ms: round(f.cachedScrapes.p95Ms), hits: f.cachedScrapes.hits, runs: f.cachedScrapes.runs } }
      : {}),
  };
}

function round(v: number): number {
  return Math.round(v * 100) / 100;
}

/** The machine-readable line: every case's figures and verdict. */
export function summaryJson(reports: readonly CaseReport[]): string {
  return JSON.stringify({
    bench: 'multinet-agent',
    cases: reports.map((r) => {
      const v = verdictOf(r.result);
      return {
        case: r.name,
        links: r.links,
        linksInNetns: r.prepared.linksInNetns,
        scrapes: r.config.scrapes,
        gapMs: r.config.gapMs,
        agent: exporterJson(figuresOf(r.result, 'agent')),
        nodeExporter: exporterJson(figuresOf(r.result, 'node_exporter')),
        rawDumpMedianMs: round(r.result.rawDump.medianMs),
        listLinksMedianMs: round(r.result.listLinks.medianMs),
        ratio: Math.round(v.ratio * 10_000) / 10_000,
        targets: {
          ratio: { max: TARGETS.maxRatio, met: v.ratioMet },
          agentRssMB: { max: TARGETS.maxAgentRssMB, met: v.rssMet },
        },
      };
    }),
  });
}
