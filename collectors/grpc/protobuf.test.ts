import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { criGrpc, podResourcesGrpc } from '../../test/support/grpc-services.js';
import { CRI_RUNTIME_SERVICE, decodeListPodSandboxResponse, decodePodSandboxStatusResponse, decodeVersionResponse, encodeListPodSandboxRequest, type PodSandboxStatusResponseMessage } from '../cri/cri-proto.js';
import { decodeListPodResourcesResponse, PODRESOURCES_LISTER } from '../podresources/podresources-proto.js';
import { MAX_FIELDS, ProtobufError, ProtoReader, ProtoWriter, WIRE } from './protobuf.js';

// The reference: protobufjs, through @grpc/proto-loader, from the vendored .proto files, with the
// options whose output the hand-written codecs mirror (test/support/grpc-services.ts).
const podres = podResourcesGrpc();
const cri = criGrpc();

const text = fc.string({ unit: 'grapheme', maxLength: 12 });
const int64 = fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map(String);
const uint64 = fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map(String);
const topology = fc.option(fc.record({ nodes: fc.array(fc.record({ ID: int64 }), { maxLength: 3 }) }), { nil: null });
const devices = fc.record({ resource_name: text, device_ids: fc.array(text, { maxLength: 4 }), topology });
const container = fc.record({
  name: text,
  devices: fc.array(devices, { maxLength: 3 }),
  cpu_ids: fc.array(int64, { maxLength: 4 }),
  memory: fc.array(fc.record({ memory_type: text, size: uint64, topology }), { maxLength: 2 }),
  dynamic_resources: fc.array(
    fc.record({
      claim_name: text,
      claim_namespace: text,
      claim_resources: fc.array(fc.record({ cdi_devices: fc.array(fc.record({ name: text }), { maxLength: 2 }), driver_name: text, pool_name: text, device_name: text }), { maxLength: 2 }),
    }),
    { maxLength: 2 },
  ),
});
const listResponse = fc.record({ pod_resources: fc.array(fc.record({ name: text, namespace: text, containers: fc.array(container, { maxLength: 3 }) }), { maxLength: 4 }) });

const stringMap = fc.dictionary(text, text, { maxKeys: 3 });
const sandboxState = fc.constantFrom('SANDBOX_READY', 'SANDBOX_NOTREADY');
const nsMode = fc.constantFrom('POD', 'CONTAINER', 'NODE', 'TARGET');
const metadata = fc.option(fc.record({ name: text, uid: text, namespace: text, attempt: fc.nat({ max: 0xffff_ffff }) }), { nil: null });
const sandbox = fc.record({ id: text, metadata, state: sandboxState, created_at: int64, labels: stringMap, annotations: stringMap, runtime_handler: text });
const sandboxStatus = fc.record({
  id: text,
  metadata,
  state: sandboxState,
  created_at: int64,
  network: fc.option(fc.record({ ip: text, additional_ips: fc.array(fc.record({ ip: text }), { maxLength: 2 }) }), { nil: null }),
  linux: fc.option(fc.record({ namespaces: fc.option(fc.record({ options: fc.option(fc.record({ network: nsMode, pid: nsMode, ipc: nsMode, target_id: text }), { nil: null }) }), { nil: null }) }), { nil: null }),
  labels: stringMap,
  annotations: stringMap,
  runtime_handler: text,
});

/** The agent skips NamespaceOption.userns_options (field 5): nothing reads it. */
function withoutUsernsOptions(res: PodSandboxStatusResponseMessage): PodSandboxStatusResponseMessage {
  const options = res.status?.linux?.namespaces?.options as (Record<string, unknown> & { userns_options?: unknown }) | null | undefined;
  if (options) delete options.userns_options;
  return res;
}

/** Every prefix of `message` either decodes or fails with a ProtobufError: never another error, never a hang. */
function prefixesFailCleanly(message: Buffer, decode: (b: Buffer) => unknown): void {
  for (let n = 0; n < message.length; n++) {
    try {
      decode(message.subarray(0, n));
    } catch (err) {
      expect(err).toBeInstanceOf(ProtobufError);
    }
  }
}

