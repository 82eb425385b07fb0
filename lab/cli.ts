/** `npm run lab -- up|traffic|down|status|pod add|pod del` (lab/bin.ts): the seed's scenario on this machine (root). Not part of the shipped agent. */
import { randomBytes, randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { labDown, labPodAdd, labPodDel, labTraffic, labUp, readLabState, type LabOptions } from './lab.js';
import type { Random } from './plan.js';

/** The seed's manifests, shipped beside the code. */
export const SEED_MANIFESTS = fileURLToPath(new URL('../../lab/manifests/seed', import.meta.url));

export const USAGE = `usage: npm run lab -- up [--pods N] [--manifests DIR] [--name NAME]
       npm run lab -- traffic [--network NAD] [--seconds S] [--bitrate RATE] [--name NAME]
       npm run lab -- down [--name NAME]
       npm run lab -- status [--name NAME]
       npm run lab -- pod add --pod POD --networks NETS [--labels K=V,...] [--namespace NS] [--process yes|no] [--name NAME]
       npm run lab -- pod del --pod POD [--namespace NS] [--cni-del yes|no] [--name NAME]

Builds the seed scenario (3 macvlan NADs on eth1..eth3, the seed's pods) in network namespaces
on this machine with the real CNI plugins (${'$'}CNI_PATH, default /usr/lib/cni). Needs root.
  --name NAME        lab name (default seed); namespaces are mnlab-NAME-*
  --manifests DIR    Pods, Deployments and NADs to build (default: the seed's, lab/manifests/seed)
  --pods N           number of pods, cycling through the manifests' pods (default: as written)
  --network NAD      traffic: network for iperf3 (default data-network)
  --seconds S        traffic: iperf3 duration (default 3)
  --bitrate RATE     traffic: iperf3 target rate (default 200M)
  --state-dir DIR    where labs keep their state (default /run/multinet-lab)
  --pod POD          pod add/del: the pod's name
  --networks NETS    pod add: k8s.v1.cni.cncf.io/networks, either syntax (e.g. storage-network@net1)
  --labels K=V,...   pod add: the pod's labels
  --namespace NS     pod add/del: the pod's namespace (default default)
  --process yes|no   pod add: a process in a kubepods cgroup holds the namespace (default yes)
  --cni-del yes|no   pod del: run CNI DEL (default yes); no leaves host-local's leases behind, as a lost sandbox does
`;

const random: Random = {
  uuid: () => randomUUID(),
  hex: (bytes) => randomBytes(bytes).toString('hex'),
  suffix: (length) => Array.from(randomBytes(length), (b) => 'bcdfghjklmnpqrstvwxz2456789'[b % 27]).join(''),
};

function flags(argv: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (!a.startsWith('--')) throw new Error(`unexpected argument "${a}"`);
    const eq = a.indexOf('=');
    const name = eq >= 0 ? a.slice(2, eq) : a.slice(2);
    const value = eq >= 0 ? a.slice(eq + 1) : argv[++i];
    if (value === undefined) throw new Error(`--${name} needs a value`);
    out.set(name, value);
  }
  return out;
}

