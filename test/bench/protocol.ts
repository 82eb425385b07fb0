/**
 * What bench.ts (on the host) hands to measure.ts (inside the namespace) on its command line,
 * and the one JSON line measure.ts prints back on stdout.
 */

/** Which exporter a figure belongs to. */
export type ExporterId = 'agent' | 'node_exporter';

/** How measure.ts runs and scrapes. */
export interface MeasureConfig {
  /** dist/agent/app/bin.js of this build. */
  readonly agentBin: string;
  /** The case's extra agent flags. */
  readonly agentArgs: readonly string[];
  /** The node_exporter executable. */
  readonly nodeExporterBin: string;
  readonly warmups: number;
  readonly scrapes: number;
  /** Pause before each scrape, measured from the end of the previous one. */
  readonly gapMs: number;
  /** Timed runs of the raw RTM_GETLINK dump (and of the raw pod dumps). */
  readonly dumpRuns: number;
  /**
   * After the timed scrapes, the agent scraped `count` times at this interval (gzip, as
   * Prometheus asks), its CPU read over the whole time; undefined skips it.
   */
  readonly scrapeInterval: { readonly ms: number; readonly count: number } | undefined;
  /** The agent's --path.netns when the case has pod namespaces: measure.ts times their raw dumps. */
  readonly podNetnsDir: string | undefined;
  /** Interface names the case puts in every pod namespace (net1, net2, net3); none without pods. */
  readonly podInterfaceNames: readonly string[];
  /** Processes to start before the exporters, each in a pod's namespace and cgroup (relative to `cgroupController`'s hierarchy). */
  readonly podProcesses: readonly { readonly netnsFile: string; readonly cgroup: string }[];
  readonly cgroupController: string | undefined;
  /** An empty directory where measure.js mounts that hierarchy inside its own mount namespace. */
  readonly cgroupMountDir: string;
  /** Set a master down and up again, timing the agent's Event at the kube API and its /metrics; only with a kube API. */
  readonly readinessFlap: ReadinessFlapConfig | undefined;
}

/** Where the readiness flaps happen and where their Events arrive. */
export interface ReadinessFlapConfig {
  /** A master in the namespace measure.js runs in. */
  readonly iface: string;
  /** The kube API test server, reachable from that namespace; its bearer token. */
  readonly apiUrl: string;
  readonly token: string;
  /** Down + up cycles: two transitions each. */
  readonly cycles: number;
}

/** Latency from a master's state change (just before `ip link set`) to the agent's answer. */
export interface ReadinessFigures {
  readonly iface: string;
  readonly transitions: number;
  /** Per transition: to the Event (created or its count patched) arriving on a watch of the API, milliseconds; NaN where none came within the timeout. */
  readonly eventMs: readonly number[];
  /** Per transition: to the first /metrics scrape showing multinet_host_interface_ready at its new value. */
  readonly metricsMs: readonly number[];
}

/** CPU of an exporter scraped at an interval: all of it, and the quiet part of each interval. */
export interface IntervalCpu {
  readonly intervalMs: number;
  readonly intervals: number;
  /** From the first scrape to the end of the last interval. */
  readonly wallMs: number;
  readonly cpuMs: number;
  /** From 2 s after each scrape to the next: what the agent spends with no scrape to answer. */
  readonly quiet: { readonly wallMs: number; readonly cpuMs: number };
  /** Each interval's CPU, from its scrape to the next one, milliseconds: the spread the share is an average of. */
  readonly perIntervalCpuMs: readonly number[];
  /** VmRSS at the end, after a minute scraped at this interval. */
  readonly rssBytes: number;
}

/** CPU time of an exporter: the run time of its threads (cpu-time.ts). */
export interface CpuFigures {
  /** CPU over the timed scrapes, plain and gzip, pauses between them included, milliseconds. */
  readonly scrapesCpuMs: number;
  /** The timed scrapes of both kinds. */
  readonly scrapes: number;
  /** CPU while scraped at an interval (MeasureConfig.scrapeInterval); only where the case asks for it. */
  readonly atInterval: IntervalCpu | undefined;
}

/** `multinet_pod_interface_info` samples in one exposition. */
export interface PodInterfaceCount {
  /** All of them. */
  readonly all: number;
  /** Those whose `interface` is one the case created (net1..net3). */
  readonly named: number;
  /** Those with a non-empty `pod` label: mapped to their pod. */
  readonly withPod: number;
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
  /** Scrapes asking for gzip, as Prometheus does; only for an exporter that serves it. */
  readonly gzip: GzipFigures | undefined;
  /** Timed scrapes whose per-collector durations differ from the scrape before: built afresh, not served from a cache. */
  readonly freshScrapes: number;
  /** Median of the exporter's own per-collector duration metric, by collector, milliseconds. */
  readonly collectorMedianMs: Readonly<Record<string, number>>;
  /** Scrapes right after a fresh one, answered from the snapshot cache; only for an exporter that has one. */
  readonly cachedScrapes: CachedScrapeFigures | undefined;
  readonly cpu: CpuFigures;
  /** Pod interfaces in each timed scrape, in order; empty for an exporter that does not export them. */
  readonly podInterfaces: readonly PodInterfaceCount[];
}

/** Fresh scrapes with `Accept-Encoding: gzip`, after the plain ones, paced the same. */
export interface GzipFigures {
  readonly scrapes: number;
  readonly medianMs: number;
  readonly p95Ms: number;
  /** Compressed body of the last one. */
  readonly bytes: number;
  /** Its body after decompression: the plain exposition. */
  readonly plainBytes: number;
  /** CPU (run time of the threads) over these scrapes / scrapes. */
  readonly cpuMsPerScrape: number;
  /**
   * CPU of gzip itself: the plain body compressed by the agent's own compressor (ChunkedGzip,
   * zlib level 1) in measure.js (median of 20); only for the agent. The gzip and plain scrapes' CPU differ also by
   * where the agent's full garbage collection lands (every second scrape, so always in the
   * windows of one kind).
   */
  readonly compressCpuMs: number | undefined;
  /** Scrapes answered with Content-Encoding gzip. */
  readonly compressed: number;
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

/** The kernel work of the netns collector, timed by measure.ts on the case's pod namespaces. */
export interface PodKernelFigures {
  /** Bind mounts in the pod netns directory. */
  readonly namespaces: number;
  /** RTM_NEWLINK messages in all their dumps together. */
  readonly links: number;
  /** NetnsDiscovery.discover() alone: readdir and stat of the bind mounts, readlink of /proc/<pid>/ns/net. */
  readonly discovery: KernelFigures;
  /** For each namespace, one after the other on one socket: open, RTM_GETNSID, raw RTM_GETLINK dump, close. */
  readonly sequential: KernelFigures;
  /** As the agent runs them: as many sockets in flight as its pool has, RTM_GETNSID and the dump pipelined (one round trip). */
  readonly pooled: KernelFigures & { readonly sockets: number };
  /** The kernel floor: the node namespace's raw dump and the pooled pod dumps at once, nothing else. */
  readonly floor: KernelFigures;
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
  /** Only for a case with pod namespaces. */
  readonly pods: PodKernelFigures | undefined;
  /** Only for a case with a kube API. */
  readonly readiness: ReadinessFigures | undefined;
}
