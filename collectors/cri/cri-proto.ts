/**
 * The CRI v1 RuntimeService (`k8s.io/cri-api/pkg/apis/runtime/v1/api.proto`, vendored and trimmed
 * beside this file, for reference and for the test server): the decoded message shapes (field
 * names as in the .proto; enums as their names), and the three methods the agent calls with
 * their codecs, written by hand from the .proto's field numbers on the wire reader of
 * ../grpc/protobuf.ts. Fields the agent's messages leave out of the trimmed .proto are skipped;
 * the test server encodes with protobufjs from the .proto itself, and containerd answers the
 * integration tests.
 */
import { enumName, enumNumber, ProtoReader, ProtoWriter } from '../grpc/protobuf.js';
import type { UnaryMethod } from '../grpc/unary-client.js';

/** `PodSandboxState`. */
export type PodSandboxStateName = 'SANDBOX_READY' | 'SANDBOX_NOTREADY';
const SANDBOX_STATES: readonly PodSandboxStateName[] = ['SANDBOX_READY', 'SANDBOX_NOTREADY'];
/** `NamespaceMode`. */
export type NamespaceModeName = 'POD' | 'CONTAINER' | 'NODE' | 'TARGET';
const NAMESPACE_MODES: readonly NamespaceModeName[] = ['POD', 'CONTAINER', 'NODE', 'TARGET'];

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
  readonly state?: PodSandboxStateName | number;
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
  readonly state?: PodSandboxStateName | number;
  readonly created_at?: string;
  readonly network?: { readonly ip?: string; readonly additional_ips?: readonly { readonly ip?: string }[] } | null;
  readonly linux?: {
    readonly namespaces?: {
      readonly options?: { readonly network?: NamespaceModeName | number; readonly pid?: NamespaceModeName | number; readonly ipc?: NamespaceModeName | number; readonly target_id?: string } | null;
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

/** The three methods of `runtime.v1.RuntimeService` the agent uses, with their paths and codecs. */
export interface CriRuntimeService {
  readonly version: UnaryMethod<VersionRequestMessage, VersionResponseMessage>;
  readonly listPodSandbox: UnaryMethod<ListPodSandboxRequestMessage, ListPodSandboxResponseMessage>;
  readonly podSandboxStatus: UnaryMethod<PodSandboxStatusRequestMessage, PodSandboxStatusResponseMessage>;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

function metadata(r: ProtoReader): PodSandboxMetadataMessage {
  const m: Mutable<PodSandboxMetadataMessage> = { name: '', uid: '', namespace: '', attempt: 0 };
  while (r.more()) {
    const { field, wire } = r.tag();
    if (field === 1) m.name = r.string(wire);
    else if (field === 2) m.uid = r.string(wire);
    else if (field === 3) m.namespace = r.string(wire);
    else if (field === 4) m.attempt = r.uint32(wire);
    else r.skip(wire);
  }
  return m;
}

function podSandbox(r: ProtoReader): PodSandboxMessage {
  const labels: Record<string, string> = {};
  const annotations: Record<string, string> = {};
  const m: Mutable<PodSandboxMessage> = { id: '', metadata: null, state: 'SANDBOX_READY', created_at: '0', labels, annotations, runtime_handler: '' };
  while (r.more()) {
    const { field, wire } = r.tag();
    if (field === 1) m.id = r.string(wire);
    else if (field === 2) m.metadata = metadata(r.message(wire));
    else if (field === 3) m.state = enumName(SANDBOX_STATES, r.int32(wire));
    else if (field === 4) m.created_at = r.int64(wire);
    else if (field === 5) r.mapEntry(wire, labels);
    else if (field === 6) r.mapEntry(wire, annotations);
    else if (field === 7) m.runtime_handler = r.string(wire);
    else r.skip(wire);
  }
  return m;
}

function networkStatus(r: ProtoReader): NonNullable<PodSandboxStatusMessage['network']> {
  let ip = '';
  const additional_ips: { ip: string }[] = [];
  while (r.more()) {
    const { field, wire } = r.tag();
    if (field === 1) ip = r.string(wire);
    else if (field === 2) {
      const p = r.message(wire);
      let one = '';
      while (p.more()) {
        const t = p.tag();
        if (t.field === 1) one = p.string(t.wire);
        else p.skip(t.wire);
      }
      additional_ips.push({ ip: one });
    } else r.skip(wire);
  }
  return { ip, additional_ips };
}

type NamespaceOptionMessage = NonNullable<NonNullable<NonNullable<PodSandboxStatusMessage['linux']>['namespaces']>['options']>;

function namespaceOption(r: ProtoReader): NamespaceOptionMessage {
  const m: Mutable<NamespaceOptionMessage> = { network: 'POD', pid: 'POD', ipc: 'POD', target_id: '' };
  while (r.more()) {
    const { field, wire } = r.tag();
    if (field === 1) m.network = enumName(NAMESPACE_MODES, r.int32(wire));
    else if (field === 2) m.pid = enumName(NAMESPACE_MODES, r.int32(wire));
    else if (field === 3) m.ipc = enumName(NAMESPACE_MODES, r.int32(wire));
    else if (field === 4) m.target_id = r.string(wire);
    else r.skip(wire);
  }
  return m;
}

/** `LinuxPodSandboxStatus` → `Namespace` → `NamespaceOption`: the one path the agent reads (is the sandbox on the node's network?). */
function linuxStatus(r: ProtoReader): NonNullable<PodSandboxStatusMessage['linux']> {
  let namespaces: { options: NamespaceOptionMessage | null } | null = null;
  while (r.more()) {
    const { field, wire } = r.tag();
    if (field === 1) {
      const n = r.message(wire);
      let options: NamespaceOptionMessage | null = null;
      while (n.more()) {
        const t = n.tag();
        if (t.field === 2) options = namespaceOption(n.message(t.wire));
        else n.skip(t.wire);
      }
      namespaces = { options };
    } else r.skip(wire);
  }
  return { namespaces };
}

function podSandboxStatus(r: ProtoReader): PodSandboxStatusMessage {
  const labels: Record<string, string> = {};
  const annotations: Record<string, string> = {};
  const m: Mutable<PodSandboxStatusMessage> = { id: '', metadata: null, state: 'SANDBOX_READY', created_at: '0', network: null, linux: null, labels, annotations, runtime_handler: '' };
  while (r.more()) {
    const { field, wire } = r.tag();
    if (field === 1) m.id = r.string(wire);
    else if (field === 2) m.metadata = metadata(r.message(wire));
    else if (field === 3) m.state = enumName(SANDBOX_STATES, r.int32(wire));
    else if (field === 4) m.created_at = r.int64(wire);
    else if (field === 5) m.network = networkStatus(r.message(wire));
    else if (field === 6) m.linux = linuxStatus(r.message(wire));
    else if (field === 7) r.mapEntry(wire, labels);
    else if (field === 8) r.mapEntry(wire, annotations);
    else if (field === 9) m.runtime_handler = r.string(wire);
    else r.skip(wire);
  }
  return m;
}

/** Decodes a `VersionResponse`. */
export function decodeVersionResponse(message: Buffer): VersionResponseMessage {
  const r = new ProtoReader(message);
  const m: Mutable<VersionResponseMessage> = { version: '', runtime_name: '', runtime_version: '', runtime_api_version: '' };
  while (r.more()) {
    const { field, wire } = r.tag();
    if (field === 1) m.version = r.string(wire);
    else if (field === 2) m.runtime_name = r.string(wire);
    else if (field === 3) m.runtime_version = r.string(wire);
    else if (field === 4) m.runtime_api_version = r.string(wire);
    else r.skip(wire);
  }
  return m;
}

/** Decodes a `ListPodSandboxResponse`. */
export function decodeListPodSandboxResponse(message: Buffer): ListPodSandboxResponseMessage {
  const r = new ProtoReader(message);
  const items: PodSandboxMessage[] = [];
  while (r.more()) {
    const { field, wire } = r.tag();
    if (field === 1) items.push(podSandbox(r.message(wire)));
    else r.skip(wire);
  }
  return { items };
}

/** Decodes a `PodSandboxStatusResponse`. */
export function decodePodSandboxStatusResponse(message: Buffer): PodSandboxStatusResponseMessage {
  const r = new ProtoReader(message);
  const info: Record<string, string> = {};
  const m: Mutable<PodSandboxStatusResponseMessage> = { status: null, info, timestamp: '0' };
  while (r.more()) {
    const { field, wire } = r.tag();
    if (field === 1) m.status = podSandboxStatus(r.message(wire));
    else if (field === 2) r.mapEntry(wire, info);
    else if (field === 4) m.timestamp = r.int64(wire);
    else r.skip(wire);
  }
  return m;
}

/** Encodes a `ListPodSandboxRequest`: the filter's id, its state (written even for READY, which is 0: the presence is the filter) and label selector. */
export function encodeListPodSandboxRequest(req: ListPodSandboxRequestMessage): Buffer {
  const f = req.filter;
  const filter =
    f === undefined || f === null
      ? undefined
      : new ProtoWriter()
          .string(1, f.id)
          .message(2, f.state === undefined || f.state === null ? undefined : new ProtoWriter().uint32(1, enumNumber(SANDBOX_STATES, f.state.state)))
          .map(3, f.label_selector);
  return new ProtoWriter().message(1, filter).finish();
}

/** `runtime.v1.RuntimeService`'s Version, ListPodSandbox and PodSandboxStatus. */
export const CRI_RUNTIME_SERVICE: CriRuntimeService = {
  version: {
    path: '/runtime.v1.RuntimeService/Version',
    encode: (req) => new ProtoWriter().string(1, req.version).finish(),
    decode: decodeVersionResponse,
  },
  listPodSandbox: {
    path: '/runtime.v1.RuntimeService/ListPodSandbox',
    encode: encodeListPodSandboxRequest,
    decode: decodeListPodSandboxResponse,
  },
  podSandboxStatus: {
    path: '/runtime.v1.RuntimeService/PodSandboxStatus',
    encode: (req) => new ProtoWriter().string(1, req.pod_sandbox_id).bool(2, req.verbose).finish(),
    decode: decodePodSandboxStatusResponse,
  },
};
