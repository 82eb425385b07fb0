/**
 * The kubelet PodResources v1 API (`k8s.io/kubelet/pkg/apis/podresources/v1/api.proto`, vendored
 * beside this file for reference and for the test server): the decoded message shapes (field
 * names as in the .proto), and List with its codecs, written by hand from the .proto's field
 * numbers on the wire reader of ../grpc/protobuf.ts. Every field of the messages is decoded,
 * unknown ones skipped; the test server encodes with protobufjs from the .proto itself.
 */
import { ProtoReader, ProtoWriter } from '../grpc/protobuf.js';
import type { UnaryMethod } from '../grpc/unary-client.js';

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

/** The method of `v1.PodResourcesLister` the agent calls. Get is not used (see podresources-client.ts). */
export interface PodResourcesService {
  readonly list: UnaryMethod<Record<string, never>, ListPodResourcesResponseMessage>;
}

function numaNode(r: ProtoReader): NumaNodeMessage {
  let ID = '0';
  while (r.more()) {
    const { field, wire } = r.tag();
    if (field === 1) ID = r.int64(wire);
    else r.skip(wire);
  }
  return { ID };
}

function topologyInfo(r: ProtoReader): TopologyInfoMessage {
  const nodes: NumaNodeMessage[] = [];
  while (r.more()) {
    const { field, wire } = r.tag();
    if (field === 1) nodes.push(numaNode(r.message(wire)));
    else r.skip(wire);
  }
  return { nodes };
}

function containerDevices(r: ProtoReader): ContainerDevicesMessage {
  let resource_name = '';
  const device_ids: string[] = [];
  let topology: TopologyInfoMessage | null = null;
  while (r.more()) {
    const { field, wire } = r.tag();
    if (field === 1) resource_name = r.string(wire);
    else if (field === 2) device_ids.push(r.string(wire));
    else if (field === 3) topology = topologyInfo(r.message(wire));
    else r.skip(wire);
  }
  return { resource_name, device_ids, topology };
}

function containerMemory(r: ProtoReader): ContainerMemoryMessage {
  let memory_type = '';
  let size = '0';
  let topology: TopologyInfoMessage | null = null;
  while (r.more()) {
    const { field, wire } = r.tag();
    if (field === 1) memory_type = r.string(wire);
    else if (field === 2) size = r.uint64(wire);
    else if (field === 3) topology = topologyInfo(r.message(wire));
    else r.skip(wire);
  }
  return { memory_type, size, topology };
}

function cdiDevice(r: ProtoReader): CdiDeviceMessage {
  let name = '';
  while (r.more()) {
    const { field, wire } = r.tag();
    if (field === 1) name = r.string(wire);
    else r.skip(wire);
  }
  return { name };
}

function claimResource(r: ProtoReader): ClaimResourceMessage {
  const cdi_devices: CdiDeviceMessage[] = [];
  let driver_name = '';
  let pool_name = '';
  let device_name = '';
  while (r.more()) {
    const { field, wire } = r.tag();
    if (field === 1) cdi_devices.push(cdiDevice(r.message(wire)));
    else if (field === 2) driver_name = r.string(wire);
    else if (field === 3) pool_name = r.string(wire);
    else if (field === 4) device_name = r.string(wire);
    else r.skip(wire);
  }
  return { cdi_devices, driver_name, pool_name, device_name };
}

function dynamicResource(r: ProtoReader): DynamicResourceMessage {
  let claim_name = '';
  let claim_namespace = '';
  const claim_resources: ClaimResourceMessage[] = [];
  while (r.more()) {
    const { field, wire } = r.tag();
    if (field === 2) claim_name = r.string(wire);
    else if (field === 3) claim_namespace = r.string(wire);
    else if (field === 4) claim_resources.push(claimResource(r.message(wire)));
    else r.skip(wire);
  }
  return { claim_name, claim_namespace, claim_resources };
}

function containerResources(r: ProtoReader): ContainerResourcesMessage {
  let name = '';
  const devices: ContainerDevicesMessage[] = [];
  const cpu_ids: string[] = [];
  const memory: ContainerMemoryMessage[] = [];
  const dynamic_resources: DynamicResourceMessage[] = [];
  while (r.more()) {
    const { field, wire } = r.tag();
    if (field === 1) name = r.string(wire);
    else if (field === 2) devices.push(containerDevices(r.message(wire)));
    else if (field === 3) r.int64s(wire, cpu_ids);
    else if (field === 4) memory.push(containerMemory(r.message(wire)));
    else if (field === 5) dynamic_resources.push(dynamicResource(r.message(wire)));
    else r.skip(wire);
  }
  return { name, devices, cpu_ids, memory, dynamic_resources };
}

function podResources(r: ProtoReader): PodResourcesMessage {
  let name = '';
  let namespace = '';
  const containers: ContainerResourcesMessage[] = [];
  while (r.more()) {
    const { field, wire } = r.tag();
    if (field === 1) name = r.string(wire);
    else if (field === 2) namespace = r.string(wire);
    else if (field === 3) containers.push(containerResources(r.message(wire)));
    else r.skip(wire);
  }
  return { name, namespace, containers };
}

/** Decodes a `ListPodResourcesResponse`; throws ProtobufError when it is malformed. */
export function decodeListPodResourcesResponse(message: Buffer): ListPodResourcesResponseMessage {
  const r = new ProtoReader(message);
  const pod_resources: PodResourcesMessage[] = [];
  while (r.more()) {
    const { field, wire } = r.tag();
    if (field === 1) pod_resources.push(podResources(r.message(wire)));
    else r.skip(wire);
  }
  return { pod_resources };
}

/** `v1.PodResourcesLister`'s List. */
export const PODRESOURCES_LISTER: PodResourcesService = {
  list: {
    path: '/v1.PodResourcesLister/List',
    // ListPodResourcesRequest has no fields.
    encode: () => new ProtoWriter().finish(),
    decode: decodeListPodResourcesResponse,
  },
};
