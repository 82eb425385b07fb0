/**
 * The agent's gRPC client against HTTP/2 servers that behave as gRPC servers should not: a plain
 * HTTP server, a proxy answering 503, compressed or oversized or doubled messages, a stream that
 * ends without a status, a server that never answers, one that sends GOAWAY between calls. The
 * well-behaved case against grpc-js's own server is in the PodResources and CRI client tests.
 */
import http2 from 'node:http2';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ProtoReader, ProtoWriter } from './protobuf.js';
import { GrpcError, GrpcStatus, UnixGrpcClient, type UnaryMethod } from './unary-client.js';

/** A method whose request and response are one string field (1). */
const ECHO: UnaryMethod<string, string> = {
  path: '/test.Echo/Say',
  encode: (s) => new ProtoWriter().string(1, s).finish(),
  decode: (b) => {
    const r = new ProtoReader(b);
    let s = '';
    while (r.more()) {
      const { field, wire } = r.tag();
      if (field === 1) s = r.string(wire);
      else r.skip(wire);
    }
    return s;
  },
};

const frame = (payload: Buffer, flag = 0): Buffer => {
  const f = Buffer.alloc(5 + payload.length);
  f[0] = flag;
  f.writeUInt32BE(payload.length, 1);
  payload.copy(f, 5);
  return f;
};

type Handler = (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, body: Buffer) => void;

let dir: string;
let socket: string;
let server: http2.Http2Server | undefined;
let client: UnixGrpcClient | undefined;
let handler: Handler;
/** Streams the server saw closed, with the RST code it saw. */
const closed: number[] = [];

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'grpc-client-'));
  socket = path.join(dir, 'srv.sock');
  closed.length = 0;
  opened = 0;
});

afterEach(async () => {
  client?.close();
  client = undefined;
  await stopServer();
  await rm(dir, { recursive: true, force: true });
});

const sessions = new Set<http2.ServerHttp2Session>();
/** Connections (sessions) the server has accepted. */
let opened = 0;

async function startServer(h: Handler): Promise<void> {
  handler = h;
  const srv = http2.createServer();
  srv.on('session', (s) => {
    opened++;
    sessions.add(s);
    s.on('close', () => sessions.delete(s));
  });
  srv.on('stream', (stream, headers) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('close', () => closed.push(stream.rstCode));
    stream.on('error', () => {});
    stream.on('end', () => handler(stream, headers, Buffer.concat(chunks)));
  });
  await new Promise<void>((resolve) => srv.listen(socket, resolve));
  server = srv;
}

async function stopServer(): Promise<void> {
  const srv = server;
  server = undefined;
  if (!srv) return;
  for (const s of sessions) s.destroy();
  await new Promise((r) => srv.close(r));
}

const ok = (stream: http2.ServerHttp2Stream, payload: Buffer): void => {
  stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
  stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
  stream.end(frame(payload));
};

const call = (deadlineMs = 2_000, c: UnixGrpcClient = (client ??= new UnixGrpcClient(socket, { maxResponseBytes: 1024 }))): Promise<string> => c.unary(ECHO, 'hello', deadlineMs).response;

