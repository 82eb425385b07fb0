/**
 * Manifest adapter: Pods and NetworkAttachmentDefinitions read from YAML or JSON files
 * (`--manifests PATH`, a file or a directory, repeatable) instead of the kube API, for labs,
 * tests and nodes without API access. A file holds one or more documents (`---`); a `kind: List`
 * (or `PodList`, ...) contributes its `items`. Other kinds are skipped with a debug line; a file
 * that does not parse is skipped with one warning, and the other files still load.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { errnoCode } from '../../agent/model/errors.js';
import type { Logger } from '../../agent/model/ports.js';
import type { NetworkDefinition, Parsed, PodInfo, PodMetadataSource } from '../../agent/model/pods.js';
import { isJsonObject } from '../../agent/multus/go-json.js';
import { networkDefinitionFromObject } from '../../agent/multus/parse-nad.js';
import { podInfoFromObject } from '../../agent/multus/pod-info.js';

/** Options of {@link ManifestSource}. */
export interface ManifestSourceOptions {
  /** Files or directories; a directory contributes its `*.yaml`, `*.yml` and `*.json` files, not its subdirectories (like `kubectl apply -f DIR`). */
  readonly paths: readonly string[];
  readonly log: Logger;
}

/** Extensions read from a directory, as kubectl reads them. */
const MANIFEST_EXTENSIONS = new Set(['.yaml', '.yml', '.json']);

/** One warning this load would give; repeated loads repeat a warning only after it went away. */
interface Warning {
  readonly msg: string;
  readonly obj: Readonly<Record<string, unknown>>;
}

/** What one file contributed to a load, and the stat that identifies its content. */
interface FileContribution {
  /** dev, inode, size, mtime and ctime: equal keys, same content (no need to parse it again). */
  readonly key: string;
  readonly pods: readonly (readonly [string, PodInfo])[];
  readonly networks: readonly (readonly [string, NetworkDefinition])[];
  readonly warnings: readonly Warning[];
}

/** What one load found. */
interface Loaded {
  readonly pods: Map<string, PodInfo>;
  readonly networks: Map<string, NetworkDefinition>;
  readonly warnings: Warning[];
}

/**
 * Pods and NADs from manifest files. Empty until the first {@link ManifestSource.reload};
 * `pods()` and `networks()` then answer from memory. When two files define the same
 * namespace/name, the later one (path order, then file name order) wins, as a sequence of
 * `kubectl apply` would leave it.
 */
export class ManifestSource implements PodMetadataSource {
  readonly #paths: readonly string[];
  readonly #log: Logger;
  #pods: readonly PodInfo[] = [];
  #networks: readonly NetworkDefinition[] = [];
  /** Keys of the warnings the previous load gave, so a lasting problem is logged once. */
  #warned = new Set<string>();
  /**
   * Each file's contribution to the last load. A file whose stat is unchanged is not read and
   * parsed again: 250 Pods with their annotations cost about 160 ms of CPU to parse, every
   * reload (5 s), the largest part of an idle agent's CPU with --manifests.
   */
  #byFile = new Map<string, FileContribution>();
  #loaded = false;

  constructor(options: ManifestSourceOptions) {
    this.#paths = [...options.paths];
    this.#log = options.log;
  }

  pods(): readonly PodInfo[] {
    return this.#pods;
  }

  networks(): readonly NetworkDefinition[] {
    return this.#networks;
  }

