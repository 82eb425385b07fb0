/**
 * Every way a test scrapes the agent, each through the exposition invariant
 * (exposition-invariant.ts), on the raw bytes where there are bytes: a new test that scrapes with
 * these cannot forget it. A body that is not a 200 answer is not an exposition and is returned as is.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { assertExposition } from './exposition-invariant.js';
import { parseExposition, type ParsedSample } from './exposition.js';

const run = promisify(execFile);

/** One scrape: the status, the body as text, and (for 200) its samples. */
export interface Scrape {
  readonly status: number;
  readonly text: string;
  readonly samples: ParsedSample[];
  readonly headers?: Headers;
}

function checked(status: number, bytes: Uint8Array, where: string, headers?: Headers): Scrape {
  if (status !== 200) return { status, text: new TextDecoder().decode(bytes), samples: [], ...(headers ? { headers } : {}) };
  const samples = parseExposition(bytes, where);
  return { status, text: new TextDecoder().decode(bytes), samples, ...(headers ? { headers } : {}) };
}

/** GET `url` from this process (global fetch); a 200 body must hold the invariant. */
export async function scrapeUrl(url: string, init?: RequestInit): Promise<Scrape> {
  const res = await fetch(url, init);
  return checked(res.status, new Uint8Array(await res.arrayBuffer()), url, res.headers);
}

/** GET `url` from inside namespace `ns` (the body travels base64, byte for byte); a 200 body must hold the invariant. */
export async function scrapeInNetns(ns: string, url: string, opts: { insecureTls?: boolean } = {}): Promise<Scrape> {
  const script = `fetch(${JSON.stringify(url)}).then(async (r) => process.stdout.write(JSON.stringify({ status: r.status, body: Buffer.from(await r.arrayBuffer()).toString('base64') })), (e) => { process.stderr.write(String(e)); process.exit(3); })`;
  const node = opts.insecureTls ? ['env', 'NODE_TLS_REJECT_UNAUTHORIZED=0', process.execPath] : [process.execPath];
  const { stdout } = await run('ip', ['netns', 'exec', ns, ...node, '-e', script], { encoding: 'utf8', maxBuffer: 256 << 20 });
  const r = JSON.parse(stdout) as { status: number; body: string };
  return checked(r.status, Buffer.from(r.body, 'base64'), `${url} in ${ns}`);
}

/** A body a test already holds as bytes (curl, an https client): a 200 body must hold the invariant. */
export function scrapeBytes(status: number, bytes: Uint8Array, where: string): Scrape {
  return checked(status, bytes, where);
}

/** Renders a /metrics body in-process (exporters/prometheus/registry.ts) and asserts the invariant on it. */
export async function renderChecked(renderer: { render(): Promise<string> }, where = 'rendered'): Promise<string> {
  return assertExposition(await renderer.render(), where);
}
