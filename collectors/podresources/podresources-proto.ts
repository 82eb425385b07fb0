/**
 * The kubelet PodResources v1 API (`k8s.io/kubelet/pkg/apis/podresources/v1/api.proto`, vendored
 * beside this file): where the .proto is found at runtime, the service loaded from it with
 * @grpc/proto-loader (no generated code), and the decoded message shapes (field names as in the
 * .proto, `keepCase`).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadPackageDefinition, type MethodDefinition, type ServiceDefinition } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { AgentError } from '../../agent/model/errors.js';

/** Where `api.proto` may be, relative to this module: beside it in the source tree (vitest), or in the source tree next to `dist/` (tsc copies only .ts outputs). */
const PROTO_CANDIDATES = ['./api.proto', '../../../collectors/podresources/api.proto'] as const;

/** The path of the vendored `api.proto` as seen from the module at `moduleUrl`; throws when no candidate exists. */
export function podResourcesProtoPath(moduleUrl: string | URL = import.meta.url): string {
  const tried: string[] = [];
  for (const rel of PROTO_CANDIDATES) {
    const file = fileURLToPath(new URL(rel, moduleUrl));
    if (existsSync(file)) return file;
    tried.push(file);
  }
  throw new AgentError('E_USAGE', `kubelet podresources api.proto not found (the install is incomplete); looked at ${tried.join(', ')}`);
}

/** `NUMANode`: `ID` is an int64, decoded as a decimal string (`longs: String`). */
export interface NumaNodeMessage {
  readonly ID?: string;
}

/** `TopologyInfo`. */
export interface TopologyInfoMessage {
  readonly nodes?: readonly NumaNodeMessage[];
}

/** `ContainerDevices`: the devices of one device-plugin resource given to a container. */
export interface ContainerDevicesMessage {
  readonly resource_name?: string;
  readonly device_ids?: readonly string[];
  readonly topology?: TopologyInfoMessage | null;
}

/** `ContainerMemory`. */
export interface ContainerMemoryMessage {
  readonly memory_type?: string;
  /** uint64, decoded as a decimal string. */
  readonly size?: string;
  readonly topology?: TopologyInfoMessage | null;
}

/** `CDIDevice`. */
export interface CdiDeviceMessage {
  readonly name?: string;
}

/** `ClaimResource`: one DRA device. */
export interface ClaimResourceMessage {
  readonly cdi_devices?: readonly CdiDeviceMessage[];
  readonly driver_name?: string;
  readonly pool_name?: string;
  readonly device_name?: string;
}

/** `DynamicResource`: the devices of one DRA resource claim. */
export interface DynamicResourceMessage {
  readonly claim_name?: string;
  readonly claim_namespace?: string;
  readonly claim_resources?: readonly ClaimResourceMessage[];
}

/** `ContainerResources`. */
export interface ContainerResourcesMessage {
  readonly name?: string;
  readonly devices?: readonly ContainerDevicesMessage[];
  /** int64 CPU ids, decoded as decimal strings. */
  readonly cpu_ids?: readonly string[];
  readonly memory?: readonly ContainerMemoryMessage[];
  readonly dynamic_resources?: readonly DynamicResourceMessage[];
}

/** `PodResources`. */
export interface PodResourcesMessage {
  readonly name?: string;
  readonly namespace?: string;
  readonly containers?: readonly ContainerResourcesMessage[];
}

/** `ListPodResourcesResponse`. */
export interface ListPodResourcesResponseMessage {
  readonly pod_resources?: readonly PodResourcesMessage[];
}

/** `GetPodResourcesRequest`. */
export interface GetPodResourcesRequestMessage {
  readonly pod_name?: string;
  readonly pod_namespace?: string;
}

/** `GetPodResourcesResponse`. */
export interface GetPodResourcesResponseMessage {
  readonly pod_resources?: PodResourcesMessage | null;
}

/** `AllocatableResourcesResponse`. */
export interface AllocatableResourcesResponseMessage {
  readonly devices?: readonly ContainerDevicesMessage[];
  readonly cpu_ids?: readonly string[];
  readonly memory?: readonly ContainerMemoryMessage[];
}

/** The three methods of `v1.PodResourcesLister`, with their paths and (de)serialisers. */
export interface PodResourcesService {
  /** The grpc-js service definition, for a server's `addService`. */
  readonly definition: ServiceDefinition;
  readonly list: MethodDefinition<Record<string, never>, ListPodResourcesResponseMessage>;
  readonly get: MethodDefinition<GetPodResourcesRequestMessage, GetPodResourcesResponseMessage>;
  readonly getAllocatableResources: MethodDefinition<Record<string, never>, AllocatableResourcesResponseMessage>;
}

let loaded: PodResourcesService | undefined;

/** Loads `v1.PodResourcesLister` from the vendored .proto (once per process). */
export function podResourcesService(): PodResourcesService {
  if (loaded) return loaded;
  const packageDefinition = loadSync(podResourcesProtoPath(), {
    keepCase: true,
    // int64/uint64 (cpu ids, NUMA ids, memory sizes) as decimal strings: nothing here does arithmetic on them.
    longs: String,
    enums: String,
    defaults: true,
    arrays: true,
  });
  const v1 = loadPackageDefinition(packageDefinition)['v1'];
  const ctor = typeof v1 === 'object' && v1 !== null && 'PodResourcesLister' in v1 ? v1.PodResourcesLister : undefined;
  const definition = typeof ctor === 'function' && 'service' in ctor ? (ctor.service as ServiceDefinition) : undefined;
  const method = <Req, Res>(name: string): MethodDefinition<Req, Res> => {
    const m = definition?.[name];
    if (m === undefined) throw new AgentError('E_USAGE', `kubelet podresources api.proto lacks v1.PodResourcesLister/${name}`);
    return m as MethodDefinition<Req, Res>;
  };
  loaded = {
    definition: definition ?? {},
    list: method('List'),
    get: method('Get'),
    getAllocatableResources: method('GetAllocatableResources'),
  };
  return loaded;
}