  /**
   * Re-reads every path; the previous content stays visible until the new load is complete.
   * Files whose stat (inode, size, mtime, ctime) is unchanged keep what they gave last time.
   * Resolves to whether anything changed: a file added, removed or rewritten.
   */
  async reload(signal?: AbortSignal): Promise<boolean> {
    const loaded: Loaded = { pods: new Map(), networks: new Map(), warnings: [] };
    const byFile = new Map<string, FileContribution>();
    let changed = !this.#loaded;
    for (const p of this.#paths) {
      for (const file of await this.#files(p, loaded, signal)) {
        signal?.throwIfAborted();
        const c = await this.#contribution(file, signal);
        if (c !== this.#byFile.get(file)) changed = true;
        byFile.set(file, c);
        for (const [k, v] of c.pods) loaded.pods.set(k, v);
        for (const [k, v] of c.networks) loaded.networks.set(k, v);
        loaded.warnings.push(...c.warnings);
      }
    }
    if ([...this.#byFile.keys()].some((f) => !byFile.has(f))) changed = true;
    this.#byFile = byFile;
    this.#loaded = true;
    if (changed) {
      this.#pods = [...loaded.pods.values()];
      this.#networks = [...loaded.networks.values()];
    }
    const warned = new Set<string>();
    for (const w of loaded.warnings) {
      const key = `${w.msg}\0${JSON.stringify(w.obj)}`;
      if (!this.#warned.has(key) && !warned.has(key)) this.#log.warn(w.obj, w.msg);
      warned.add(key);
    }
    this.#warned = warned;
    if (changed) this.#log.debug({ pods: this.#pods.length, networks: this.#networks.length }, 'manifests loaded');
    return changed;
  }

  /** What `file` gives: the last load's if its stat is unchanged, else read and parsed now. */
  async #contribution(file: string, signal: AbortSignal | undefined): Promise<FileContribution> {
    const previous = this.#byFile.get(file);
    let key: string;
    try {
      const st = await stat(file);
      key = `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
    } catch (err) {
      if (signal?.aborted) throw err;
      key = `unreadable:${reasonOf(err)}`;
      if (previous?.key === key) return previous;
      return { key, pods: [], networks: [], warnings: [{ msg: 'manifest path unreadable', obj: { path: file, reason: reasonOf(err) } }] };
    }
    if (previous?.key === key) return previous;
    const loaded: Loaded = { pods: new Map(), networks: new Map(), warnings: [] };
    await this.#loadFile(file, loaded, signal);
    return { key, pods: [...loaded.pods], networks: [...loaded.networks], warnings: loaded.warnings };
  }

  /** The files a path stands for: itself, or a directory's manifest files sorted by name. */
  async #files(p: string, loaded: Loaded, signal: AbortSignal | undefined): Promise<readonly string[]> {
    try {
      signal?.throwIfAborted();
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

  async #loadFile(file: string, loaded: Loaded, signal: AbortSignal | undefined): Promise<void> {
    let text: string;
    try {
      text = await readFile(file, { encoding: 'utf8', signal });
    } catch (err) {
      if (signal?.aborted) throw err;
      loaded.warnings.push({ msg: 'manifest path unreadable', obj: { path: file, reason: reasonOf(err) } });
      return;
    }
    const objects = parseManifest(text);
    if (!objects.ok) {
      loaded.warnings.push({ msg: 'manifest file does not parse', obj: { file, reason: objects.error } });
      return;
    }
    for (const obj of objects.value) this.#add(obj, file, loaded);
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

/** The documents of one file as plain objects, or the first YAML error. */
export function parseManifest(text: string): Parsed<readonly unknown[]> {
  try {
    const docs = Array.from(parseAllDocuments(text));
    const error = docs.flatMap((d) => d.errors)[0];
    // The message's first line says what and where ("... at line 4, column 9:"); a code frame follows.
    if (error !== undefined) return { ok: false, error: (error.message.split('\n')[0] ?? '').replace(/:$/, '') };
    return { ok: true, value: docs.map((d) => d.toJS() as unknown) };
  } catch (err) {
    // toJS throws on an alias bomb ("Excessive alias count").
    return { ok: false, error: reasonOf(err) };
  }
}

/** A short reason for an error: its errno code, else its message. */
function reasonOf(err: unknown): string {
  return errnoCode(err) ?? (err instanceof Error ? err.message : String(err));
}
