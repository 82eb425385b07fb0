/**
 * The CRI v1 RuntimeService (`k8s.io/cri-api/pkg/apis/runtime/v1/api.proto`, vendored and trimmed
 * beside this file): where the .proto is found at runtime, the service loaded from it with
 * @grpc/proto-loader (no generated code), and the decoded message shapes (field names as in the
 * .proto, `keepCase`; enums as their names).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadPackageDefinition, type MethodDefinition, type ServiceDefinition } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { AgentError } from '../../agent/model/errors.js';

/** Where `api.proto` may be, relative to this module: beside it in the source tree (vitest), or in the source tree next to `dist/` (tsc copies only .ts outputs). */
const PROTO_CANDIDATES = ['./api.proto', '../../../collectors/cri/api.proto'] as const;

/** The path of the vendored CRI `api.proto` as seen from the module at `moduleUrl`; throws when no candidate exists. */
export function criProtoPath(moduleUrl: string | URL = import.meta.url): string {
  const tried: string[] = [];
  for (const rel of PROTO_CANDIDATES) {
    const file = fileURLToPath(new URL(rel, moduleUrl));
    if (existsSync(file)) return file;
    tried.push(file);
  }
  throw new AgentError('E_USAGE', `CRI api.proto not found (the install is incomplete); looked at ${tried.join(', ')}`);
}

/** `PodSandboxState`. */
export type PodSandboxStateName = 'SANDBOX_READY' | 'SANDBOX_NOTREADY';
/** `NamespaceMode`. */
export type NamespaceModeName = 'POD' | 'CONTAINER' | 'NODE' | 'TARGET';

/** `VersionRequest`. */
export interface VersionRequestMessage {
  readonly version?: string;
}

/** `VersionResponse`. */
export interface VersionResponseMessage {
  readonly version?: string;
  readonly runtime_name?: string;
  readonly runtime_version?: string;
  readonly runtime_api_version?: string;
}

/** `PodSandboxMetadata`. */
export interface PodSandboxMetadataMessage {
  readonly name?: string;
  readonly uid?: string;
  readonly namespace?: string;
  readonly attempt?: number;
}

/** `PodSandbox` (a ListPodSandbox item). */
export interface PodSandboxMessage {
  readonly id?: string;
  readonly metadata?: PodSandboxMetadataMessage | null;
  readonly state?: PodSandboxStateName;
  /** int64 nanoseconds, decoded as a decimal string. */
  readonly created_at?: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly runtime_handler?: string;
}

/** `ListPodSandboxRequest`. */
export interface ListPodSandboxRequestMessage {
  readonly filter?: {
    readonly id?: string;
    readonly state?: { readonly state?: PodSandboxStateName } | null;
    readonly label_selector?: Readonly<Record<string, string>>;
  } | null;
}

/** `ListPodSandboxResponse`. */
export interface ListPodSandboxResponseMessage {
  readonly items?: readonly PodSandboxMessage[];
}

/** `PodSandboxStatusRequest`. */
export interface PodSandboxStatusRequestMessage {
  readonly pod_sandbox_id?: string;
  readonly verbose?: boolean;
}

/** `PodSandboxStatus`. */
export interface PodSandboxStatusMessage {
  readonly id?: string;
  readonly metadata?: PodSandboxMetadataMessage | null;
  readonly state?: PodSandboxStateName;
  readonly created_at?: string;
  readonly network?: { readonly ip?: string; readonly additional_ips?: readonly { readonly ip?: string }[] } | null;
  readonly linux?: {
    readonly namespaces?: {
      readonly options?: { readonly network?: NamespaceModeName; readonly pid?: NamespaceModeName; readonly ipc?: NamespaceModeName; readonly target_id?: string } | null;
    } | null;
  } | null;
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly runtime_handler?: string;
}

/** `PodSandboxStatusResponse`. */
export interface PodSandboxStatusResponseMessage {
  readonly status?: PodSandboxStatusMessage | null;
  /** Verbose only: runtime-defined keys, JSON values (containerd and CRI-O both use `info`). */
  readonly info?: Readonly<Record<string, string>>;
  readonly timestamp?: string;
}

/** The three methods of `runtime.v1.RuntimeService` the agent uses, with their paths and (de)serialisers. */
export interface CriRuntimeService {
  /** The grpc-js service definition, for a server's `addService`. */
  readonly definition: ServiceDefinition;
  readonly version: MethodDefinition<VersionRequestMessage, VersionResponseMessage>;
  readonly listPodSandbox: MethodDefinition<ListPodSandboxRequestMessage, ListPodSandboxResponseMessage>;
  readonly podSandboxStatus: MethodDefinition<PodSandboxStatusRequestMessage, PodSandboxStatusResponseMessage>;
}

let loaded: CriRuntimeService | undefined;

/** Loads `runtime.v1.RuntimeService` from the vendored .proto (once per process). */
export function criRuntimeService(): CriRuntimeService {
  if (loaded) return loaded;
  const packageDefinition = loadSync(criProtoPath(), {
    keepCase: true,
    // int64 timestamps as decimal strings: nothing here does arithmetic on them.
    longs: String,
    enums: String,
    defaults: true,
    arrays: true,
  });
  const root = loadPackageDefinition(packageDefinition) as Record<string, unknown>;
  const v1 = (root['runtime'] as Record<string, unknown> | undefined)?.['v1'];
  const ctor = typeof v1 === 'object' && v1 !== null && 'RuntimeService' in v1 ? (v1 as { RuntimeService: unknown }).RuntimeService : undefined;
  const definition = typeof ctor === 'function' && 'service' in ctor ? (ctor.service as ServiceDefinition) : undefined;
  const method = <Req, Res>(name: string): MethodDefinition<Req, Res> => {
    const m = definition?.[name];
    if (m === undefined) throw new AgentError('E_USAGE', `CRI api.proto lacks runtime.v1.RuntimeService/${name}`);
    return m as MethodDefinition<Req, Res>;
  };
  loaded = {
    definition: definition ?? {},
    version: method('Version'),
    listPodSandbox: method('ListPodSandbox'),
    podSandboxStatus: method('PodSandboxStatus'),
  };
  return loaded;
}