describe('UnixGrpcClient', () => {
  it('sends a gRPC request (path, content-type, te, grpc-timeout, one framed message) and reads the answer', async () => {
    let seen: { headers: http2.IncomingHttpHeaders; body: Buffer } | undefined;
    await startServer((stream, headers, body) => {
      seen = { headers, body };
      ok(stream, ECHO.encode(`${ECHO.decode(body.subarray(5))} → héllo ✓`));
    });
    expect(await call(1_500)).toBe('hello → héllo ✓');
    expect(seen?.headers).toMatchObject({ ':method': 'POST', ':path': '/test.Echo/Say', 'content-type': 'application/grpc', te: 'trailers', 'grpc-timeout': '1500m' });
    expect(seen?.body).toEqual(frame(ECHO.encode('hello')));
    // The session is kept for the next call.
    expect(await call()).toBe('hello → héllo ✓');
    expect(sessions.size).toBe(1);
  });

  it('reads a trailers-only error and its percent-encoded message', async () => {
    await startServer((stream) => stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '5', 'grpc-message': 'pod%20x%20not%20found%3A%20%E2%9C%97' }, { endStream: true }));
    await expect(call()).rejects.toMatchObject({ code: GrpcStatus.NOT_FOUND, details: 'pod x not found: ✗', message: 'NOT_FOUND: pod x not found: ✗' });
  });

  it('maps a non-gRPC HTTP answer by its status, as the spec table says', async () => {
    let status = 404;
    await startServer((stream) => {
      stream.respond({ ':status': status, 'content-type': 'text/html' });
      stream.end('<html>nope</html>');
    });
    await expect(call()).rejects.toMatchObject({ code: GrpcStatus.UNIMPLEMENTED, details: 'Received HTTP status code 404' });
    status = 503;
    await expect(call()).rejects.toMatchObject({ code: GrpcStatus.UNAVAILABLE });
    status = 418;
    await expect(call()).rejects.toMatchObject({ code: GrpcStatus.UNKNOWN });
  });

  it('refuses a compressed message, an oversized one, two messages for a unary call, a malformed one, and a missing or invalid status', async () => {
    let mode: 'compressed' | 'huge' | 'two' | 'bad-proto' | 'no-status' | 'bad-status' | 'ok' = 'compressed';
    await startServer((stream) => {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: mode !== 'no-status' });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': mode === 'bad-status' ? '99' : '0' }));
      if (mode === 'compressed') stream.end(frame(ECHO.encode('zipped?'), 1));
      else if (mode === 'huge') stream.end(frame(Buffer.alloc(4096, 0x41)));
      else if (mode === 'two') stream.end(Buffer.concat([frame(ECHO.encode('a')), frame(ECHO.encode('b'))]));
      else if (mode === 'bad-proto') stream.end(frame(Buffer.from([0x0a, 0x10, 0x41])));
      else stream.end(frame(ECHO.encode('a')));
    });
    await expect(call()).rejects.toMatchObject({ code: GrpcStatus.INTERNAL, details: expect.stringMatching(/compressed/) as unknown });
    mode = 'huge';
    await expect(call()).rejects.toMatchObject({ code: GrpcStatus.RESOURCE_EXHAUSTED, details: 'Received message larger than max (4096 vs. 1024)' });
    mode = 'two';
    await expect(call()).rejects.toMatchObject({ code: GrpcStatus.INTERNAL, details: 'more than one message of 3 bytes for a unary call' });
    mode = 'bad-proto';
    await expect(call()).rejects.toMatchObject({ code: GrpcStatus.INTERNAL, details: expect.stringMatching(/^response not decoded: length 16 runs past/) as unknown });
    mode = 'no-status';
    await expect(call()).rejects.toMatchObject({ code: GrpcStatus.INTERNAL, details: expect.stringMatching(/without a grpc-status/) as unknown });
    mode = 'bad-status';
    await expect(call()).rejects.toMatchObject({ code: GrpcStatus.UNKNOWN, details: 'invalid grpc-status 99' });
    // None of those leaves the client unable to make the next call.
    mode = 'ok';
    expect(await call()).toBe('a');
  });

  it('reads a message whose frame header and body come in many DATA frames; a message cut short is INTERNAL', async () => {
    const payload = frame(ECHO.encode('split ✂ across frames'));
    let cut = false;
    await startServer((stream) => {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      const bytes = cut ? payload.subarray(0, payload.length - 1) : payload;
      let i = 0;
      const next = (): void => {
        if (i >= bytes.length) return void stream.end();
        // One, two or three bytes per write, each its own DATA frame, a tick apart.
        const n = 1 + (i % 3);
        stream.write(bytes.subarray(i, i + n), () => setImmediate(next));
        i += n;
      };
      next();
    });
    expect(await call()).toBe('split ✂ across frames');
    cut = true;
    await expect(call()).rejects.toMatchObject({ code: GrpcStatus.INTERNAL, details: expect.stringMatching(/cut short/) as unknown });
  });

  it('sends a refused stream once more (the server never processed it); refused twice is UNAVAILABLE', async () => {
    let refuse = 1;
    let streams = 0;
    await startServer((stream) => {
      streams++;
      if (refuse-- > 0) return void stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
      ok(stream, ECHO.encode('second time'));
    });
    expect(await call()).toBe('second time');
    expect(streams).toBe(2);
    refuse = 5;
    streams = 0;
    await expect(call()).rejects.toMatchObject({ code: GrpcStatus.UNAVAILABLE });
    expect(streams).toBe(2);
  });

  it('a non-200 answer with a grpc-status is judged by that status', async () => {
    await startServer((stream) => {
      stream.respond({ ':status': 503, 'content-type': 'application/grpc', 'grpc-status': '8', 'grpc-message': 'rate%20limited' }, { endStream: true });
    });
    await expect(call()).rejects.toMatchObject({ code: GrpcStatus.RESOURCE_EXHAUSTED, details: 'rate limited' });
  });

  it('ends a call the server never answers at its deadline, and resets the stream so the server stops too', async () => {
    await startServer(() => {
      // Never answers.
    });
    const started = Date.now();
    await expect(call(150)).rejects.toMatchObject({ code: GrpcStatus.DEADLINE_EXCEEDED });
    expect(Date.now() - started).toBeLessThan(1_500);
    await expect.poll(() => closed).toEqual([http2.constants.NGHTTP2_CANCEL]);
  });

  it('cancel ends the call with CANCELLED and resets the stream', async () => {
    await startServer(() => {});
    client = new UnixGrpcClient(socket, { maxResponseBytes: 1024 });
    const pending = client.unary(ECHO, 'x', 5_000);
    await expect.poll(() => sessions.size).toBe(1);
    pending.cancel();
    await expect(pending.response).rejects.toMatchObject({ code: GrpcStatus.CANCELLED });
    await expect.poll(() => closed).toEqual([http2.constants.NGHTTP2_CANCEL]);
    pending.cancel(); // a second cancel is a no-op
  });

  it('a refused dial is UNAVAILABLE with the socket error; the next call dials again and succeeds', async () => {
    await expect(call()).rejects.toMatchObject({ code: GrpcStatus.UNAVAILABLE, details: `connect ENOENT ${socket}` });
    await startServer((stream) => ok(stream, ECHO.encode('up')));
    expect(await call()).toBe('up');
  });

  it('after GOAWAY or a dropped connection the next call uses a new session', async () => {
    await startServer((stream) => ok(stream, ECHO.encode('a')));
    expect(await call()).toBe('a');
    expect(opened).toBe(1);
    for (const s of sessions) s.goaway();
    await new Promise((r) => setTimeout(r, 50));
    expect(await call()).toBe('a');
    expect(opened).toBe(2);
    for (const s of sessions) s.destroy();
    await expect.poll(() => sessions.size).toBe(0);
    expect(await call()).toBe('a');
    expect(opened).toBe(3);
  });

  it('a GOAWAY that arrives during a call lets the call finish on the old session, then the next call dials anew', async () => {
    let release: (() => void) | undefined;
    await startServer((stream) => {
      release = () => ok(stream, ECHO.encode('finished'));
    });
    client = new UnixGrpcClient(socket, { maxResponseBytes: 1024 });
    const pending = client.unary(ECHO, 'x', 5_000);
    await expect.poll(() => release !== undefined).toBe(true);
    const [old] = [...sessions];
    // GOAWAY naming the stream in flight as the last the server will process.
    old?.goaway(http2.constants.NGHTTP2_NO_ERROR, 1);
    await new Promise((r) => setTimeout(r, 50));
    release?.();
    expect(await pending.response).toBe('finished');
    handler = (stream) => ok(stream, ECHO.encode('a'));
    expect(await call()).toBe('a');
    expect(opened).toBe(2);
  });

  it('a connection dropped mid-call is UNAVAILABLE', async () => {
    await startServer((stream) => stream.session?.destroy());
    await expect(call()).rejects.toMatchObject({ code: GrpcStatus.UNAVAILABLE });
  });

  it('close ends the session; a later call is refused', async () => {
    await startServer((stream) => ok(stream, ECHO.encode('a')));
    expect(await call()).toBe('a');
    client?.close();
    await expect.poll(() => sessions.size).toBe(0);
    await expect(call()).rejects.toEqual(new GrpcError(GrpcStatus.UNAVAILABLE, 'client closed'));
  });
});
