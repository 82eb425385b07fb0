/**
 * Host directories a root suite may cause to be created (a hostPath mount's DirectoryOrCreate,
 * libcni's result cache under /var/lib/cni): noted before, removed after when they are empty.
 */
import { existsSync, rmdirSync } from 'node:fs';
import path from 'node:path';

/** The directories of `dir` and its ancestors that do not exist now, deepest first. */
export function missingDirs(dir: string): string[] {
  const out: string[] = [];
  for (let d = path.resolve(dir); !existsSync(d) && d !== path.dirname(d); d = path.dirname(d)) out.push(d);
  return out;
}

/** Removes `dirs` (deepest first) that exist and are empty; returns those left because something is in them. */
export function removeEmptyDirs(dirs: readonly string[]): string[] {
  const kept: string[] = [];
  for (const d of [...new Set(dirs)].sort((a, b) => b.length - a.length)) {
    if (!existsSync(d)) continue;
    try {
      rmdirSync(d);
    } catch {
      kept.push(d); // not empty: something else wrote there since
    }
  }
  return kept;
}
