/**
 * Manifest adapter: Pods and NetworkAttachmentDefinitions read from YAML or JSON files
 * (`--manifests PATH`, a file or a directory, repeatable) instead of the kube API, for labs,
 * tests and nodes without API access. A file holds one or more documents (`---`); a `kind: List`
 * (or `PodList`, ...) contributes its `items`. Other kinds are skipped with a debug line; a file
 * that does not parse is skipped with one warning, and the other files still load.
 *
 * The directory may hold anything a node or a pod author can put there (issue 14): only regular
 * files are read, opened with O_NONBLOCK and checked with fstat on the open descriptor (a FIFO,
 * device or socket is never read and never blocks the file-I/O pool; a symlink is resolved once,
 * by that open), each at most `maxFileBytes`, all together at most `maxTotalBytes` and
 * `maxFiles`. A file is read and parsed again only when its (device, inode, size, mtime, ctime)
 * changed; reloads never overlap. Skipped files are counted by reason (self-metrics) and named
 * in one warning per file version.
 */
import { constants } from 'node:fs';
import { open, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { errnoCode } from '../../agent/model/errors.js';
import type { Logger } from '../../agent/model/ports.js';
import type { NetworkDefinition, Parsed, PodInfo, PodMetadataSource } from '../../agent/model/pods.js';
import { isJsonObject } from '../../agent/multus/go-json.js';
import { networkDefinitionFromObject } from '../../agent/multus/parse-nad.js';
import { podInfoFromObject } from '../../agent/multus/pod-info.js';

/** Caps on what one load reads (`--manifests.max-*`). */
export interface ManifestLimits {
  /** Bytes of one file; a larger file is skipped. */
  readonly maxFileBytes: number;
  /** Bytes of all files together; files beyond it, in path order, are skipped. */
  readonly maxTotalBytes: number;
  /** Files read; files beyond it, in path order, are skipped. */
  readonly maxFiles: number;
}

/** The flags' defaults. */
export const DEFAULT_MANIFEST_LIMITS: ManifestLimits = { maxFileBytes: 4 * 1024 ** 2, maxTotalBytes: 64 * 1024 ** 2, maxFiles: 10_000 };

/** Options of {@link ManifestSource}. */
export interface ManifestSourceOptions {
  /** Files or directories; a directory contributes its `*.yaml`, `*.yml` and `*.json` files, not its subdirectories (like `kubectl apply -f DIR`). */
  readonly paths: readonly string[];
  readonly log: Logger;
  readonly limits?: ManifestLimits;
}

/** Why a file was not loaded: the values of `multinet_manifest_files_skipped{reason}`. */
export const SKIP_REASONS = ['not_regular_file', 'too_large', 'total_bytes_limit', 'file_count_limit', 'unreadable', 'parse_error'] as const;
export type SkipReason = (typeof SKIP_REASONS)[number];

/** What the last load did (self-metrics). */
export interface ManifestStats {
  /** Files loaded (parsed now or taken unchanged from the previous load). */
  readonly files: number;
  /** Files parsed by the last load: the ones that changed. */
  readonly parsed: number;
  readonly bytes: number;
  readonly skipped: ReadonlyMap<SkipReason, number>;
  readonly reloads: number;
}

/** Extensions read from a directory, as kubectl reads them. */
const MANIFEST_EXTENSIONS = new Set(['.yaml', '.yml', '.json']);

/** One warning this load would give; repeated loads repeat a warning only after it went away. */
interface Warning {
  readonly msg: string;
  readonly obj: Readonly<Record<string, unknown>>;
}

/** A file's identity and content version: read again only when one of these changed. */
interface Version {
  readonly dev: number;
  readonly ino: number;
  readonly size: number;
  readonly mtimeMs: number;
  readonly ctimeMs: number;
}

/** What one file gave, kept while its version stays. */
interface FileResult {
  readonly version: Version;
  readonly pods: readonly PodInfo[];
  readonly networks: readonly NetworkDefinition[];
  readonly warnings: readonly Warning[];
  readonly skipped: SkipReason | undefined;
}

/** What one load found. */
interface Loaded {
  readonly pods: Map<string, PodInfo>;
  readonly networks: Map<string, NetworkDefinition>;
  readonly warnings: Warning[];
  readonly skipped: Map<SkipReason, number>;
}

const sameVersion = (a: Version, b: Version): boolean => a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs;
const versionOf = (st: Version): Version => ({ dev: st.dev, ino: st.ino, size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs });

/**
 * Pods and NADs from manifest files. Empty until the first {@link ManifestSource.reload};
 * `pods()` and `networks()` then answer from memory. When two files define the same
 * namespace/name, the later one (path order, then file name order) wins, as a sequence of
 * `kubectl apply` would leave it.
 */
export class ManifestSource implements PodMetadataSource {
  readonly #paths: readonly string[];
  readonly #log: Logger;
  readonly #limits: ManifestLimits;
  #pods: readonly PodInfo[] = [];
  #networks: readonly NetworkDefinition[] = [];
  /** Keys of the warnings the previous load gave, so a lasting problem is logged once. */
  #warned = new Set<string>();
  /** Per file path, what its last version gave. */
  #files = new Map<string, FileResult>();
  #inFlight: Promise<boolean> | undefined;
  #stats: ManifestStats = { files: 0, parsed: 0, bytes: 0, skipped: new Map(SKIP_REASONS.map((r) => [r, 0])), reloads: 0 };

  constructor(options: ManifestSourceOptions) {
    this.#paths = [...options.paths];
    this.#log = options.log;
    this.#limits = options.limits ?? DEFAULT_MANIFEST_LIMITS;
  }

  pods(): readonly PodInfo[] {
    return this.#pods;
  }

  networks(): readonly NetworkDefinition[] {
    return this.#networks;
  }

  stats(): ManifestStats {
    return this.#stats;
  }

  /**
   * Reads what changed since the last load; the previous content stays visible until the new
   * load is complete. A call while a load runs joins it: loads never overlap. Resolves to
   * whether anything changed: a file added, removed or rewritten (listeners are told only then).
   */
  reload(signal?: AbortSignal): Promise<boolean> {
    this.#inFlight ??= this.#load(signal).finally(() => {
      this.#inFlight = undefined;
    });
    return this.#inFlight;
  }

  async #load(signal: AbortSignal | undefined): Promise<boolean> {
    const loaded: Loaded = { pods: new Map(), networks: new Map(), warnings: [], skipped: new Map(SKIP_REASONS.map((r) => [r, 0])) };
    const files = new Map<string, FileResult>();
    let bytes = 0;
    let count = 0;
    let parsed = 0;
    const skip = (reason: SkipReason): void => void loaded.skipped.set(reason, (loaded.skipped.get(reason) ?? 0) + 1);
    for (const p of this.#paths) {
      for (const file of await this.#list(p, loaded, signal)) {
        signal?.throwIfAborted();
        const previous = this.#files.get(file);
        const result = await this.#read(file, previous, signal);
        if (result === undefined) continue; // gone since the listing
        if (result !== previous) parsed++;
        let r = result;
        if (r.skipped === undefined) {
          if (count >= this.#limits.maxFiles) r = { ...r, pods: [], networks: [], warnings: [{ msg: 'manifest file skipped', obj: { file, reason: 'file_count_limit', limit: this.#limits.maxFiles } }], skipped: 'file_count_limit' };
          else if (bytes + r.version.size > this.#limits.maxTotalBytes) r = { ...r, pods: [], networks: [], warnings: [{ msg: 'manifest file skipped', obj: { file, reason: 'total_bytes_limit', limit: this.#limits.maxTotalBytes } }], skipped: 'total_bytes_limit' };
        }
        // Kept as read (not as capped): when room frees up, an unchanged file is not read again.
        files.set(file, result);
        if (r.skipped !== undefined) skip(r.skipped);
        else {
          count++;
          bytes += r.version.size;
        }
        for (const pod of r.pods) loaded.pods.set(`${pod.namespace}/${pod.name}`, pod);
        for (const nad of r.networks) loaded.networks.set(`${nad.namespace}/${nad.name}`, nad);
        loaded.warnings.push(...r.warnings);
      }
    }
    const changed = this.#stats.reloads === 0 || parsed > 0 || files.size !== this.#files.size || [...files.keys()].some((f) => !this.#files.has(f));
    this.#files = files;
    // Unchanged, the same arrays stay: consumers may compare by identity.
    if (changed) {
      this.#pods = [...loaded.pods.values()];
      this.#networks = [...loaded.networks.values()];
    }
    this.#stats = { files: count, parsed, bytes, skipped: loaded.skipped, reloads: this.#stats.reloads + 1 };
    const warned = new Set<string>();
    for (const w of loaded.warnings) {
      const key = `${w.msg}\0${JSON.stringify(w.obj)}`;
      if (!this.#warned.has(key) && !warned.has(key)) this.#log.warn(w.obj, w.msg);
      warned.add(key);
    }
    this.#warned = warned;
    this.#log.debug({ pods: this.#pods.length, networks: this.#networks.length, files: count, parsed }, 'manifests loaded');
    return changed;
  }

  /** The files a path stands for: itself, or a directory's manifest files sorted by name. */
  async #list(p: string, loaded: Loaded, signal: AbortSignal | undefined): Promise<readonly string[]> {
    try {
      signal?.throwIfAborted();
      // stat never opens: a FIFO or device given as the path is only looked at here.
      if (!(await stat(p)).isDirectory()) return [p];
      const entries = await readdir(p, { withFileTypes: true });
      return entries
        .filter((e) => !e.isDirectory() && MANIFEST_EXTENSIONS.has(path.extname(e.name).toLowerCase()))
        .map((e) => path.join(p, e.name))
        .sort();
    } catch (err) {
      if (signal?.aborted) throw err;
      loaded.warnings.push({ msg: 'manifest path unreadable', obj: { path: p, reason: reasonOf(err) } });
      return [];
    }
  }

  /**
   * One file's objects: the previous result while its version stays, else read and parsed.
   * Undefined when it is gone. Only a regular file is read, from the descriptor fstat checked.
   */
  async #read(file: string, previous: FileResult | undefined, signal: AbortSignal | undefined): Promise<FileResult | undefined> {
    const skipped = (version: Version, reason: SkipReason, extra: Record<string, unknown> = {}): FileResult => ({
      version,
      pods: [],
      networks: [],
      warnings: [{ msg: 'manifest file skipped', obj: { file, reason, ...extra } }],
      skipped: reason,
    });
    const none: Version = { dev: 0, ino: 0, size: 0, mtimeMs: 0, ctimeMs: 0 };
    let st;
    try {
      st = await stat(file);
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return undefined;
      return skipped(none, 'unreadable', { error: reasonOf(err) });
    }
    const seen = versionOf(st);
    if (previous && sameVersion(previous.version, seen)) return previous;
    if (!st.isFile()) return skipped(seen, 'not_regular_file', { type: fileType(st) });
    if (st.size > this.#limits.maxFileBytes) return skipped(seen, 'too_large', { bytes: st.size, limit: this.#limits.maxFileBytes });
    let fh;
    try {
      // O_NONBLOCK: should the path have become a FIFO since the stat, open does not wait for a writer.
      fh = await open(file, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return undefined;
      return skipped(seen, 'unreadable', { error: reasonOf(err) });
    }
    let text: string;
    let version: Version;
    try {
      const fst = await fh.stat();
      version = versionOf(fst);
      if (!fst.isFile()) return skipped(version, 'not_regular_file', { type: fileType(fst) });
      if (fst.size > this.#limits.maxFileBytes) return skipped(version, 'too_large', { bytes: fst.size, limit: this.#limits.maxFileBytes });
      // One byte more than allowed tells a file that grew since the fstat.
      const buf = Buffer.alloc(Math.min(fst.size, this.#limits.maxFileBytes) + 1);
      let n = 0;
      while (n < buf.length) {
        signal?.throwIfAborted();
        const { bytesRead } = await fh.read(buf, n, buf.length - n, n);
        if (bytesRead === 0) break;
        n += bytesRead;
      }
      if (n > this.#limits.maxFileBytes) return skipped(version, 'too_large', { bytes: n, limit: this.#limits.maxFileBytes });
      text = buf.toString('utf8', 0, n);
    } catch (err) {
      if (signal?.aborted) throw err;
      return skipped(seen, 'unreadable', { error: reasonOf(err) });
    } finally {
      await fh.close();
    }
    const objects = parseManifest(text);
    if (!objects.ok) return { ...skipped(version, 'parse_error'), warnings: [{ msg: 'manifest file does not parse', obj: { file, reason: objects.error } }] };
    const into: Loaded = { pods: new Map(), networks: new Map(), warnings: [], skipped: new Map() };
    for (const obj of objects.value) this.#add(obj, file, into);
    return { version, pods: [...into.pods.values()], networks: [...into.networks.values()], warnings: into.warnings, skipped: undefined };
  }

  /** Files one parsed document (or List item) under pods, networks, or nothing. */
  #add(obj: unknown, file: string, loaded: Loaded): void {
    if (obj === null || obj === undefined) return; // an empty document, e.g. after a trailing `---`
    const kind = isJsonObject(obj) ? obj['kind'] : undefined;
    if (typeof kind !== 'string' || kind === '') {
      loaded.warnings.push({ msg: 'manifest object skipped', obj: { file, reason: 'no kind' } });
      return;
    }
    if (kind === 'Pod') {
      const pod = podInfoFromObject(obj);
      if (pod.ok) loaded.pods.set(`${pod.value.namespace}/${pod.value.name}`, pod.value);
      else loaded.warnings.push({ msg: 'manifest object skipped', obj: { file, kind, reason: pod.error } });
      return;
    }
    if (kind === 'NetworkAttachmentDefinition') {
      const nad = networkDefinitionFromObject(obj);
      if (nad.ok) loaded.networks.set(`${nad.value.namespace}/${nad.value.name}`, nad.value);
      else loaded.warnings.push({ msg: 'manifest object skipped', obj: { file, kind, reason: nad.error } });
      return;
    }
    const items = isJsonObject(obj) ? obj['items'] : undefined;
    if (kind.endsWith('List') && Array.isArray(items)) {
      for (const item of items as readonly unknown[]) this.#add(item, file, loaded);
      return;
    }
    const metadata = isJsonObject(obj) ? obj['metadata'] : undefined;
    const name = isJsonObject(metadata) ? metadata['name'] : undefined;
    this.#log.debug({ file, kind, name }, 'manifest object ignored');
  }
}

/** What a non-regular file is, for the warning. */
function fileType(st: { isFIFO(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean; isSocket(): boolean; isDirectory(): boolean }): string {
  return st.isFIFO() ? 'fifo' : st.isCharacterDevice() ? 'character device' : st.isBlockDevice() ? 'block device' : st.isSocket() ? 'socket' : st.isDirectory() ? 'directory' : 'other';
}

/** The documents of one file as plain objects, or the first YAML error. */
export function parseManifest(text: string): Parsed<readonly unknown[]> {
  // JSON (what `kubectl get -o json` writes) is read by JSON.parse: the YAML parser builds a
  // document tree first, measured on a 386 KB List of 250 Pods: 418 ms of CPU and +26 MB RSS,
  // against 5 ms and nothing. Text that is not valid JSON goes to the YAML parser (flow style
  // with comments or trailing commas, and its error messages). One difference: a duplicate key
  // in JSON keeps the last value, as Go's encoding/json (kubectl) does, where YAML refuses it.
  const first = /\S/.exec(text)?.[0];
  if (first === '{' || first === '[') {
    try {
      return { ok: true, value: [JSON.parse(text) as unknown] };
    } catch {
      // not JSON: the YAML parser says what is wrong, or reads it as flow YAML.
    }
  }
  try {
    // logLevel error: the library's own warnings would go to stderr as process warnings, outside the log.
    const docs = Array.from(parseAllDocuments(text, { logLevel: 'error' }));
    const error = docs.flatMap((d) => d.errors)[0];
    // The message's first line says what and where ("... at line 4, column 9:"); a code frame follows.
    // Stack exhaustion is said without its position, which depends on the stack depth of the moment.
    if (error !== undefined) return { ok: false, error: /Maximum call stack/.test(error.message) ? 'nested too deeply' : (error.message.split('\n')[0] ?? '').replace(/:$/, '') };
    return { ok: true, value: docs.map((d) => d.toJS() as unknown) };
  } catch (err) {
    // toJS throws on an alias bomb ("Excessive alias count"), and on a document nested too deeply.
    return { ok: false, error: err instanceof RangeError && /call stack/.test(err.message) ? 'nested too deeply' : reasonOf(err) };
  }
}

/** A short reason for an error: its errno code, else its message. */
function reasonOf(err: unknown): string {
  return errnoCode(err) ?? (err instanceof Error ? err.message : String(err));
}
