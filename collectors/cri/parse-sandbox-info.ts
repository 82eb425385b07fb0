/**
 * Where a pod sandbox's network namespace is, from the verbose `info` of a CRI
 * PodSandboxStatus. The CRI leaves `info` to the runtime; both containerd and CRI-O put one JSON
 * document under the key `info`, with different fields:
 *
 * - containerd (internal/cri/server/podsandbox/types/sandbox_info.go, `SandboxInfo`): `pid`,
 *   `processStatus`, `netNamespaceClosed`, `runtimeSpec` (the pause container's OCI spec: its
 *   `linux.namespaces` entry of type `network` has the `/var/run/netns/cni-...` path) and
 *   `sandboxMetadata` (`{"Version":"v1","Metadata":{..."NetNSPath":...}}`, Go field names).
 *   containerd/cri before 1.1 (2017) had a top-level `netNamespace` instead.
 * - CRI-O (server/sandbox_status.go, `createSandboxInfo`): `image`, `pid` and `runtimeSpec`; with
 *   the infra container dropped (`drop_infra_ctr`, the default since CRI-O 1.24) only
 *   `runtimeSpec`, whose network namespace is the one pinns made under `/var/run/netns/`.
 */

/** Which runtime's layout the info had. */
export type InfoLayout = 'containerd' | 'cri-o' | 'unknown';

/** The sandbox's network namespace as its info describes it. */
export interface SandboxNetnsInfo {
  readonly layout: InfoLayout;
  /** The namespace's path as the runtime sees it; undefined when not given (or closed). */
  readonly netnsPath: string | undefined;
  /** The sandbox process, when it runs. */
  readonly pid: number | undefined;
  /** Why nothing was found, when the info is missing or not JSON. */
  readonly problem?: string;
}

type Obj = Readonly<Record<string, unknown>>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const nonEmpty = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const positive = (v: unknown): number | undefined => (typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : undefined);

/** The `path` of the OCI spec's `network` namespace entry; a `network` entry without a path means "a new namespace", which names none. */
function specNetnsPath(spec: unknown): string | undefined {
  if (!isObj(spec) || !isObj(spec.linux) || !Array.isArray(spec.linux.namespaces)) return undefined;
  const entry = (spec.linux.namespaces as unknown[]).find((n) => isObj(n) && n.type === 'network');
  return isObj(entry) ? nonEmpty(entry.path) : undefined;
}

/** Reads the network namespace path and pid from a PodSandboxStatus `info` map (verbose). */
export function parseSandboxInfo(info: Readonly<Record<string, string>> | undefined): SandboxNetnsInfo {
  const raw = info?.['info'];
  if (raw === undefined) return { layout: 'unknown', netnsPath: undefined, pid: undefined, problem: 'no "info" key in the verbose status' };
  let doc: unknown;
  try {
    doc = JSON.parse(raw);
  } catch (err) {
    return { layout: 'unknown', netnsPath: undefined, pid: undefined, problem: `"info" is not JSON: ${err instanceof Error ? err.message : String(err)}` };
  }
  if (!isObj(doc)) return { layout: 'unknown', netnsPath: undefined, pid: undefined, problem: '"info" is not a JSON object' };

  const specPath = specNetnsPath(doc.runtimeSpec);
  if ('sandboxMetadata' in doc || 'processStatus' in doc || 'netNamespaceClosed' in doc) {
    const meta = isObj(doc.sandboxMetadata) && isObj(doc.sandboxMetadata.Metadata) ? doc.sandboxMetadata.Metadata : undefined;
    // A closed namespace (the sandbox is being torn down) names nothing any more.
    const closed = doc.netNamespaceClosed === true;
    const netnsPath = closed ? undefined : (specPath ?? nonEmpty(meta?.NetNSPath) ?? nonEmpty(doc.netNamespace));
    // The pid of a task that is not running (`created`, `stopped`, `deleted`) is stale.
    const running = doc.processStatus === undefined || doc.processStatus === 'running';
    return { layout: 'containerd', netnsPath, pid: running ? positive(doc.pid) : undefined };
  }
  if ('runtimeSpec' in doc) return { layout: 'cri-o', netnsPath: specPath, pid: positive(doc.pid) };
  return { layout: 'unknown', netnsPath: undefined, pid: positive(doc.pid), problem: 'neither containerd\'s nor CRI-O\'s layout' };
}
