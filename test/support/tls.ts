/**
 * TLS for tests: self-signed serving certificates made by the real `openssl` (Debian package
 * `openssl`; node:crypto cannot sign a certificate), a Kubernetes Secret volume's file layout with
 * its atomic `..data` symlink swap, and a peek at the certificate a server presents.
 */
import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync, existsSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { connect, type ConnectionOptions } from 'node:tls';

/** A certificate and its key, as PEM, and the certificate's SHA-256 fingerprint (as node prints it). */
export interface TestPair {
  readonly cert: string;
  readonly key: string;
  readonly fingerprint256: string;
  readonly notAfterMs: number;
}

/** Makes a self-signed P-256 certificate for 127.0.0.1 valid `days` days, in `dir`. */
export function makeTestPair(dir: string, name: string, days: number): TestPair {
  const certFile = join(dir, `${name}.crt`);
  const keyFile = join(dir, `${name}.key`);
  const out = spawnSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', String(days), '-subj', `/CN=${name}`, '-addext', 'subjectAltName=IP:127.0.0.1'],
    { encoding: 'utf8' },
  );
  if (out.status !== 0) throw new Error(`openssl req failed (${out.error?.message ?? `exit ${out.status}`}): ${out.stderr}; .ci/run installs openssl`);
  const cert = readFileSync(certFile, 'utf8');
  const x509 = new X509Certificate(cert);
  return { cert, key: readFileSync(keyFile, 'utf8'), fingerprint256: x509.fingerprint256, notAfterMs: Date.parse(x509.validTo) };
}

/**
 * A directory laid out as the kubelet lays out a Secret volume: `tls.crt` and `tls.key` are
 * symlinks into `..data`, itself a symlink to a timestamped directory. {@link SecretVolume.install}
 * writes a new timestamped directory and renames a new `..data` link over the old one (one atomic
 * rename), then removes the old directory — the kubelet's AtomicWriter.
 */
export class SecretVolume {
  readonly dir: string;
  #generation = 0;

  constructor(dir: string) {
    this.dir = dir;
    mkdirSync(dir, { recursive: true });
  }

  get certFile(): string {
    return join(this.dir, 'tls.crt');
  }

  get keyFile(): string {
    return join(this.dir, 'tls.key');
  }

  /** Publishes `files` (`tls.crt`, `tls.key`) atomically. */
  install(files: { readonly 'tls.crt': string; readonly 'tls.key': string }): void {
    const data = join(this.dir, '..data');
    const old = existsSync(data) ? readlinkSync(data) : undefined;
    const ts = `..2026_11_28_00_00_00.${++this.#generation}`;
    mkdirSync(join(this.dir, ts));
    for (const [name, content] of Object.entries(files)) writeFileSync(join(this.dir, ts, name), content, { mode: 0o600 });
    symlinkSync(ts, join(this.dir, '..data_tmp'));
    renameSync(join(this.dir, '..data_tmp'), data);
    for (const name of ['tls.crt', 'tls.key']) if (!existsSync(join(this.dir, name))) symlinkSync(join('..data', name), join(this.dir, name));
    if (old !== undefined) rmSync(join(this.dir, old), { recursive: true, force: true });
  }
}

/** The certificate the server at 127.0.0.1:`port` presents to a new connection, and the protocol agreed. */
export function peerCertificate(port: number, options: ConnectionOptions = {}): Promise<{ fingerprint256: string; protocol: string | null }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...options }, () => {
      const result = { fingerprint256: socket.getPeerCertificate().fingerprint256, protocol: socket.getProtocol() };
      socket.end();
      resolve(result);
    });
    socket.once('error', reject);
  });
}
