import { describe, expect, it } from 'vitest';
import { type NetnsNetworking } from '../model/problems.js';
import { EMPTY_SNAPSHOT, type Snapshot } from '../model/snapshot.js';
import { SnapshotCache } from './snapshot-cache.js';

const snap = (n: number): Snapshot => ({ ...EMPTY_SNAPSHOT, takenAtMs: n });

/** A cache whose builds finish only when the test releases them (releases[n-1] finishes build n, snapshot takenAtMs n). */
function gatedCache(): { cache: SnapshotCache; releases: (() => void)[]; builds: () => number } {
  let builds = 0;
  const releases: (() => void)[] = [];
  const cache = new SnapshotCache(
    () =>
      new Promise<Snapshot>((resolve) => {
        const n = ++builds;
        releases.push(() => resolve(snap(n)));
      }),
    { maxAgeMs: 1000, now: () => 0 },
  );
  return { cache, releases, builds: () => builds };
}

describe('SnapshotCache', () => {
  it('shares one build between concurrent callers', async () => {
    let builds = 0;
    let release: () => void = () => {};
    const cache = new SnapshotCache(
      () =>
        new Promise<Snapshot>((resolve) => {
          builds++;
          release = () => resolve(snap(builds));
        }),
      { maxAgeMs: 0 },
    );
    const a = cache.get();
    const b = cache.get();
    release();
    expect(await a).toBe(await b);
    expect(builds).toBe(1);
  });

  it('reuses a snapshot younger than maxAge, with the same assessment, and builds anew after', async () => {
    let now = 0;
    let builds = 0;
    const cache = new SnapshotCache(async () => snap(++builds), { maxAgeMs: 1000, now: () => now });
    const first = await cache.get();
    now = 999;
    const again = await cache.get();
    expect(again).toBe(first);
    expect(again.assessment).toBe(first.assessment);
    now = 1000;
    expect((await cache.get()).snapshot.takenAtMs).toBe(2);
  });

  it('after invalidate() builds anew, even inside maxAge, and keeps last until then', async () => {
    let now = 0;
    let builds = 0;
    const cache = new SnapshotCache(async () => snap(++builds), { maxAgeMs: 1000, now: () => now });
    const first = await cache.get();
    expect(cache.lastValid).toBe(first);
    cache.invalidate();
    expect(cache.last).toBe(first);
    // Off the scrape path (the problem refresh) a snapshot from before the change is not reused.
    expect(cache.lastValid).toBeUndefined();
    now = 10;
    expect((await cache.get()).snapshot.takenAtMs).toBe(2);
    expect(cache.lastValid?.snapshot.takenAtMs).toBe(2);
    now = 20;
    expect((await cache.get()).snapshot.takenAtMs).toBe(2);
  });

  it('does not hand out a build that was in flight when invalidate() came, and does not join it', async () => {
    const { cache, releases, builds } = gatedCache();
    const before = cache.get();
    cache.invalidate();
    const after = cache.get();
    expect(builds()).toBe(2);
    releases[0]?.();
    expect((await before).snapshot.takenAtMs).toBe(1);
    // Taken before the change: the latest for readiness, but not valid for a judgment.
    expect(cache.last?.snapshot.takenAtMs).toBe(1);
    expect(cache.lastValid).toBeUndefined();
    releases[1]?.();
    expect((await after).snapshot.takenAtMs).toBe(2);
    // The first build finished after the invalidation: it was not kept as fresh.
    expect((await cache.get()).snapshot.takenAtMs).toBe(2);
    expect(builds()).toBe(2);
  });

  it('keeps the newer snapshot as last when an older build finishes after it', async () => {
    const { cache, releases } = gatedCache();
    const before = cache.get();
    cache.invalidate();
    const after = cache.get();
    releases[1]?.();
    await after;
    releases[0]?.();
    await before;
    expect(cache.last?.snapshot.takenAtMs).toBe(2);
  });

  it('does not keep a failed build', async () => {
    let fail = true;
    const cache = new SnapshotCache(async () => {
      if (fail) throw new Error('boom');
      return snap(1);
    }, { maxAgeMs: 1000 });
    await expect(cache.get()).rejects.toThrow('boom');
    fail = false;
    expect((await cache.get()).snapshot.takenAtMs).toBe(1);
  });

  it('assesses the snapshot once, as built, and again only with newer addresses and routes', async () => {
    let now = 0;
    const failing: Snapshot = { ...snap(1), collectors: [{ name: 'netlink', success: false, durationSeconds: 0, error: 'EPERM' }] };
    const cache = new SnapshotCache(async () => failing, { maxAgeMs: 1000, now: () => now });
    const first = await cache.get();
    expect(first.assessment.blindSpots).toEqual(['rtnetlink link dump failing: EPERM']);
    expect(cache.last).toBe(first);
    const networking = new Map<number, NetnsNetworking>();
    const judged = cache.withNetworking(first, networking);
    expect(judged.snapshot.networking).toBe(networking);
    expect(judged.snapshot.takenAtMs).toBe(1);
    // Kept in place for the rest of the snapshot's age, and not judged again for the same reading.
    now = 999;
    expect(await cache.get()).toBe(judged);
    expect(cache.withNetworking(judged, networking)).toBe(judged);
    now = 1000;
    const newer = await cache.get();
    expect(newer).not.toBe(judged);
    // Routes read for an older snapshot judge that one, and leave the newer one in the cache.
    const late = cache.withNetworking(first, new Map());
    expect(late.snapshot.takenAtMs).toBe(1);
    expect(cache.last).toBe(newer);
  });
});
