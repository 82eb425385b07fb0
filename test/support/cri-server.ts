/**
 * A container runtime's CRI server for tests: the vendored `runtime.v1.RuntimeService` proto
 * served by grpc-js on a unix socket, answering Version, ListPodSandbox (with its id and state
 * filter) and PodSandboxStatus, whose verbose `info` is containerd's or CRI-O's document
 * (`collectors/cri/testdata/*.json`) with each sandbox's id, pod, pid and namespace path put in.
 * Tests set {@link CriServer.sandboxes} and drive faults: {@link CriServer.stop} (socket removed,
 * or left behind as after a crash, so a dial is refused), {@link CriServer.restart} (socket
 * re-created at the same path, as a restarted runtime does), {@link CriServer.failWith}.
 */
import { readFileSync } from 'node:fs';
import { status, type sendUnaryData, type ServerUnaryCall, type ServiceDefinition, type UntypedServiceImplementation } from '@grpc/grpc-js';
import { UnixGrpcServer } from './grpc-unix.js';
import { criGrpc } from './grpc-services.js';
import {
  type ListPodSandboxRequestMessage,
  type ListPodSandboxResponseMessage,
  type PodSandboxMessage,
  type PodSandboxStatusRequestMessage,
  type PodSandboxStatusResponseMessage,
  type VersionRequestMessage,
  type VersionResponseMessage,
} from '../../collectors/cri/cri-proto.js';

/** Which runtime's verbose info a sandbox is described with. */
export type InfoLayout = 'containerd' | 'cri-o' | 'cri-o-dropped-infra';

/** A pod sandbox the server reports. */
export interface TestSandbox {
  readonly id: string;
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  readonly layout: InfoLayout;
  /** The namespace path the runtime reports (`/var/run/netns/cni-...`); absent: none in the spec. */
  readonly netnsPath?: string;
  /** The pause process; absent: containerd reports 0 with processStatus "deleted", CRI-O leaves it out with a dropped infra container. */
  readonly pid?: number;
  readonly state?: 'SANDBOX_READY' | 'SANDBOX_NOTREADY';
  readonly hostNetwork?: boolean;
}

/** Calls answered, by method. */
export interface CriCalls {
  version: number;
  listPodSandbox: number;
  podSandboxStatus: number;
  /** PodSandboxStatus calls by sandbox id. */
  readonly statusById: Map<string, number>;
}

type Json = Record<string, unknown>;
const fixture = (file: string): Json => JSON.parse(readFileSync(new URL(`../../collectors/cri/testdata/${file}`, import.meta.url), 'utf8')) as Json;
const FIXTURES: Record<InfoLayout, Json> = {
  containerd: fixture('containerd-info.json'),
  'cri-o': fixture('crio-info.json'),
  'cri-o-dropped-infra': fixture('crio-info-dropped-infra.json'),
};

/** The OCI spec's namespaces with the network entry's path set (or dropped). */
function withNetnsPath(spec: Json, netnsPath: string | undefined): Json {
  const linux = spec.linux as Json;
  const namespaces = (linux.namespaces as Json[]).map((n) => {
    if (n.type !== 'network') return n;
    const { path: _old, ...rest } = n;
    return netnsPath === undefined ? rest : { ...rest, path: netnsPath };
  });
  return { ...spec, linux: { ...linux, namespaces } };
}

/** The `info["info"]` document a runtime of `s.layout` writes for `s`. */
export function sandboxInfo(s: TestSandbox): Json {
  const base = structuredClone(FIXTURES[s.layout]);
  const spec = withNetnsPath(base.runtimeSpec as Json, s.netnsPath);
  const annotations = { ...(spec.annotations as Record<string, string>) };
  if (s.layout === 'containerd') {
    Object.assign(annotations, { 'io.kubernetes.cri.sandbox-id': s.id, 'io.kubernetes.cri.sandbox-name': s.name, 'io.kubernetes.cri.sandbox-namespace': s.namespace, 'io.kubernetes.cri.sandbox-uid': s.uid });
    const sandboxMetadata = base.sandboxMetadata as { Version: string; Metadata: Json };
    return {
      ...base,
      pid: s.pid ?? 0,
      processStatus: s.pid !== undefined ? 'running' : 'deleted',
      config: { ...(base.config as Json), metadata: { name: s.name, uid: s.uid, namespace: s.namespace, attempt: 0 }, hostname: s.name },
      runtimeSpec: { ...spec, hostname: s.name, annotations },
      sandboxMetadata: { ...sandboxMetadata, Metadata: { ...sandboxMetadata.Metadata, ID: s.id, Name: `${s.name}_${s.namespace}_${s.uid}_0`, NetNSPath: s.netnsPath ?? '' } },
    };
  }
  Object.assign(annotations, { 'io.kubernetes.cri-o.SandboxID': s.id, 'io.kubernetes.cri-o.KubeName': s.name, 'io.kubernetes.cri-o.Namespace': s.namespace, 'io.kubernetes.pod.name': s.name, 'io.kubernetes.pod.namespace': s.namespace, 'io.kubernetes.pod.uid': s.uid });
  const out: Json = { ...base, runtimeSpec: { ...spec, hostname: s.name, annotations } };
  if (s.layout === 'cri-o') out.pid = s.pid ?? 0;
  return out;
}

