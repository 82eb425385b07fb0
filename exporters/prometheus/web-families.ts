/** Families of the protected web endpoint: bearer-token auth decisions and the TLS serving certificate. */
import { AUTH_RESULTS, type BearerAuthStats } from '../http/bearer-auth.js';
import type { ServingCertificateStats } from '../http/serving-certificate.js';
import type { HttpLimitStats } from '../http/server.js';
import { type Family } from './family.js';

/** `multinet_web_auth_*`: decisions on /metrics requests, the cache, and the reviews sent to the kube API. */
export function webAuthFamilies(stats: BearerAuthStats): Family[] {
  return [
    {
      name: 'multinet_web_auth_requests_total',
      help: 'Requests to protected paths by decision: allowed, unauthenticated (no or bad token), forbidden (RBAC), error (the kube API did not answer; refused).',
      type: 'counter',
      samples: AUTH_RESULTS.map((result) => ({ labels: { result }, value: stats.requests[result] })),
    },
    {
      name: 'multinet_web_auth_cache_hits_total',
      help: 'Requests decided without a review of their own: from the decision cache, or sharing a review in flight for the same token.',
      type: 'counter',
      samples: [{ labels: {}, value: stats.cacheHits }],
    },
    { name: 'multinet_web_auth_cache_entries', help: 'Decisions in the cache.', type: 'gauge', samples: [{ labels: {}, value: stats.cacheEntries }] },
    {
      name: 'multinet_web_auth_reviews_total',
      help: 'TokenReviews and SubjectAccessReviews sent to the kube API, by review and result (ok: answered, error: failed or timed out).',
      type: 'counter',
      samples: (['token', 'subject_access'] as const).flatMap((review) => [
        { labels: { review, result: 'ok' }, value: stats.reviews[review].ok },
        { labels: { review, result: 'error' }, value: stats.reviews[review].error },
      ]),
    },
  ];
}

/** `multinet_web_tls_*`: the serving certificate's expiry and its reloads. */
export function webTlsFamilies(stats: ServingCertificateStats): Family[] {
  return [
    {
      name: 'multinet_web_tls_certificate_expiry_timestamp_seconds',
      help: 'notAfter of the certificate served on the web listener; time left is this minus time().',
      type: 'gauge',
      samples: [{ labels: {}, value: stats.notAfterMs / 1000 }],
    },
    {
      name: 'multinet_web_tls_reloads_total',
      help: 'Changes of the certificate and key files: success (now served), failure (refused; the previous pair stays).',
      type: 'counter',
      samples: [
        { labels: { result: 'success' }, value: stats.reloads.success },
        { labels: { result: 'failure' }, value: stats.reloads.failure },
      ],
    },
  ];
}

/** `multinet_web_*` of the HTTP limits: scrapes refused while unread responses held the byte budget, responses cut by the write timeout. */
export function webLimitFamilies(stats: HttpLimitStats): Family[] {
  return [
    {
      name: 'multinet_web_buffered_bytes',
      help: 'Bytes of /metrics responses handed to clients that have not taken them yet (bounded by --web.max-buffered-bytes).',
      type: 'gauge',
      samples: [{ labels: {}, value: stats.bufferedBytes }],
    },
    {
      name: 'multinet_web_refused_total',
      help: 'Scrapes answered 503 because unread responses held --web.max-buffered-bytes (slow or stuck clients).',
      type: 'counter',
      samples: [{ labels: {}, value: stats.refusedBuffered }],
    },
    {
      name: 'multinet_web_pipelining_closed_total',
      help: 'Connections closed for pipelining more than 4 requests without reading the answers.',
      type: 'counter',
      samples: [{ labels: {}, value: stats.droppedPipelined }],
    },
    {
      name: 'multinet_web_write_timeouts_total',
      help: 'Connections closed because their response was not taken within --web.write-timeout.',
      type: 'counter',
      samples: [{ labels: {}, value: stats.writeTimeouts }],
    },
  ];
}
