/**
 * The serving certificate and key of `--web.tls.cert-file` / `--web.tls.key-file`, reloaded when
 * the files change. A Kubernetes Secret volume replaces its files by swapping a `..data`
 * symlink to a new timestamped directory, so the directories holding the files are watched
 * (fs.watch on a file would keep following the old inode) and the files are read again on a
 * timer too, for file systems where inotify says nothing (NFS, some overlay set-ups) and for a
 * watched directory that was itself replaced. A new pair is used only when it parses and its key
 * matches its certificate; a bad one leaves the old pair serving and is said once at warn.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { watch, type FSWatcher, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { createSecureContext, type SecureContextOptions } from 'node:tls';
import { AgentError } from '../../agent/model/errors.js';
import type { Logger } from '../../agent/model/ports.js';

/** TLS 1.0 and 1.1 are deprecated (RFC 8996); Prometheus speaks 1.2 and 1.3. */
export const TLS_MIN_VERSION = 'TLSv1.2';

/** Options of {@link ServingCertificate.load}. */
export interface ServingCertificateOptions {
  readonly certFile: string;
  readonly keyFile: string;
  readonly log: Logger;
  /** How often the files are read again besides the directory watch. Default 10 s. */
  readonly pollMs?: number;
  /** How long a burst of directory events settles before the files are read. Default 100 ms. */
  readonly settleMs?: number;
}

/** A certificate/key pair that parsed and matched. */
interface Pair {
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly notAfterMs: number;
  /** SHA-256 of cert and key, to tell a change from a re-read. */
  readonly digest: string;
}

/** Counters and state behind the `multinet_web_tls_*` families. */
export interface ServingCertificateStats {
  /** notAfter of the certificate being served, milliseconds since the epoch. */
  readonly notAfterMs: number;
  readonly reloads: { readonly success: number; readonly failure: number };
}

/** The serving pair and its reloading; see the module comment. */
export class ServingCertificate {
  readonly #opts: ServingCertificateOptions;
  #pair: Pair;
  /** Digest of the last bad pair warned about: the same bad files are not said twice. */
  #badDigest: string | undefined;
  readonly #reloads = { success: 0, failure: 0 };
  readonly #listeners: ((options: SecureContextOptions) => void)[] = [];
  readonly #watchers: FSWatcher[] = [];
  #pollTimer: NodeJS.Timeout | undefined;
  #settleTimer: NodeJS.Timeout | undefined;

  private constructor(opts: ServingCertificateOptions, pair: Pair) {
    this.#opts = opts;
    this.#pair = pair;
  }

  /** Reads and checks the pair; throws AgentError E_USAGE naming the flag when it cannot be served. */
  static load(opts: ServingCertificateOptions): ServingCertificate {
    let cert: Buffer;
    let key: Buffer;
    try {
      cert = readFileSync(opts.certFile);
    } catch (err) {
      throw new AgentError('E_USAGE', `--web.tls.cert-file=${opts.certFile}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
    try {
      key = readFileSync(opts.keyFile);
    } catch (err) {
      throw new AgentError('E_USAGE', `--web.tls.key-file=${opts.keyFile}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
    let pair: Pair;
    try {
      pair = checkPair(cert, key);
    } catch (err) {
      throw new AgentError('E_USAGE', `--web.tls.cert-file=${opts.certFile}, --web.tls.key-file=${opts.keyFile}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
    return new ServingCertificate(opts, pair);
  }

  /** Options for https.createServer and server.setSecureContext: the current pair, TLS 1.2 or later. */
  get secureContextOptions(): SecureContextOptions {
    return { cert: this.#pair.cert, key: this.#pair.key, minVersion: TLS_MIN_VERSION };
  }

  /** Calls `listener` with new options after each successful reload. */
  onChange(listener: (options: SecureContextOptions) => void): void {
    this.#listeners.push(listener);
  }

  /** Starts watching the files' directories and the fallback timer. */
  start(): void {
    const { log } = this.#opts;
    for (const dir of new Set([dirname(this.#opts.certFile), dirname(this.#opts.keyFile)])) {
      try {
        const w = watch(dir, { persistent: false }, () => this.#settle());
        w.on('error', (err: unknown) => {
          // The directory went away (an unmounted volume): the timer still reads the files.
          log.debug({ err, dir }, 'tls directory watch ended');
          w.close();
        });
        this.#watchers.push(w);
      } catch (err) {
        log.warn({ err, dir }, 'tls directory not watched; files re-read on a timer only');
      }
    }
    this.#pollTimer = setInterval(() => this.reload(), this.#opts.pollMs ?? 10_000);
    this.#pollTimer.unref();
  }

  /** Stops watching. */
  stop(): void {
    clearInterval(this.#pollTimer);
    clearTimeout(this.#settleTimer);
    for (const w of this.#watchers.splice(0)) w.close();
  }

  /** Reads the files again; switches to them when they changed and are a good pair. True when switched. */
  reload(): boolean {
    const { certFile, keyFile, log } = this.#opts;
    let cert: Buffer;
    let key: Buffer;
    try {
      cert = readFileSync(certFile);
      key = readFileSync(keyFile);
    } catch (err) {
      // Between the removal of an old `..data` target and the new link, or a volume going away.
      log.debug({ err, certFile, keyFile }, 'tls files not readable; the current pair stays');
      return false;
    }
    const digest = pairDigest(cert, key);
    if (digest === this.#pair.digest || digest === this.#badDigest) return false;
    let pair: Pair;
    try {
      pair = checkPair(cert, key);
    } catch (err) {
      this.#badDigest = digest;
      this.#reloads.failure++;
      log.warn({ err, certFile, keyFile }, 'new tls certificate or key refused; the current pair stays');
      return false;
    }
    this.#pair = pair;
    this.#badDigest = undefined;
    this.#reloads.success++;
    log.info({ certFile, notAfter: new Date(pair.notAfterMs).toISOString() }, 'tls certificate reloaded');
    for (const l of this.#listeners) l(this.secureContextOptions);
    return true;
  }

  /** The served certificate's expiry and the reload counters. */
  stats(): ServingCertificateStats {
    return { notAfterMs: this.#pair.notAfterMs, reloads: { ...this.#reloads } };
  }

  #settle(): void {
    clearTimeout(this.#settleTimer);
    this.#settleTimer = setTimeout(() => this.reload(), this.#opts.settleMs ?? 100);
    this.#settleTimer.unref();
  }
}

function pairDigest(cert: Buffer, key: Buffer): string {
  return createHash('sha256').update(cert).update('\0').update(key).digest('hex');
}

/** Parses the certificate and checks that the key is its key (OpenSSL's check in createSecureContext). */
function checkPair(cert: Buffer, key: Buffer): Pair {
  const x509 = new X509Certificate(cert);
  createSecureContext({ cert, key, minVersion: TLS_MIN_VERSION });
  return { cert, key, notAfterMs: Date.parse(x509.validTo), digest: pairDigest(cert, key) };
}