/** A RuntimeService on a unix socket, controlled by the test. */
export class CriServer extends UnixGrpcServer {
  /** What the runtime calls itself in Version. */
  runtime: { readonly name: string; readonly version: string } = { name: 'containerd', version: 'v2.1.4' };
  /** The sandboxes the runtime has; replace at will. */
  sandboxes: readonly TestSandbox[] = [];
  readonly calls: CriCalls = { version: 0, listPodSandbox: 0, podSandboxStatus: 0, statusById: new Map() };

  private constructor(socketPath: string) {
    super(socketPath);
  }

  /** Starts serving on `socketPath` (its directory must exist). */
  static async start(socketPath: string): Promise<CriServer> {
    const server = new CriServer(socketPath);
    await server.restart();
    return server;
  }

  protected override service(): { definition: ServiceDefinition; implementation: UntypedServiceImplementation } {
    const { definition } = criGrpc();
    const implementation: UntypedServiceImplementation = {
      Version: this.#unary('version', (_req: VersionRequestMessage): VersionResponseMessage => ({ version: '0.1.0', runtime_name: this.runtime.name, runtime_version: this.runtime.version, runtime_api_version: 'v1' })),
      ListPodSandbox: this.#unary('listPodSandbox', (req: ListPodSandboxRequestMessage): ListPodSandboxResponseMessage => {
        const f = req.filter;
        const items = this.sandboxes
          .filter((s) => !f?.id || s.id === f.id)
          .filter((s) => !f?.state || (s.state ?? 'SANDBOX_READY') === (f.state.state ?? 'SANDBOX_READY'))
          .map((s): PodSandboxMessage => ({ id: s.id, metadata: { name: s.name, uid: s.uid, namespace: s.namespace, attempt: 0 }, state: s.state ?? 'SANDBOX_READY', created_at: '1732761600000000000', labels: {}, annotations: {}, runtime_handler: '' }));
        return { items };
      }),
      PodSandboxStatus: this.#unary('podSandboxStatus', (req: PodSandboxStatusRequestMessage): PodSandboxStatusResponseMessage => {
        const id = req.pod_sandbox_id ?? '';
        this.calls.statusById.set(id, (this.calls.statusById.get(id) ?? 0) + 1);
        const s = this.sandboxes.find((x) => x.id === id);
        // containerd: errdefs.ErrNotFound from the sandbox store; CRI-O: codes.NotFound "could not find pod".
        if (!s) throw Object.assign(new Error(`could not find pod "${id}": not found`), { code: status.NOT_FOUND });
        return {
          status: {
            id: s.id,
            metadata: { name: s.name, uid: s.uid, namespace: s.namespace, attempt: 0 },
            state: s.state ?? 'SANDBOX_READY',
            created_at: '1732761600000000000',
            network: { ip: '', additional_ips: [] },
            linux: { namespaces: { options: { network: s.hostNetwork ? 'NODE' : 'POD', pid: 'CONTAINER', ipc: 'POD', target_id: '' } } },
            labels: {},
            annotations: {},
            runtime_handler: '',
          },
          info: req.verbose ? { info: JSON.stringify(sandboxInfo(s)) } : {},
          timestamp: '0',
        };
      }),
    };
    return { definition, implementation };
  }

  #unary<Req, Res>(method: 'version' | 'listPodSandbox' | 'podSandboxStatus', answer: (req: Req) => Res) {
    return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>): void => {
      this.calls[method]++;
      this.respond(call, callback, answer);
    };
  }
}