/** Runs a lab command; resolves to the exit status. */
export async function runLab(argv: readonly string[]): Promise<number> {
  const [first, ...afterFirst] = argv;
  // `lab pod add|del` is one command of two words.
  const [sub, rest] = first === 'pod' ? [`pod ${afterFirst[0] ?? ''}`, afterFirst.slice(1)] : [first, afterFirst];
  if (sub === undefined || sub === '--help' || sub === 'help') {
    process.stdout.write(USAGE);
    return sub === undefined ? 2 : 0;
  }
  let f: Map<string, string>;
  try {
    f = flags(rest);
    const known = new Set(['name', 'manifests', 'pods', 'network', 'seconds', 'bitrate', 'state-dir', 'pod', 'networks', 'labels', 'namespace', 'process', 'cni-del']);
    for (const k of f.keys()) if (!known.has(k)) throw new Error(`unknown flag --${k} (see npm run lab -- --help)`);
    if (f.has('pods') && !/^[1-9]\d*$/.test(f.get('pods') ?? '')) throw new Error(`--pods: "${f.get('pods')}" is not a positive number`);
    if (!/^[a-z0-9]{1,12}$/.test(f.get('name') ?? 'seed')) throw new Error('--name: 1-12 lowercase letters or digits');
  } catch (err) {
    process.stderr.write(`lab: ${(err as Error).message}\n`);
    return 2;
  }
  if (process.getuid?.() !== 0) {
    process.stderr.write('lab: needs root (network namespaces, CNI plugins, cgroups)\n');
    return 1;
  }
  const opts: LabOptions = {
    name: f.get('name') ?? 'seed',
    stateRoot: f.get('state-dir') ?? '/run/multinet-lab',
    cniPath: process.env.CNI_PATH ?? '/usr/lib/cni',
    log: (line) => process.stdout.write(`${line}\n`),
  };
  try {
    switch (sub) {
      case 'up': {
        const state = await labUp({ ...opts, manifests: f.get('manifests') ?? SEED_MANIFESTS, pods: f.has('pods') ? Number(f.get('pods')) : undefined, random });
        process.stdout.write(
          [
            '',
            `lab "${state.name}" is up: node namespace ${state.node} (masters ${state.masters.join(', ')}), ${state.pods.length} pods.`,
            'Look at it as the agent sees it (the node namespace plays the host):',
            `  ip netns exec ${state.node} node dist/agent/app/bin.js doctor --manifests ${state.manifestsDir}`,
            `  ip netns exec ${state.node} node dist/agent/app/bin.js --manifests ${state.manifestsDir} --web.listen-address=127.0.0.1:9739 &`,
            `  ip netns exec ${state.node} curl -s 127.0.0.1:9739/metrics | grep multinet_pod_interface_info`,
            `Send traffic: npm run lab -- traffic${state.name === 'seed' ? '' : ` --name ${state.name}`}; remove it: npm run lab -- down${state.name === 'seed' ? '' : ` --name ${state.name}`}`,
            '',
          ].join('\n'),
        );
        return 0;
      }
      case 'traffic':
        await labTraffic({ ...opts, network: f.get('network'), seconds: Number(f.get('seconds') ?? 3), bitrate: f.get('bitrate') ?? '200M' });
        return 0;
      case 'down':
        await labDown(opts);
        process.stdout.write(`lab "${opts.name}" is down\n`);
        return 0;
      case 'pod add': {
        const pod = f.get('pod');
        const networks = f.get('networks');
        if (!pod || !networks) throw new Error('pod add needs --pod and --networks');
        const labels: Record<string, string> = {};
        for (const kv of (f.get('labels') ?? '').split(',').filter(Boolean)) {
          const eq = kv.indexOf('=');
          if (eq <= 0) throw new Error(`--labels: "${kv}" is not KEY=VALUE`);
          labels[kv.slice(0, eq)] = kv.slice(eq + 1);
        }
        await labPodAdd({ ...opts, random, pod: { name: pod, namespace: f.get('namespace') ?? 'default', labels, networks, withProcess: f.get('process') !== 'no' } });
        return 0;
      }
      case 'pod del': {
        const pod = f.get('pod');
        if (!pod) throw new Error('pod del needs --pod');
        await labPodDel({ ...opts, pod, namespace: f.get('namespace') ?? 'default', cniDel: f.get('cni-del') !== 'no' });
        return 0;
      }
      case 'status': {
        const state = await readLabState(opts);
        process.stdout.write(state ? `${JSON.stringify(state, null, 1)}\n` : `lab "${opts.name}" is not up\n`);
        return state ? 0 : 1;
      }
      default:
        process.stderr.write(`lab: unknown command "${sub}" (up, traffic, down, status, pod add, pod del)\n`);
        return 2;
    }
  } catch (err) {
    process.stderr.write(`lab ${sub}: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}
