/** The lab as the root suites drive it: the built lab CLI (dist/lab/bin.js, what `npm run lab` runs) under a name of their own. */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { readLabState, type PodState } from '../../lab/lab.js';
import { type AgentProcess } from './agent-process.js';
import { type ParsedSample } from './exposition.js';
import type { KubeApiServer, KubeObject } from './kube-api-server.js';
import { IS_ROOT } from './netns.js';
import { scrapeInNetns } from './scrape.js';

const run = promisify(execFile);

/** The lab's entry point (a developer tool, not part of the agent). */
export const LAB_BIN = new URL('../../dist/lab/bin.js', import.meta.url).pathname;

/** Where test labs keep their state (apart from a lab a developer runs by hand). */
export const LAB_STATE_ROOT = '/run/multinet-lab-test';

/** A pod of a test lab, as the lab recorded it. */
export type LabPodState = PodState;

/** The pods of the test lab `name`, as its state file records them. */
export async function labPods(name: string): Promise<LabPodState[]> {
  const state = await readLabState({ name, stateRoot: LAB_STATE_ROOT });
  if (!state) throw new Error(`lab ${name} has no state under ${LAB_STATE_ROOT}`);
  return state.pods;
}

/** A macvlan NAD beside the seed's, on the lab's spare master eth4, whose host-local range holds three addresses (.2-.4; the gateway .1 outside it): one to fill. */
export const TINY_NAD = `apiVersion: k8s.cni.cncf.io/v1
kind: NetworkAttachmentDefinition
metadata:
  name: tiny-network
  namespace: default
spec:
  config: '{"cniVersion":"0.3.1","type":"macvlan","master":"eth4","mode":"bridge","ipam":{"type":"host-local","subnet":"10.40.0.0/29","rangeStart":"10.40.0.2","rangeEnd":"10.40.0.4","gateway":"10.40.0.1"}}'
`;

/** Whether the lab can run here: root and the CNI plugins. */
export const LAB_POSSIBLE = IS_ROOT && existsSync('/usr/lib/cni/macvlan');

/** Says once why a lab suite is skipped; in CI a missing prerequisite is an error. */
export function requireLab(suite: string): void {
  if (LAB_POSSIBLE) return;
  if (process.env.CI) throw new Error(`${suite} must run as root with containernetworking-plugins in CI`);
  console.warn(`${suite} needs root and /usr/lib/cni (apt-get install containernetworking-plugins): skipped`);
}

const labNode = (name: string): string => `mnlab-${name}-node`;

/** A lab named `name`: its node namespace and a runner for `npm run lab -- ...`. */
export function testLab(name: string): { node: string; run(...args: string[]): Promise<{ code: number; out: string }> } {
  return {
    node: labNode(name),
    async run(...args) {
      try {
        const r = await run(process.execPath, [LAB_BIN, ...args, '--name', name, '--state-dir', LAB_STATE_ROOT], { encoding: 'utf8', maxBuffer: 16 << 20 });
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
  const res = await scrapeInNetns(node, `${agent.url}/metrics`);
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}: ${res.text.slice(0, 200)}`);
  return res.samples;
}

/** Options of {@link seedKubeApiFromLab}. */
export interface LabSeedOptions {
  /** Each NAD as the API serves it (labels added, say); default as the lab wrote it. */
  readonly nad?: (nad: KubeObject) => KubeObject;
  /** Pods besides the lab's, created after the NADs. */
  readonly extraPods?: readonly object[];
}

/**
 * Puts the lab `name`'s Pods and NADs (the manifests `lab up` wrote) into the kube API test
 * server, then `extraPods`, then the lab's Node, Ready. Returns the lab's Pods.
 */
export async function seedKubeApiFromLab(server: KubeApiServer, name: string, options: LabSeedOptions = {}): Promise<KubeObject[]> {
  const manifests = path.join(LAB_STATE_ROOT, name, 'manifests');
  const pods = JSON.parse(await readFile(path.join(manifests, 'pods.json'), 'utf8')) as { items: KubeObject[] };
  const nads = JSON.parse(await readFile(path.join(manifests, 'network-attachment-definitions.json'), 'utf8')) as { items: KubeObject[] };
  for (const p of pods.items) server.create('pods', p);
  for (const n of nads.items) server.create('network-attachment-definitions', options.nad ? options.nad(n) : n);
  for (const p of options.extraPods ?? []) server.create('pods', p);
  server.create('nodes', { apiVersion: 'v1', kind: 'Node', metadata: { name: labNode(name) }, status: { conditions: [{ type: 'Ready', status: 'True' }] } });
  return pods.items;
}
