/**
 * Runs a real CNI plugin binary the way a runtime (or Multus, for a delegate) does: config on
 * stdin, CNI_* in the environment, result or error JSON on stdout (CNI spec, "Execution
 * protocol"). The plugin runs inside the lab's node namespace so that `master` names resolve there.
 */
import { spawn } from 'node:child_process';

/** One attachment to add or delete. */
export interface CniCall {
  readonly command: 'ADD' | 'DEL';
  /** Plugin config (a single plugin, with name and cniVersion). */
  readonly config: Readonly<Record<string, unknown>>;
  readonly containerId: string;
  readonly netnsPath: string;
  readonly ifname: string;
  /** `K8S_POD_NAMESPACE=...;K8S_POD_NAME=...` as Multus passes them. */
  readonly args: string;
  /** The namespace the plugin runs in (the lab node). */
  readonly runIn: string;
  readonly cniPath: string;
}

/** The parts of a CNI result (spec 0.3.x / 1.0) the lab uses. */
export interface CniResult {
  readonly interfaces?: readonly { readonly name: string; readonly mac?: string; readonly sandbox?: string }[];
  readonly ips?: readonly { readonly address: string; readonly gateway?: string; readonly interface?: number }[];
}

/** Runs the plugin; resolves to its result (ADD) or undefined (DEL); rejects with the plugin's error message. */
export function cniExec(call: CniCall): Promise<CniResult | undefined> {
  const type = String(call.config.type ?? '');
  if (!/^[a-z0-9-]+$/.test(type)) return Promise.reject(new Error(`bad CNI plugin type "${type}"`));
  return new Promise((resolve, reject) => {
    const child = spawn('ip', ['netns', 'exec', call.runIn, `${call.cniPath}/${type}`], {
      env: {
        PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
        CNI_COMMAND: call.command,
        CNI_CONTAINERID: call.containerId,
        CNI_NETNS: call.netnsPath,
        CNI_IFNAME: call.ifname,
        CNI_ARGS: call.args,
        CNI_PATH: call.cniPath,
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) {
        let msg = err.trim() || out.trim();
        try {
          const e = JSON.parse(out) as { msg?: string; details?: string };
          msg = [e.msg, e.details].filter(Boolean).join(': ');
        } catch {
          // not JSON: keep the raw text
        }
        reject(new Error(`${type} ${call.command} ${call.ifname}: ${msg || `exit ${code}`}`));
        return;
      }
      if (call.command === 'DEL' || out.trim() === '') resolve(undefined);
      else resolve(JSON.parse(out) as CniResult);
    });
    child.stdin.end(JSON.stringify(call.config));
  });
}
