import { describe, expect, it } from 'vitest';
import type { AccessReviewer, Logger, NonResourceRequest, ReviewedUser } from '../../agent/model/ports.js';
import { BearerAuth, bearerToken } from './bearer-auth.js';

const METRICS: NonResourceRequest = { path: '/metrics', verb: 'get' };
const PROMETHEUS: ReviewedUser = { username: 'system:serviceaccount:monitoring:prometheus', uid: 'u-1', groups: ['system:serviceaccounts', 'system:authenticated'], extra: {} };

/** An in-memory reviewer: tokens → users, allowed usernames; counts calls; can fail or be held. */
class TableReviewer implements AccessReviewer {
  readonly users = new Map<string, ReviewedUser>([['good', PROMETHEUS]]);
  readonly allowed = new Set<string>([PROMETHEUS.username]);
  calls = { authenticate: 0, authorize: 0 };
  failAuthenticate: Error | undefined;
  failAuthorize: Error | undefined;
  /** While set, authenticate waits for it. */
  hold: Promise<void> | undefined;

  async authenticate(token: string): Promise<ReviewedUser | undefined> {
    this.calls.authenticate++;
    if (this.hold) await this.hold;
    if (this.failAuthenticate) throw this.failAuthenticate;
    return this.users.get(token);
  }

  async authorize(user: ReviewedUser, request: NonResourceRequest): Promise<{ allowed: boolean; reason: string }> {
    this.calls.authorize++;
    if (this.failAuthorize) throw this.failAuthorize;
    const allowed = this.allowed.has(user.username) && request.verb === 'get';
    return { allowed, reason: allowed ? 'granted' : '' };
  }
}

