import { describe, expect, it } from 'vitest';
import { metricsEncoding } from './accept-encoding.js';

describe('metricsEncoding (Accept-Encoding of a /metrics request)', () => {
  it('gzip when the client names it with a non-zero weight, as Prometheus does', () => {
    expect(metricsEncoding('gzip')).toBe('gzip');
    expect(metricsEncoding('gzip, deflate, br')).toBe('gzip');
    expect(metricsEncoding('br;q=1.0, GZIP;q=0.5')).toBe('gzip');
    expect(metricsEncoding('x-gzip')).toBe('gzip');
    expect(metricsEncoding('identity;q=0.1, gzip;q=0.001')).toBe('gzip');
  });

  it('identity when the header is absent, empty, names only other codings, or refuses gzip with q=0', () => {
    expect(metricsEncoding(undefined)).toBe('identity');
    expect(metricsEncoding('')).toBe('identity');
    expect(metricsEncoding('identity')).toBe('identity');
    expect(metricsEncoding('br, deflate')).toBe('identity');
    expect(metricsEncoding('gzip;q=0')).toBe('identity');
    expect(metricsEncoding('gzip; q=0.000, identity')).toBe('identity');
    expect(metricsEncoding('*, gzip;q=0')).toBe('identity');
  });

  it('* stands for gzip when gzip is not named', () => {
    expect(metricsEncoding('*')).toBe('gzip');
    expect(metricsEncoding('*;q=0')).toBe('identity');
  });

  it('a malformed weight counts as a refusal', () => {
    expect(metricsEncoding('gzip;q=2')).toBe('identity');
    expect(metricsEncoding('gzip;q=abc')).toBe('identity');
    expect(metricsEncoding('gzip;q=0.5000')).toBe('identity');
  });
});
