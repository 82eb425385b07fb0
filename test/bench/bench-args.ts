/**
 * Command line of `npm run bench -- [flags]`, parsed the way agent/app/cli.ts parses the agent's:
 * pure, `--flag=value` or `--flag value`, an AgentError E_USAGE naming the bad flag.
 */
import { AgentError } from '../../agent/model/errors.js';

/** The fewest timed scrapes a p95 is reported over. */
export const MIN_SCRAPES = 20;

/**
 * Scrape intervals over which the CPU share of a case with a CPU target is read, by default. Four
 * (one minute at 15 s) read 0.70-1.02% on one build of the realistic case from run to run (issue
 * 17, ninth round): a 10 s route refresh and a mark-compact more or less in the window move it.
 */
export const DEFAULT_CPU_INTERVALS = 8;

/** What the bench was asked to do. */
export interface BenchOptions {
  /** Case names to run, in order; every case when `--case` is not given. */
  readonly cases: readonly string[];
  /** Macvlan links of the macvlan case instead of its default. */
  readonly links: number | undefined;
  /** Pod namespaces of the pods case instead of its default. */
  readonly pods: number | undefined;
  readonly scrapes: number;
  /** Scrape intervals the CPU share at the target's interval is read over. */
  readonly cpuIntervals: number;
  readonly nodeExporterBin: string;
  /**
   * The Node.js executable the agent and measure.js (the kernel floor) run on; undefined: the
   * bench's own. The image ships another Node than the one a machine may have (Dockerfile), and
   * its figures differ (issue 17, eleventh round).
   */
  readonly nodeBin: string | undefined;
  readonly help: boolean;
}

const FLAGS = ['case', 'links', 'pods', 'scrapes', 'cpu-intervals', 'node-exporter', 'node', 'help'] as const;
type Flag = (typeof FLAGS)[number];

/** The --help text, listing the case names and the default sizes it is given. */
export function benchUsage(caseNames: readonly string[], defaults: { readonly links: number; readonly pods: number; readonly podNetworks: number }): string {
  return [
    'usage: npm run bench -- [flags]   (as root)',
    '',
    'Times full /metrics scrapes and reads the RSS and CPU time of multinet-agent and of',
    'prometheus-node-exporter (netdev + netclass) on the same links in throwaway network namespaces.',
    '',
    'flags:',
    `  --case NAME            Run only this case (repeatable; cases: ${caseNames.join(', ')}). Default: all.`,
    `  --links N              Macvlan links of the macvlan case (default ${defaults.links}).`,
    `  --pods N               Pods of the pods, cni and cni-kube cases, ${defaults.podNetworks} macvlans each (default ${defaults.pods}).`,
    `  --scrapes N            Timed scrapes per exporter, at least ${MIN_SCRAPES} (default ${MIN_SCRAPES}).`,
    `  --cpu-intervals N      Scrape intervals the CPU share at a case's target interval is read over (default ${DEFAULT_CPU_INTERVALS}).`,
    '  --node-exporter BIN    node_exporter executable (default prometheus-node-exporter).',
    "  --node BIN             Node.js executable the agent and the kernel floor run on (default: the bench's own).",
    '  --help                 Print this help.',
    '',
  ].join('\n');
}

function usageError(message: string): AgentError {
  return new AgentError('E_USAGE', message);
}

function positiveInt(flag: Flag, value: string, min: number, max: number): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min || n > max) throw usageError(`--${flag}: "${value}" is not a whole number from ${min} to ${max}`);
  return n;
}

/** Parses argv (without node and the script) against the known case names. */
export function parseBenchArgs(argv: readonly string[], caseNames: readonly string[]): BenchOptions {
  const cases: string[] = [];
  let links: number | undefined;
  let pods: number | undefined;
  let scrapes = MIN_SCRAPES;
  let cpuIntervals = DEFAULT_CPU_INTERVALS;
  let nodeExporterBin = 'prometheus-node-exporter';
  let nodeBin: string | undefined;
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(arg);
    const flag = FLAGS.find((f) => f === m?.[1]);
    if (!m || !flag) throw usageError(`unknown argument "${arg}" (see --help)`);
    if (flag === 'help') {
      help = true;
      continue;
    }
    const value = m[2] ?? argv[++i];
    if (value === undefined) throw usageError(`--${flag} needs a value`);
    if (flag === 'case') {
      if (!caseNames.includes(value)) throw usageError(`--case: no case "${value}" (cases: ${caseNames.join(', ')})`);
      cases.push(value);
    } else if (flag === 'links') links = positiveInt(flag, value, 1, 4000);
    else if (flag === 'pods') pods = positiveInt(flag, value, 1, 1000);
    else if (flag === 'scrapes') scrapes = positiveInt(flag, value, MIN_SCRAPES, 10_000);
    else if (flag === 'cpu-intervals') cpuIntervals = positiveInt(flag, value, 1, 240);
    else if (flag === 'node') nodeBin = value;
    else nodeExporterBin = value;
  }
  return { cases: cases.length > 0 ? cases : [...caseNames], links, pods, scrapes, cpuIntervals, nodeExporterBin, nodeBin, help };
}
