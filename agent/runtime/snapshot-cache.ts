/**
 * The snapshot cache: concurrent callers share one build, a snapshot younger than `maxAgeMs` is
 * handed out again, and each snapshot is assessed once, as it is built, so that every scrape,
 * /readyz and the problem Events read the same verdicts without judging again.
 */
import { type AssessedSnapshot } from '../model/assessment.js';
import { type NetnsNetworking } from '../model/problems.js';
import { type Snapshot } from '../model/snapshot.js';
import { assess } from '../rules/assess.js';

/** Shares snapshots, with their assessment, between concurrent callers. */
export class SnapshotCache {
  readonly #build: () => Promise<Snapshot>;
  readonly #maxAgeMs: number;
  readonly #now: () => number;
  #inFlight: Promise<AssessedSnapshot> | undefined;
  #last: { assessed: AssessedSnapshot; doneAtMs: number } | undefined;

  constructor(build: () => Promise<Snapshot>, opts: { maxAgeMs: number; now?: () => number }) {
    this.#build = build;
    this.#maxAgeMs = opts.maxAgeMs;
    this.#now = opts.now ?? Date.now;
  }

  /** The most recent completed snapshot and its assessment, if any (for readiness). */
  get last(): AssessedSnapshot | undefined {
    return this.#last?.assessed;
  }

  /** A fresh-enough snapshot and its assessment, building (and assessing) one if needed. */
  get(): Promise<AssessedSnapshot> {
    if (this.#last && this.#now() - this.#last.doneAtMs < this.#maxAgeMs) return Promise.resolve(this.#last.assessed);
    this.#inFlight ??= this.#build()
      .then((snapshot) => {
        // Judged with the addresses and routes the snapshot carries (the networking cache's value when it was taken).
        const assessed = { snapshot, assessment: assess(snapshot) };
        this.#last = { assessed, doneAtMs: this.#now() };
        return assessed;
      })
      .finally(() => {
        this.#inFlight = undefined;
      });
    return this.#inFlight;
  }

  /**
   * `assessed` judged again with the addresses and routes read for its namespaces since it was
   * taken (the networking refresh off the scrape path). While it is still the latest snapshot the
   * result takes its place for the rest of its age, so the problem Events and the scrapes that
   * follow read the same verdicts. A newer snapshot is left alone: those routes were read for the
   * older one's namespaces, and judging a newer view of the pods with them would find addresses
   * missing on interfaces that appeared since.
   */
  withNetworking(assessed: AssessedSnapshot, networking: ReadonlyMap<number, NetnsNetworking>): AssessedSnapshot {
    if (assessed.snapshot.networking === networking) return assessed;
    const snapshot: Snapshot = { ...assessed.snapshot, networking };
    const judged = { snapshot, assessment: assess(snapshot) };
    const last = this.#last;
    if (last?.assessed === assessed) this.#last = { assessed: judged, doneAtMs: last.doneAtMs };
    return judged;
  }
}
