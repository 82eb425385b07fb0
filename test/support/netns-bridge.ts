/**
 * A veth pair between the test's own namespace and a test namespace, with link-local addresses,
 * so a server the test runs (the kube API test server) is reachable from an agent running inside
 * the namespace. Only these two addresses ever talk over it; `remove()` deletes the pair.
 */
import { ip } from './netns.js';

/** The two ends of the bridge. */
export interface NetnsBridge {
  /** Address on the test's side; bind the server here. */
  readonly hostAddress: string;
  /** Address on the namespace's side. */
  readonly netnsAddress: string;
  remove(): Promise<void>;
}

/** Links `ns` to the current namespace; `slot` (0-63) keeps parallel suites apart. */
export async function bridgeToNetns(ns: string, slot: number): Promise<NetnsBridge> {
  const host = `mnk${process.pid % 100000}h${slot}`.slice(0, 15);
  const peer = `mnk${process.pid % 100000}n${slot}`.slice(0, 15);
  const base = 4 * slot;
  // The third octet follows the test process, so suites of two checkouts running at once on one
  // machine never hold the same address.
  const octet = 100 + (process.pid % 150);
  const hostAddress = `169.254.${octet}.${base + 1}`;
  const netnsAddress = `169.254.${octet}.${base + 2}`;
  await ip('link', 'add', host, 'type', 'veth', 'peer', 'name', peer, 'netns', ns);
  try {
    await ip('addr', 'add', `${hostAddress}/30`, 'dev', host);
    await ip('link', 'set', host, 'up');
    await ip('-n', ns, 'addr', 'add', `${netnsAddress}/30`, 'dev', peer);
    await ip('-n', ns, 'link', 'set', peer, 'up');
  } catch (err) {
    await ip('link', 'del', host).catch(() => undefined);
    throw err;
  }
  return {
    hostAddress,
    netnsAddress,
    remove: async () => {
      await ip('link', 'del', host).catch(() => undefined);
    },
  };
}
