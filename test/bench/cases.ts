/**
 * The bench cases: each builds the kernel objects of one scenario in throwaway namespaces and
 * names the namespace the exporters run in. Add a case by appending to {@link CASES}.
 *
 * The exporters run in a PID namespace of their own (see bench.ts), so the agent's netns
 * discovery sees no host process; which bind-mounted namespaces it sees is the case's choice,
 * through `--path.netns` in {@link PreparedCase.agentArgs}.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { benchNetnsName, type NetnsRegistry } from './netns.js';

/** What a case's setup and teardown are given. */
export interface CaseContext {
  /** How many macvlan links the case creates in all (`--links`, or the case's default). */
  readonly links: number;
  /** Where the case registers the namespaces it creates; they are removed even if setup fails. */
  readonly netns: NetnsRegistry;
  /** A private directory of this bench run, removed afterwards. */
  readonly workDir: string;
  /** Prints a progress line. */
  readonly progress: (line: string) => void;
}

/** A case ready to be measured. */
export interface PreparedCase {
  /** The namespace both exporters run and are scraped in. */
  readonly netns: string;
  /** Links the kernel shows in that namespace (`ip -o link | wc -l`), loopback included. */
  readonly linksInNetns: number;
  /** Flags the agent gets beyond its listen address and log level. */
  readonly agentArgs: readonly string[];
  /** One line saying what was built. */
  readonly description: string;
  /** Undoes setup; the runner also removes every registered namespace afterwards, also when setup failed. */
  teardown(): Promise<void>;
}

/** One bench scenario. */
export interface BenchCase {
  readonly name: string;
  readonly summary: string;
  readonly defaultLinks: number;
  setup(ctx: CaseContext): Promise<PreparedCase>;
}

/** Lower device of the macvlans: one end of a veth pair whose peer stays in the same namespace. */
const LOWER = 'mnab-lower';
const PEER = 'mnab-peer';

/** `ip -batch` lines: loopback up, the veth pair up, `count` bridge-mode macvlans, every other one up. */
export function macvlanBatch(count: number): string[] {
  const lines = ['link set lo up', `link add ${LOWER} type veth peer name ${PEER}`, `link set ${LOWER} up`, `link set ${PEER} up`];
  for (let i = 0; i < count; i++) lines.push(`link add mv${i} link ${LOWER} type macvlan mode bridge`);
  for (let i = 0; i < count; i += 2) lines.push(`link set mv${i} up`);
  return lines;
}

/** N macvlan links on one veth in one namespace: a node whose pods' macvlans all sit in the host namespace. */
const macvlanCase: BenchCase = {
  name: 'macvlan',
  summary: 'macvlan links on a veth, all in the namespace the exporters run in',
  defaultLinks: 750,
  async setup(ctx) {
    const netns = benchNetnsName();
    await ctx.netns.create(netns);
    ctx.progress(`creating ${ctx.links} macvlan links in netns ${netns}`);
    await ctx.netns.batch(netns, macvlanBatch(ctx.links));
    const linksInNetns = await ctx.netns.linkCount(netns);
    // No pods in this case: the agent's --path.netns is an empty directory, so it does not
    // pick up the bind mounts in /run/netns that other tools on the machine left there.
    const noPods = path.join(ctx.workDir, 'no-pods');
    await mkdir(noPods);
    const up = Math.ceil(ctx.links / 2);
    return {
      netns,
      linksInNetns,
      agentArgs: [`--path.netns=${noPods}`],
      description: `${ctx.links} bridge-mode macvlan links (${up} up) on a veth pair in netns ${netns}; ${linksInNetns} links in the namespace with lo and the veth pair; no pod namespaces`,
      teardown: () => ctx.netns.removeAll(),
    };
  },
};

/** Every case, in the order `npm run bench` runs them. */
export const CASES: readonly BenchCase[] = [macvlanCase];
