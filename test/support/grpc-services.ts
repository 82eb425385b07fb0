/**
 * The kubelet PodResources and CRI RuntimeService definitions for the test servers (and for tests
 * that call those servers with grpc-js): loaded by @grpc/proto-loader (protobufjs) from the
 * vendored .proto files, so every test that drives the agent's hand-written codecs against these
 * servers checks them against an independent implementation of the same .proto.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadPackageDefinition, type MethodDefinition, type ServiceDefinition } from '@grpc/grpc-js';
import { loadSync, type Options } from '@grpc/proto-loader';
import type {
  AllocatableResourcesResponseMessage,
  GetPodResourcesRequestMessage,
  GetPodResourcesResponseMessage,
  ListPodResourcesResponseMessage,
} from '../../collectors/podresources/podresources-proto.js';
import type {
  ListPodSandboxRequestMessage,
  ListPodSandboxResponseMessage,
  PodSandboxStatusRequestMessage,
  PodSandboxStatusResponseMessage,
  VersionRequestMessage,
  VersionResponseMessage,
} from '../../collectors/cri/cri-proto.js';

/** The options the agent's codecs mirror: field names as in the .proto, 64-bit integers as decimal strings, enums as names, defaults filled in. */
export const PROTO_LOADER_OPTIONS: Options = { keepCase: true, longs: String, enums: String, defaults: true, arrays: true };

/** A vendored .proto, from the source tree (vitest) or from dist/ (the bench): tsc copies only .ts outputs. */
export function vendoredProto(rel: 'podresources/api.proto' | 'cri/api.proto'): string {
  for (const base of ['../../collectors/', '../../../collectors/']) {
    const file = fileURLToPath(new URL(base + rel, import.meta.url));
    if (existsSync(file)) return file;
  }
  throw new Error(`collectors/${rel} not found`);
}

function service(rel: 'podresources/api.proto' | 'cri/api.proto', pkg: readonly string[], name: string): ServiceDefinition {
  let node: unknown = loadPackageDefinition(loadSync(vendoredProto(rel), PROTO_LOADER_OPTIONS));
  for (const p of [...pkg, name]) node = (node as Record<string, unknown>)[p];
  const definition = (node as { service?: ServiceDefinition } | undefined)?.service;
  if (!definition) throw new Error(`${rel} lacks ${[...pkg, name].join('.')}`);
  return definition;
}

/** `v1.PodResourcesLister` as grpc-js serves and calls it. */
export interface PodResourcesGrpc {
  readonly definition: ServiceDefinition;
  readonly list: MethodDefinition<Record<string, never>, ListPodResourcesResponseMessage>;
  readonly get: MethodDefinition<GetPodResourcesRequestMessage, GetPodResourcesResponseMessage>;
  readonly getAllocatableResources: MethodDefinition<Record<string, never>, AllocatableResourcesResponseMessage>;
}

let podResources: PodResourcesGrpc | undefined;

export function podResourcesGrpc(): PodResourcesGrpc {
  if (podResources) return podResources;
  const definition = service('podresources/api.proto', ['v1'], 'PodResourcesLister');
  podResources = {
    definition,
    list: definition['List'] as PodResourcesGrpc['list'],
    get: definition['Get'] as PodResourcesGrpc['get'],
    getAllocatableResources: definition['GetAllocatableResources'] as PodResourcesGrpc['getAllocatableResources'],
  };
  return podResources;
}

/** `runtime.v1.RuntimeService` (the trimmed .proto's three methods) as grpc-js serves and calls it. */
export interface CriGrpc {
  readonly definition: ServiceDefinition;
  readonly version: MethodDefinition<VersionRequestMessage, VersionResponseMessage>;
  readonly listPodSandbox: MethodDefinition<ListPodSandboxRequestMessage, ListPodSandboxResponseMessage>;
  readonly podSandboxStatus: MethodDefinition<PodSandboxStatusRequestMessage, PodSandboxStatusResponseMessage>;
}

let cri: CriGrpc | undefined;

export function criGrpc(): CriGrpc {
  if (cri) return cri;
  const definition = service('cri/api.proto', ['runtime', 'v1'], 'RuntimeService');
  cri = {
    definition,
    version: definition['Version'] as CriGrpc['version'],
    listPodSandbox: definition['ListPodSandbox'] as CriGrpc['listPodSandbox'],
    podSandboxStatus: definition['PodSandboxStatus'] as CriGrpc['podSandboxStatus'],
  };
  return cri;
}
