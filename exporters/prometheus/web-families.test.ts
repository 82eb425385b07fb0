import { describe, expect, it } from 'vitest';
import { writeFamilies } from './exposition.js';
import { webAuthFamilies, webTlsFamilies } from './web-families.js';
import { expositionComplaints } from '../../test/support/exposition-invariant.js';

describe('web families', () => {
  const text = writeFamilies([
    ...webAuthFamilies({
      requests: { allowed: 7, unauthenticated: 2, forbidden: 1, error: 3 },
      cacheHits: 5,
      cacheEntries: 2,
      reviews: { token: { ok: 4, error: 3 }, subject_access: { ok: 3, error: 0 } },
    }),
    ...webTlsFamilies({ notAfterMs: 1_799_727_375_000, reloads: { success: 1, failure: 2 } }),
  ]);

  it('renders auth decisions, cache, reviews and the serving certificate', () => {
    const samples = text.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
    expect(samples).toEqual([
      'multinet_web_auth_requests_total{result="allowed"} 7',
      'multinet_web_auth_requests_total{result="unauthenticated"} 2',
      'multinet_web_auth_requests_total{result="forbidden"} 1',
      'multinet_web_auth_requests_total{result="error"} 3',
      'multinet_web_auth_cache_hits_total 5',
      'multinet_web_auth_cache_entries 2',
      'multinet_web_auth_reviews_total{review="token",result="ok"} 4',
      'multinet_web_auth_reviews_total{review="token",result="error"} 3',
      'multinet_web_auth_reviews_total{review="subject_access",result="ok"} 3',
      'multinet_web_auth_reviews_total{review="subject_access",result="error"} 0',
      'multinet_web_tls_certificate_expiry_timestamp_seconds 1799727375',
      'multinet_web_tls_reloads_total{result="success"} 1',
      'multinet_web_tls_reloads_total{result="failure"} 2',
    ]);
  });

  it('holds the exposition invariant, promtool check metrics included', () => {
    expect(expositionComplaints(text)).toBe('');
  });
});
