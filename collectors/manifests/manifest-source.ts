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

  /** Re-reads every path; the previous content stays visible until the new load is complete. */
  async reload(signal?: AbortSignal): Promise<void> {
    const loaded: Loaded = { pods: new Map(), networks: new Map(), warnings: [] };
    for (const p of this.#paths) {
      for (const file of await this.#files(p, loaded, signal)) {
        signal?.throwIfAborted();
        await this.#loadFile(file, loaded, signal);
      }
    }
    this.#pods = [...loaded.pods.values()];
    this.#networks = [...loaded.networks.values()];
    const warned = new Set<string>();
    for (const w of loaded.warnings) {
      const key = `${w.msg}\0${JSON.stringify(w.obj)}`;
      if (!this.#warned.has(key) && !warned.has(key)) this.#log.warn(w.obj, w.msg);
      warned.add(key);
    }
    this.#warned = warned;
    this.#log.debug({ pods: this.#pods.length, networks: this.#networks.length }, 'manifests loaded');
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
