/**
 * Content negotiation of the /metrics body (RFC 9110 §12.5.3, Accept-Encoding): gzip when the
 * client accepts it with a non-zero weight, as promhttp serves Prometheus (which always sends
 * `Accept-Encoding: gzip`); the body as it is otherwise. Pure.
 */

/** The coding a /metrics answer is sent in. */
export type MetricsEncoding = 'gzip' | 'identity';

/** The weight of each coding named in an Accept-Encoding value, lowercased; a malformed weight counts as 0. */
function weights(header: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const part of header.split(',')) {
    const [coding = '', ...params] = part.split(';').map((s) => s.trim());
    if (coding === '') continue;
    let q = 1;
    for (const p of params) {
      const m = /^q\s*=\s*(.*)$/i.exec(p);
      if (m) q = /^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/.test(m[1] as string) ? Number(m[1]) : 0;
    }
    out.set(coding.toLowerCase(), q);
  }
  return out;
}

/**
 * gzip if the header accepts it: `gzip` (or its alias `x-gzip`) with q > 0, or `*` with q > 0
 * when gzip is not named. No header, an empty one, or gzip at q=0: identity (which a client
 * cannot usefully refuse for /metrics; promhttp serves it too then).
 */
export function metricsEncoding(header: string | undefined): MetricsEncoding {
  if (header === undefined || header.trim() === '') return 'identity';
  const w = weights(header);
  const named = w.get('gzip') ?? w.get('x-gzip');
  if (named !== undefined) return named > 0 ? 'gzip' : 'identity';
  const any = w.get('*');
  return any !== undefined && any > 0 ? 'gzip' : 'identity';
}
