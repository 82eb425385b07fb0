/**
 * Addresses and routes of the node's namespaces, refreshed off the scrape path (every few
 * seconds, and on demand for the problem check): scrapes read the last result synchronously, so a
 * route check per attachment costs a scrape a map lookup, not four file reads per pod.
 */
import type { NetnsRef } from '../model/domain.js';
import { type NetnsNetworking } from '../model/problems.js';

/** Reads addresses and routes of namespaces with a process, keyed by inode (procfs). */
export type NetnsNetworkingReader = (refs: readonly NetnsRef[]) => Promise<ReadonlyMap<number, NetnsNetworking>>;

/** The last addresses and routes read, and a refresh that concurrent callers share. */
export class NetnsNetworkingCache {
  readonly #read: NetnsNetworkingReader;
  #current: ReadonlyMap<number, NetnsNetworking> = new Map();
  #inFlight: Promise<ReadonlyMap<number, NetnsNetworking>> | undefined;

  constructor(read: NetnsNetworkingReader) {
    this.#read = read;
  }

  /** The last result; empty before the first refresh. */
  current(): ReadonlyMap<number, NetnsNetworking> {
    return this.#current;
  }

  /** Reads the given namespaces (those without a process are skipped by the reader) and keeps the result. */
  refresh(refs: readonly NetnsRef[]): Promise<ReadonlyMap<number, NetnsNetworking>> {
    this.#inFlight ??= this.#read(refs.filter((r) => r.pids.length > 0))
      .then((m) => {
        // Nothing changed (the reader hands back the same object for a namespace whose files read
        // the same): the current map stays, so the snapshots and verdicts made with it stand.
        if (!sameEntries(this.#current, m)) this.#current = m;
        return this.#current;
      })
      .finally(() => {
        this.#inFlight = undefined;
      });
    return this.#inFlight;
  }
}

/** Same keys, each with the identical value. */
function sameEntries<K, V>(a: ReadonlyMap<K, V>, b: ReadonlyMap<K, V>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of b) if (a.get(k) !== v) return false;
  return true;
}
