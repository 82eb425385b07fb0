/**
 * Bearer-token protection of /metrics, the kubelet's and kube-rbac-proxy's delegated auth: a
 * TokenReview says who the token is, a SubjectAccessReview whether that user may `get` the path.
 * Decisions are cached per token and request (allowed and denied for their own TTLs, errors
 * never), in a bounded LRU keyed by an HMAC-SHA256 of the token under a per-process random key
 * (the apiserver's token cache does the same: no raw token is kept, and a memory dump gives no
 * hash that can be checked against a guessed token elsewhere); identical requests in flight share
 * one review. Every failure is closed: no review, no metrics.
 */
import { createHmac, randomBytes } from 'node:crypto';
import type { AccessReviewer, Logger, NonResourceRequest } from '../../agent/model/ports.js';

/** What became of one request: the labels of `multinet_web_auth_requests_total`. */
export const AUTH_RESULTS = ['allowed', 'unauthenticated', 'forbidden', 'error'] as const;
export type AuthResult = (typeof AUTH_RESULTS)[number];

/** The decision on one request. */
export interface AuthDecision {
  readonly result: AuthResult;
  /** The reviewed user's name, once the token authenticated. */
  readonly user: string | undefined;
  /** For `error`: which review failed (an authentication error answers 401, an authorization error 500). */
  readonly stage: 'authentication' | 'authorization' | undefined;
  /** Why, for the log (the authorizer's reason, the API error); never the token. */
  readonly reason: string;
}

/** Decides requests to a protected path. */
export interface RequestAuthorizer {
  check(authorization: string | undefined, request: NonResourceRequest): Promise<AuthDecision>;
}

/** Counters behind the `multinet_web_auth_*` families. */
export interface BearerAuthStats {
  readonly requests: Readonly<Record<AuthResult, number>>;
  /** Requests decided without a review of their own: a cached decision, or one in flight for the same token. */
  readonly cacheHits: number;
  readonly cacheEntries: number;
  /** Calls to the kube API by review and outcome. */
  readonly reviews: Readonly<Record<'token' | 'subject_access', { readonly ok: number; readonly error: number }>>;
}

/** Options of {@link BearerAuth}. */
export interface BearerAuthOptions {
  readonly reviewer: AccessReviewer;
  readonly log: Logger;
  /** How long an allowed decision is reused. */
  readonly allowedTtlMs: number;
  /** How long a denied decision (unauthenticated or forbidden) is reused. */
  readonly deniedTtlMs: number;
  /** Decisions kept at most; the least recently used goes first. Default 1024. */
  readonly maxEntries?: number;
  /** Time allowed for both reviews of one decision. Default 5 s (under Prometheus' default 10 s scrape timeout). */
  readonly reviewTimeoutMs?: number;
  /** The clock, in milliseconds. Default Date.now. */
  readonly now?: () => number;
}

interface Entry {
  readonly decision: AuthDecision;
  readonly expiresAtMs: number;
}

const NO_TOKEN: AuthDecision = { result: 'unauthenticated', user: undefined, stage: undefined, reason: 'no bearer token' };

/**
 * The token of an `Authorization: Bearer <token>` header, parsed as the apiserver does
 * (`k8s.io/apiserver/pkg/authentication/request/bearertoken`): scheme case-insensitive, the
 * token the second space-separated field; undefined when there is none.
 */
export function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const parts = header.trim().split(' ');
  if (parts.length < 2 || parts[0]?.toLowerCase() !== 'bearer') return undefined;
  const token = parts[1];
  return token === undefined || token === '' ? undefined : token;
}

/** The cached, coalescing TokenReview + SubjectAccessReview decision; see the module comment. */
export class BearerAuth implements RequestAuthorizer {
  readonly #reviewer: AccessReviewer;
  readonly #log: Logger;
  readonly #allowedTtlMs: number;
  readonly #deniedTtlMs: number;
  readonly #maxEntries: number;
  readonly #timeoutMs: number;
  readonly #now: () => number;
  readonly #hmacKey = randomBytes(32);
  /** Insertion order is recency: a hit moves its entry to the end, eviction takes the first. */
  readonly #cache = new Map<string, Entry>();
  readonly #inflight = new Map<string, Promise<AuthDecision>>();
  readonly #requests: Record<AuthResult, number> = { allowed: 0, unauthenticated: 0, forbidden: 0, error: 0 };
  readonly #reviews = { token: { ok: 0, error: 0 }, subject_access: { ok: 0, error: 0 } };
  #cacheHits = 0;
  /** The API failed at the last review: said once at warn, and once more when it answers again. */
  #failing = false;

