/**
 * What bench.ts (on the host) hands to measure.ts (inside the namespace) on its command line,
 * and the one JSON line measure.ts prints back on stdout.
 */

/** Which exporter a figure belongs to. */
export type ExporterId = 'agent' | 'node_exporter';

/** How measure.ts runs and scrapes. */
export interface MeasureConfig {
  /** dist/agent/bin.js of this build. */
  readonly agentBin: string;
  /** The case's extra agent flags. */
  readonly agentArgs: readonly string[];
  /** The node_exporter executable. */
  readonly nodeExporterBin: string;
  readonly warmups: number;
  readonly scrapes: number;
  /** Pause before each scrape, measured from the end of the previous one. */
  readonly gapMs: number;
  /** Timed runs of the raw RTM_GETLINK dump. */
  readonly dumpRuns: number;
}

/** The figures of one exporter. */
export interface ExporterFigures {
  readonly id: ExporterId;
  readonly name: string;
  readonly command: string;
  /** How the exporter reads the kernel, as configured. */
  readonly mode: string;
  /** Distinct interface names in the exposition. */
  readonly links: number;
  readonly scrapesMs: readonly number[];
  readonly medianMs: number;
  readonly p95Ms: number;
  /** VmRSS after the timed scrapes. */
  readonly rssBytes: number;
  /** VmHWM: the peak resident set of the process' life. */
  readonly peakRssBytes: number;
  /** Sample lines (not `#`) of the last scrape. */
  readonly series: number;
  /** Body size of the last scrape, uncompressed. */
  readonly bytes: number;
  /** Timed scrapes whose per-collector durations differ from the scrape before: built afresh, not served from a cache. */
  readonly freshScrapes: number;
  /** Median of the exporter's own per-collector duration metric, by collector, milliseconds. */
  readonly collectorMedianMs: Readonly<Record<string, number>>;
  /** Scrapes right after a fresh one, answered from the snapshot cache; only for an exporter that has one. */
  readonly cachedScrapes: CachedScrapeFigures | undefined;
}

/** Timing of scrapes that reuse the previous scrape's snapshot: rendering and HTTP alone. */
export interface CachedScrapeFigures {
  readonly runs: number;
  readonly medianMs: number;
  readonly p95Ms: number;
  /** Runs whose collector durations equal the fresh scrape's: the snapshot was indeed reused. */
  readonly hits: number;
}

/** Timing of an rtnetlink call made by measure.ts itself inside the namespace. */
export interface KernelFigures {
  readonly runs: number;
  readonly medianMs: number;
  readonly p95Ms: number;
}

/** Everything measure.ts reports. */
export interface MeasureResult {
  readonly exporters: readonly ExporterFigures[];
  /** NetlinkLinkSource.dumpRaw: the kernel round trip alone. */
  readonly rawDump: KernelFigures;
  /** NetlinkLinkSource.listLinks: the round trip plus the agent's parser. */
  readonly listLinks: KernelFigures;
  /** RTM_NEWLINK messages in one dump. */
  readonly dumpMessages: number;
}