describe('the hand-written codecs agree with protobufjs on the vendored .proto', () => {
  it('ListPodResourcesResponse: every field, non-ASCII strings, negative and full-range 64-bit integers', () => {
    fc.assert(
      fc.property(listResponse, (msg) => {
        const wire = podres.list.responseSerialize(msg);
        expect(decodeListPodResourcesResponse(wire)).toEqual(podres.list.responseDeserialize(wire));
      }),
      { numRuns: 300 },
    );
  });

  it('ListPodSandboxResponse, PodSandboxStatusResponse and VersionResponse', () => {
    fc.assert(
      fc.property(fc.array(sandbox, { maxLength: 4 }), fc.option(sandboxStatus, { nil: null }), stringMap, int64, (items, status, info, timestamp) => {
        const list = cri.listPodSandbox.responseSerialize({ items });
        expect(decodeListPodSandboxResponse(list)).toEqual(cri.listPodSandbox.responseDeserialize(list));
        const st = cri.podSandboxStatus.responseSerialize({ status, info, timestamp });
        expect(decodePodSandboxStatusResponse(st)).toEqual(withoutUsernsOptions(cri.podSandboxStatus.responseDeserialize(st)));
      }),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(text, text, text, text, (version, runtime_name, runtime_version, runtime_api_version) => {
        const wire = cri.version.responseSerialize({ version, runtime_name, runtime_version, runtime_api_version });
        expect(decodeVersionResponse(wire)).toEqual(cri.version.responseDeserialize(wire));
      }),
    );
  });

  it('the requests the agent sends decode in protobufjs to what was meant', () => {
    const { version, listPodSandbox, podSandboxStatus } = CRI_RUNTIME_SERVICE;
    expect(cri.version.requestDeserialize(version.encode({ version: 'v1' }))).toEqual({ version: 'v1' });
    // READY is 0, which proto3 does not write; the filter's state message is written all the same: its presence is the filter.
    expect(listPodSandbox.encode({ filter: { state: { state: 'SANDBOX_READY' } } })).toEqual(Buffer.from([0x0a, 0x02, 0x12, 0x00]));
    expect(cri.listPodSandbox.requestDeserialize(listPodSandbox.encode({ filter: { state: { state: 'SANDBOX_READY' } } }))).toEqual({ filter: { id: '', state: { state: 'SANDBOX_READY' }, label_selector: {} } });
    expect(cri.listPodSandbox.requestDeserialize(encodeListPodSandboxRequest({}))).toEqual({ filter: null });
    fc.assert(
      fc.property(text, fc.option(sandboxState, { nil: undefined }), stringMap, text, fc.boolean(), (id, state, label_selector, sandboxId, verbose) => {
        const req = { filter: { id, state: state === undefined ? null : { state }, label_selector } };
        expect(cri.listPodSandbox.requestDeserialize(listPodSandbox.encode(req))).toEqual({ filter: { id, state: state === undefined ? null : { state }, label_selector } });
        expect(cri.podSandboxStatus.requestDeserialize(podSandboxStatus.encode({ pod_sandbox_id: sandboxId, verbose }))).toEqual({ pod_sandbox_id: sandboxId, verbose });
      }),
    );
    expect(PODRESOURCES_LISTER.list.encode({})).toEqual(Buffer.alloc(0));
  });
});