  constructor(opts: BearerAuthOptions) {
    this.#reviewer = opts.reviewer;
    this.#log = opts.log;
    this.#allowedTtlMs = opts.allowedTtlMs;
    this.#deniedTtlMs = opts.deniedTtlMs;
    this.#maxEntries = Math.max(1, opts.maxEntries ?? 1024);
    this.#timeoutMs = opts.reviewTimeoutMs ?? 5000;
    this.#now = opts.now ?? Date.now;
  }

  /** Decides one request from its Authorization header. Never rejects. */
  async check(authorization: string | undefined, request: NonResourceRequest): Promise<AuthDecision> {
    const token = bearerToken(authorization);
    if (token === undefined) return this.#count(NO_TOKEN);
    const key = createHmac('sha256', this.#hmacKey).update(token).update('\0').update(request.verb).update('\0').update(request.path).digest('base64');
    const cached = this.#cache.get(key);
    if (cached !== undefined) {
      this.#cache.delete(key);
      if (cached.expiresAtMs > this.#now()) {
        this.#cache.set(key, cached);
        this.#cacheHits++;
        return this.#count(cached.decision);
      }
    }
    const pending = this.#inflight.get(key);
    if (pending !== undefined) {
      this.#cacheHits++;
      return this.#count(await pending);
    }
    const review = this.#review(token, request).then((decision) => {
      this.#inflight.delete(key);
      if (decision.result !== 'error') this.#remember(key, decision);
      return decision;
    });
    this.#inflight.set(key, review);
    return this.#count(await review);
  }

  /** The counters, for /metrics. */
  stats(): BearerAuthStats {
    return {
      requests: { ...this.#requests },
      cacheHits: this.#cacheHits,
      cacheEntries: this.#cache.size,
      reviews: { token: { ...this.#reviews.token }, subject_access: { ...this.#reviews.subject_access } },
    };
  }

  async #review(token: string, request: NonResourceRequest): Promise<AuthDecision> {
    const signal = AbortSignal.timeout(this.#timeoutMs);
    let user;
    try {
      user = await this.#reviewer.authenticate(token, signal);
      this.#reviews.token.ok++;
    } catch (err) {
      this.#reviews.token.error++;
      return this.#failed(err, 'authentication', undefined);
    }
    if (user === undefined) {
      this.#answered();
      this.#log.debug({ path: request.path }, 'bearer token not authenticated');
      return { result: 'unauthenticated', user: undefined, stage: undefined, reason: 'token not authenticated' };
    }
    let verdict;
    try {
      verdict = await this.#reviewer.authorize(user, request, signal);
      this.#reviews.subject_access.ok++;
    } catch (err) {
      this.#reviews.subject_access.error++;
      return this.#failed(err, 'authorization', user.username);
    }
    this.#answered();
    if (!verdict.allowed) {
      this.#log.debug({ user: user.username, verb: request.verb, path: request.path, reason: verdict.reason }, 'request forbidden');
      return { result: 'forbidden', user: user.username, stage: undefined, reason: verdict.reason };
    }
    return { result: 'allowed', user: user.username, stage: undefined, reason: verdict.reason };
  }

  #failed(err: unknown, stage: 'authentication' | 'authorization', user: string | undefined): AuthDecision {
    if (!this.#failing) this.#log.warn({ err, stage }, 'access review failed; protected paths are refused until the kube API answers');
    else this.#log.debug({ err, stage }, 'access review failed');
    this.#failing = true;
    return { result: 'error', user, stage, reason: err instanceof Error ? err.message : String(err) };
  }

  #answered(): void {
    if (!this.#failing) return;
    this.#failing = false;
    this.#log.info({}, 'access reviews answered again');
  }

  #remember(key: string, decision: AuthDecision): void {
    const ttl = decision.result === 'allowed' ? this.#allowedTtlMs : this.#deniedTtlMs;
    if (ttl <= 0) return;
    this.#cache.delete(key);
    this.#cache.set(key, { decision, expiresAtMs: this.#now() + ttl });
    while (this.#cache.size > this.#maxEntries) {
      const oldest = this.#cache.keys().next();
      if (oldest.done === true) break;
      this.#cache.delete(oldest.value);
    }
  }

  #count(decision: AuthDecision): AuthDecision {
    this.#requests[decision.result]++;
    return decision;
  }
}
