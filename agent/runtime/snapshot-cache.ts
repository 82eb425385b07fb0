/**
 * The snapshot cache: concurrent callers share one build, a snapshot younger than `maxAgeMs` is
 * handed out again, and each snapshot is assessed once, as it is built, so that every scrape,
 * /readyz and the problem Events read the same verdicts without judging again.
 */
import { type AssessedSnapshot } from '../model/assessment.js';
import { type NetnsNetworking } from '../model/problems.js';
import { type Snapshot } from '../model/snapshot.js';
import { assess } from '../rules/assess.js';
import { AssessmentReuse } from '../rules/assess-reuse.js';

/** Shares snapshots, with their assessment, between concurrent callers. */
export class SnapshotCache {
  readonly #build: () => Promise<Snapshot>;
  readonly #maxAgeMs: number;
  readonly #now: () => number;
  #inFlight: { promise: Promise<AssessedSnapshot>; generation: number } | undefined;
  #last: { assessed: AssessedSnapshot; doneAtMs: number; generation: number } | undefined;
  /** Bumped by {@link invalidate}: a snapshot built from an older generation is not handed out again. */
  #generation = 0;
  /** Judges each new snapshot, or hands out the last judgment when only counters and timings changed. */
  readonly #assessor = new AssessmentReuse();

  constructor(build: () => Promise<Snapshot>, opts: { maxAgeMs: number; now?: () => number }) {
    this.#build = build;
    this.#maxAgeMs = opts.maxAgeMs;
    this.#now = opts.now ?? Date.now;
  }

  /** The most recent completed snapshot and its assessment, if any (for readiness). */
  get last(): AssessedSnapshot | undefined {
    return this.#last?.assessed;
  }

  /**
   * The most recent completed snapshot unless the world changed since it was taken ({@link
   * invalidate}): what a judgment off the scrape path may reuse. A snapshot from before a host
   * interface went down or came back would report pods on it as they were, not as they are.
   */
  get lastValid(): AssessedSnapshot | undefined {
    return this.#last && this.#last.generation === this.#generation ? this.#last.assessed : undefined;
  }

  /** A fresh-enough snapshot and its assessment, building (and assessing) one if needed. */
  get(): Promise<AssessedSnapshot> {
    if (this.#last && this.#now() - this.#last.doneAtMs < this.#maxAgeMs) return Promise.resolve(this.#last.assessed);
    if (this.#inFlight?.generation === this.#generation) return this.#inFlight.promise;
    const generation = this.#generation;
    const promise = this.#build()
      .then((snapshot) => {
        // Judged with the addresses and routes the snapshot carries (the networking cache's value when it was taken).
        const assessed = { snapshot, assessment: this.#assessor.assess(snapshot) };
        // Invalidated while it was built: the latest for readiness (unless a newer build already
        // finished), but not handed out again.
        if (!this.#last || this.#last.generation <= generation) {
          this.#last = { assessed, doneAtMs: generation === this.#generation ? this.#now() : -Infinity, generation };
        }
        return assessed;
      })
      .finally(() => {
        if (this.#inFlight?.promise === promise) this.#inFlight = undefined;
      });
    this.#inFlight = { promise, generation };
    return promise;
  }

  /**
   * The world changed (a host interface went down or up): the next {@link get} builds a new
   * snapshot instead of handing out one taken before the change, and does not join a build that
   * started before it. {@link last} stays until then.
   */
  invalidate(): void {
    this.#generation++;
    if (this.#last) this.#last = { ...this.#last, doneAtMs: -Infinity };
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
    if (last?.assessed === assessed) this.#last = { ...last, assessed: judged };
    return judged;
  }
}