describe('ProtoReader on what a careless or hostile server sends', () => {
  it('accepts repeated int64 packed (proto3) and unpacked (proto2 senders), mixed in one message', () => {
    // ContainerResources{cpu_ids: packed [1, 300], then unpacked 7, then packed [-1]} inside PodResources inside the response.
    const neg1 = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
    const container = Buffer.from([0x1a, 0x03, 0x01, 0xac, 0x02, 0x18, 0x07, 0x1a, neg1.length, ...neg1]);
    const pod = Buffer.concat([Buffer.from([0x1a, container.length]), container]);
    const msg = Buffer.concat([Buffer.from([0x0a, pod.length]), pod]);
    expect(decodeListPodResourcesResponse(msg).pod_resources?.[0]?.containers?.[0]?.cpu_ids).toEqual(['1', '300', '7', '-1']);
    expect(podres.list.responseDeserialize(msg).pod_resources?.[0]?.containers?.[0]?.cpu_ids).toEqual(['1', '300', '7', '-1']);
  });

  it('a map key "__proto__" is an entry, not the prototype', () => {
    // JSON.parse makes "__proto__" an own key (an object literal would set the prototype).
    const info = JSON.parse('{"__proto__": "{\\"polluted\\":true}", "info": "{}"}') as Record<string, string>;
    const wire = cri.podSandboxStatus.responseSerialize({ info, timestamp: '0' });
    const got = decodePodSandboxStatusResponse(wire);
    expect(Object.getPrototypeOf(got.info)).toBe(Object.prototype);
    expect(Object.keys(got.info ?? {}).sort()).toEqual(['__proto__', 'info']);
    expect(Object.getOwnPropertyDescriptor(got.info, '__proto__')?.value).toBe('{"polluted":true}');
  });

  it('keeps an enum number it does not know as a number, negative ones too, as proto-loader does', () => {
    const neg1 = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
    for (const [bytes, want] of [[[0x18, 0x05], 5], [[0x18, ...neg1], -1], [[0x18, 0x01], 'SANDBOX_NOTREADY']] as [number[], string | number][]) {
      const sandbox = Buffer.from([0x0a, 0x01, 0x73, ...bytes]);
      const msg = Buffer.concat([Buffer.from([0x0a, sandbox.length]), sandbox]);
      expect(decodeListPodSandboxResponse(msg).items?.[0]?.state).toBe(want);
      expect(cri.listPodSandbox.responseDeserialize(msg).items?.[0]?.state).toBe(want);
    }
  });

  it('refuses an answer of more fields than MAX_FIELDS (empty nested messages decode to many times their bytes)', () => {
    // pod_resources { containers {} x N }: two bytes a container.
    const containers = Buffer.alloc(2 * (MAX_FIELDS + 1));
    for (let i = 0; i < containers.length; i += 2) containers[i] = 0x1a;
    const lenBytes = (n: number): number[] => {
      const out: number[] = [];
      while (n >= 0x80) {
        out.push((n & 0x7f) | 0x80);
        n = Math.floor(n / 128);
      }
      out.push(n);
      return out;
    };
    const msg = Buffer.concat([Buffer.from([0x0a, ...lenBytes(containers.length)]), containers]);
    expect(() => decodeListPodResourcesResponse(msg)).toThrow(new ProtobufError(`more than ${MAX_FIELDS} fields in one message`));
    const fits = Buffer.concat([Buffer.from([0x0a, ...lenBytes(2 * 1000)]), containers.subarray(0, 2 * 1000)]);
    expect(decodeListPodResourcesResponse(fits).pod_resources?.[0]?.containers).toHaveLength(1000);
  });

  it('skips unknown fields of every wire type, and fields a newer kubelet or runtime adds', () => {
    const unknown = Buffer.from([
      0x78, 0x96, 0x01, // field 15 varint 150
      0x81, 0x01, 1, 2, 3, 4, 5, 6, 7, 8, // field 16 fixed64
      0x8a, 0x01, 0x02, 0x68, 0x69, // field 17 bytes "hi"
      0x95, 0x01, 1, 2, 3, 4, // field 18 fixed32
    ]);
    const pod = Buffer.concat([Buffer.from([0x0a, 0x01, 0x61]), unknown]);
    const msg = Buffer.concat([unknown, Buffer.from([0x0a, pod.length]), pod]);
    expect(decodeListPodResourcesResponse(msg)).toEqual({ pod_resources: [{ name: 'a', namespace: '', containers: [] }] });
  });

  it('refuses groups, field 0, lengths past the end, over-long varints and wrong wire types', () => {
    const decode = (bytes: number[]): unknown => decodeListPodResourcesResponse(Buffer.from(bytes));
    expect(() => decode([0x0b, 0x0c])).toThrow(ProtobufError); // field 1, start group
    expect(() => decode([0x00, 0x01])).toThrow(/field number 0/);
    expect(() => decode([0x0a, 0x05, 0x0a])).toThrow(/runs past the message/);
    expect(() => decode([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f])).toThrow(/runs past the message/);
    expect(() => decode([0x78, ...Array<number>(11).fill(0xff)])).toThrow(/longer than 10 bytes/);
    expect(() => decode([0x08, 0x01])).toThrow(/wire type 0 where 2/); // pod_resources as a varint
  });

  it('every prefix of a valid message decodes or fails with a ProtobufError', () => {
    fc.assert(
      fc.property(listResponse, (msg) => prefixesFailCleanly(podres.list.responseSerialize(msg), decodeListPodResourcesResponse)),
      { numRuns: 40 },
    );
    fc.assert(
      fc.property(fc.option(sandboxStatus, { nil: null }), stringMap, (status, info) => prefixesFailCleanly(cri.podSandboxStatus.responseSerialize({ status, info, timestamp: '0' }), decodePodSandboxStatusResponse)),
      { numRuns: 40 },
    );
  });

  it('random bytes decode or fail with a ProtobufError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        for (const decode of [decodeListPodResourcesResponse, decodeListPodSandboxResponse, decodePodSandboxStatusResponse, decodeVersionResponse]) {
          try {
            decode(Buffer.from(bytes));
          } catch (err) {
            expect(err).toBeInstanceOf(ProtobufError);
          }
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('reads 64-bit integers exactly at the edges', () => {
    const cases: [bigint, boolean][] = [
      [0n, true], [1n, true], [-1n, true], [2n ** 53n + 1n, true], [-(2n ** 63n), true], [2n ** 63n - 1n, true],
      [2n ** 64n - 1n, false], [2n ** 32n, false], [2n ** 53n + 1n, false],
    ];
    for (const [v, signed] of cases) {
      let u = BigInt.asUintN(64, v);
      const bytes: number[] = [];
      do {
        const b = Number(u & 0x7fn);
        u >>= 7n;
        bytes.push(u > 0n ? b | 0x80 : b);
      } while (u > 0n);
      const r = new ProtoReader(Buffer.from(bytes));
      expect(signed ? r.int64(WIRE.varint) : r.uint64(WIRE.varint)).toBe(v.toString());
    }
  });

  it('ProtoWriter refuses what it cannot write', () => {
    expect(() => new ProtoWriter().uint32(1, -1)).toThrow(ProtobufError);
    expect(() => new ProtoWriter().uint32(1, 2 ** 32)).toThrow(ProtobufError);
    expect(() => CRI_RUNTIME_SERVICE.listPodSandbox.encode({ filter: { state: { state: 'SANDBOX_GONE' as 'SANDBOX_READY' } } })).toThrow(/unknown enum value/);
  });
});
