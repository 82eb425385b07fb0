/**
 * What the lab builds from a folder of manifests: the NADs as they are, and pods from the Pods
 * and from each Deployment's template (its replicas, named as a ReplicaSet would name them).
 * Pure, apart from the random source it is given.
 */
import { parseNetworksAnnotation, NETWORKS_ANNOTATION } from '../agent/multus/parse-networks.js';
import type { NetworkSelection } from '../agent/model/pods.js';

/** A NAD as the lab uses it: its object and its plugin config. */
export interface LabNad {
  readonly namespace: string;
  readonly name: string;
  /** The parsed spec.config (a single plugin config). */
  readonly config: Readonly<Record<string, unknown>>;
  /** The object as read, for the manifests the lab writes. */
  readonly object: Readonly<Record<string, unknown>>;
}

/** A pod the lab will create. */
export interface LabPodPlan {
  readonly name: string;
  readonly namespace: string;
  readonly uid: string;
  readonly containerId: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly spec: Readonly<Record<string, unknown>>;
  readonly requested: readonly NetworkSelection[];
  /** Whether a process runs in it (in a kubepods cgroup), or only a bind mount holds it. */
  readonly withProcess: boolean;
}

/** Randomness the plan needs; tests pass a seeded one. */
export interface Random {
  uuid(): string;
  hex(bytes: number): string;
  /** Lowercase alphanumerics, as Kubernetes generates name suffixes. */
  suffix(length: number): string;
}

type Obj = Readonly<Record<string, unknown>>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const obj = (v: unknown): Obj => (isObj(v) ? v : {});
const strings = (v: unknown): Record<string, string> =>
  Object.fromEntries(Object.entries(obj(v)).filter((e): e is [string, string] => typeof e[1] === 'string'));

interface Template {
  readonly base: string;
  readonly namespace: string;
  readonly replicas: number;
  readonly fromDeployment: boolean;
  readonly metadata: Obj;
  readonly spec: Obj;
}

/** Flattens List kinds. */
function objectsOf(docs: readonly unknown[]): Obj[] {
  return docs.flatMap((d) => (isObj(d) && typeof d.kind === 'string' && d.kind.endsWith('List') && Array.isArray(d.items) ? d.items.filter(isObj) : isObj(d) ? [d] : []));
}

/** Reads NADs and pod templates from manifest documents; `pods` cycles the templates to that many pods. */
export function planLab(docs: readonly unknown[], opts: { readonly pods: number | undefined; readonly random: Random }): { nads: LabNad[]; pods: LabPodPlan[] } {
  const nads: LabNad[] = [];
  const templates: Template[] = [];
  for (const o of objectsOf(docs)) {
    const meta = obj(o.metadata);
    const namespace = typeof meta.namespace === 'string' ? meta.namespace : 'default';
    const name = typeof meta.name === 'string' ? meta.name : '';
    if (o.kind === 'NetworkAttachmentDefinition') {
      const config = JSON.parse(String(obj(o.spec).config ?? '{}')) as unknown;
      if (!isObj(config) || typeof config.type !== 'string') throw new Error(`NAD ${namespace}/${name}: the lab needs a single-plugin config`);
      nads.push({ namespace, name, config, object: o });
    } else if (o.kind === 'Pod') {
      templates.push({ base: name, namespace, replicas: 1, fromDeployment: false, metadata: meta, spec: obj(o.spec) });
    } else if (o.kind === 'Deployment') {
      const spec = obj(o.spec);
      const template = obj(spec.template);
      templates.push({
        base: name,
        namespace,
        replicas: typeof spec.replicas === 'number' ? spec.replicas : 1,
        fromDeployment: true,
        metadata: obj(template.metadata),
        spec: obj(template.spec),
      });
    }
  }
  // Each template once per replica, then round-robin over them until `pods` is reached.
  const instances: Template[] = templates.flatMap((t) => Array.from({ length: t.replicas }, () => t));
  const count = opts.pods ?? instances.length;
  const hashes = new Map<Template, string>();
  const used = new Set<string>();
  const pods: LabPodPlan[] = [];
  for (let i = 0; i < count && instances.length > 0; i++) {
    const t = instances[i % instances.length] as Template;
    let name = t.base;
    if (t.fromDeployment || i >= instances.length) {
      if (!hashes.has(t)) hashes.set(t, opts.random.suffix(9));
      do name = `${t.base}-${hashes.get(t)}-${opts.random.suffix(5)}`;
      while (used.has(name));
    }
    used.add(name);
    const annotations = strings(t.metadata.annotations);
    const requested = parseNetworksAnnotation(annotations[NETWORKS_ANNOTATION], t.namespace);
    if (!requested.ok) throw new Error(`pod ${t.namespace}/${name}: ${NETWORKS_ANNOTATION} does not parse: ${requested.error}`);
    pods.push({
      name,
      namespace: t.namespace,
      uid: opts.random.uuid(),
      containerId: opts.random.hex(32),
      labels: strings(t.metadata.labels),
      annotations,
      spec: t.spec,
      requested: requested.value,
      withProcess: i % 2 === 0,
    });
  }
  return { nads, pods };
}
