/** The lab as the root suites drive it: the built CLI's `lab` command under a name of their own. */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { AGENT_BIN, type AgentProcess } from './agent-process.js';
import { parseExposition, type ParsedSample } from './exposition.js';
import { fetchInNetns, IS_ROOT } from './netns.js';

const run = promisify(execFile);

/** Where test labs keep their state (apart from a lab a developer runs by hand). */
export const LAB_STATE_ROOT = '/run/multinet-lab-test';

/** Whether the lab can run here: root and the CNI plugins. */
export const LAB_POSSIBLE = IS_ROOT && existsSync('/usr/lib/cni/macvlan');

/** Says once why a lab suite is skipped; in CI a missing prerequisite is an error. */
export function requireLab(suite: string): void {
  if (LAB_POSSIBLE) return;
  if (process.env.CI) throw new Error(`${suite} must run as root with containernetworking-plugins in CI`);
  console.warn(`${suite} needs root and /usr/lib/cni (apt-get install containernetworking-plugins): skipped`);
}

/** A lab named `name`: its node namespace and a runner for `multinet-agent lab ...`. */
export function testLab(name: string): { node: string; run(...args: string[]): Promise<{ code: number; out: string }> } {
  return {
    node: `mnlab-${name}-node`,
    async run(...args) {
      try {
        const r = await run(process.execPath, [AGENT_BIN, 'lab', ...args, '--name', name, '--state-dir', LAB_STATE_ROOT], { encoding: 'utf8', maxBuffer: 16 << 20 });
        return { code: 0, out: r.stdout };
      } catch (err) {
        const e = err as { code?: number; stdout?: string; stderr?: string };
        return { code: e.code ?? 1, out: `${e.stdout ?? ''}${e.stderr ?? ''}` };
      }
    },
  };
}

/**
 * Scrapes an agent running in `node`; `fresh` first waits past its 1 s snapshot reuse window,
 * so the answer reads the kernel anew. Throws on a status other than 200.
 */
export async function scrapeAgent(node: string, agent: AgentProcess | undefined, opts: { fresh: boolean }): Promise<ParsedSample[]> {
  if (!agent) throw new Error('no agent');
  if (opts.fresh) await new Promise((r) => setTimeout(r, 1100));
  const res = await fetchInNetns(node, `${agent.url}/metrics`);
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}: ${res.body.slice(0, 200)}`);
  return parseExposition(res.body);
}