/** Keeps what was logged, to assert that a failure is said once. */
function memoryLog(): Logger & { lines: { level: string; msg: string; obj: object }[] } {
  const lines: { level: string; msg: string; obj: object }[] = [];
  const at = (level: string) => (obj: object, msg: string) => void lines.push({ level, msg, obj });
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

function setup(opts: { maxEntries?: number } = {}) {
  const reviewer = new TableReviewer();
  const clock = { now: 1_000_000 };
  const log = memoryLog();
  const auth = new BearerAuth({ reviewer, log, allowedTtlMs: 120_000, deniedTtlMs: 10_000, now: () => clock.now, ...opts });
  return { reviewer, clock, log, auth };
}

describe('bearerToken', () => {
  it('reads the header as the apiserver does', () => {
    expect(bearerToken('Bearer abc')).toBe('abc');
    expect(bearerToken('bearer abc')).toBe('abc');
    expect(bearerToken('  Bearer abc  ')).toBe('abc');
    expect(bearerToken('Bearer abc extra')).toBe('abc');
    expect(bearerToken('Bearer')).toBeUndefined();
    expect(bearerToken('Bearer  abc')).toBeUndefined();
    expect(bearerToken('Basic dTpw')).toBeUndefined();
    expect(bearerToken(undefined)).toBeUndefined();
  });
});

describe('BearerAuth', () => {
  it('refuses a request without a bearer token and asks nobody', async () => {
    const { reviewer, auth } = setup();
    expect(await auth.check(undefined, METRICS)).toEqual({ result: 'unauthenticated', user: undefined, stage: undefined, reason: 'no bearer token' });
    expect((await auth.check('Basic dTpw', METRICS)).result).toBe('unauthenticated');
    expect(reviewer.calls).toEqual({ authenticate: 0, authorize: 0 });
  });

  it('allows an authenticated user RBAC allows, and reuses the decision until its TTL passes', async () => {
    const { reviewer, clock, auth } = setup();
    expect(await auth.check('Bearer good', METRICS)).toEqual({ result: 'allowed', user: PROMETHEUS.username, stage: undefined, reason: 'granted' });
    clock.now += 119_999;
    expect((await auth.check('Bearer good', METRICS)).result).toBe('allowed');
    expect(reviewer.calls).toEqual({ authenticate: 1, authorize: 1 });
    clock.now += 1;
    expect((await auth.check('Bearer good', METRICS)).result).toBe('allowed');
    expect(reviewer.calls).toEqual({ authenticate: 2, authorize: 2 });
    expect(auth.stats()).toEqual({
      requests: { allowed: 3, unauthenticated: 0, forbidden: 0, error: 0 },
      cacheHits: 1,
      cacheEntries: 1,
      reviews: { token: { ok: 2, error: 0 }, subject_access: { ok: 2, error: 0 } },
    });
  });

  it('caches an unknown token and a forbidden user for the denied TTL only', async () => {
    const { reviewer, clock, auth } = setup();
    reviewer.users.set('nobody-token', { username: 'nobody', uid: '', groups: ['system:authenticated'], extra: {} });
    expect((await auth.check('Bearer bad', METRICS)).result).toBe('unauthenticated');
    expect(await auth.check('Bearer nobody-token', METRICS)).toEqual({ result: 'forbidden', user: 'nobody', stage: undefined, reason: '' });
    expect((await auth.check('Bearer bad', METRICS)).result).toBe('unauthenticated');
    expect((await auth.check('Bearer nobody-token', METRICS)).result).toBe('forbidden');
    expect(reviewer.calls).toEqual({ authenticate: 2, authorize: 1 });

    // RBAC granted meanwhile: seen once the denial expires.
    reviewer.allowed.add('nobody');
    clock.now += 10_000;
    expect((await auth.check('Bearer nobody-token', METRICS)).result).toBe('allowed');
    expect(reviewer.calls).toEqual({ authenticate: 3, authorize: 2 });
  });

  it('keys decisions by request too: another verb is reviewed on its own', async () => {
    const { reviewer, auth } = setup();
    expect((await auth.check('Bearer good', METRICS)).result).toBe('allowed');
    expect((await auth.check('Bearer good', { path: '/metrics', verb: 'create' })).result).toBe('forbidden');
    expect(reviewer.calls.authorize).toBe(2);
  });

  it('fails closed on API errors, never caches them, and says so once until the API answers again', async () => {
    const { reviewer, log, auth } = setup();
    reviewer.failAuthenticate = new Error('connect ECONNREFUSED 127.0.0.1:6443');
    const first = await auth.check('Bearer good', METRICS);
    expect(first).toEqual({ result: 'error', user: undefined, stage: 'authentication', reason: 'connect ECONNREFUSED 127.0.0.1:6443' });
    expect((await auth.check('Bearer good', METRICS)).result).toBe('error');
    expect(reviewer.calls.authenticate).toBe(2);

    reviewer.failAuthenticate = undefined;
    reviewer.failAuthorize = new Error('403 Forbidden: subjectaccessreviews.authorization.k8s.io is forbidden');
    expect(await auth.check('Bearer good', METRICS)).toMatchObject({ result: 'error', user: PROMETHEUS.username, stage: 'authorization' });
    expect(auth.stats().cacheEntries).toBe(0);

    reviewer.failAuthorize = undefined;
    expect((await auth.check('Bearer good', METRICS)).result).toBe('allowed');
    expect(log.lines.filter((l) => l.level === 'warn').map((l) => l.msg)).toEqual(['access review failed; protected paths are refused until the kube API answers']);
    expect(log.lines.filter((l) => l.level === 'info').map((l) => l.msg)).toEqual(['access reviews answered again']);
    expect(auth.stats().reviews).toEqual({ token: { ok: 2, error: 2 }, subject_access: { ok: 1, error: 1 } });
    expect(auth.stats().requests).toEqual({ allowed: 1, unauthenticated: 0, forbidden: 0, error: 3 });
    // The token is in no log line.
    expect(JSON.stringify(log.lines)).not.toContain('good');
  });

  it('shares one review among identical requests in flight', async () => {
    const { reviewer, auth } = setup();
    let release: () => void = () => undefined;
    reviewer.hold = new Promise<void>((r) => (release = r));
    const checks = [auth.check('Bearer good', METRICS), auth.check('Bearer good', METRICS), auth.check('Bearer good', METRICS), auth.check('Bearer bad', METRICS)];
    reviewer.hold = undefined;
    release();
    expect((await Promise.all(checks)).map((d) => d.result)).toEqual(['allowed', 'allowed', 'allowed', 'unauthenticated']);
    expect(reviewer.calls).toEqual({ authenticate: 2, authorize: 1 });
    expect(auth.stats().cacheHits).toBe(2);
  });

  it('keeps at most maxEntries decisions, dropping the least recently used', async () => {
    const { reviewer, auth } = setup({ maxEntries: 2 });
    for (const t of ['a', 'b']) reviewer.users.set(t, { ...PROMETHEUS, username: t });
    await auth.check('Bearer a', METRICS);
    await auth.check('Bearer b', METRICS);
    await auth.check('Bearer a', METRICS); // a is now the most recent
    await auth.check('Bearer good', METRICS); // evicts b
    expect(auth.stats().cacheEntries).toBe(2);
    reviewer.calls = { authenticate: 0, authorize: 0 };
    await auth.check('Bearer a', METRICS);
    await auth.check('Bearer good', METRICS);
    expect(reviewer.calls.authenticate).toBe(0);
    await auth.check('Bearer b', METRICS);
    expect(reviewer.calls.authenticate).toBe(1);
  });
});
