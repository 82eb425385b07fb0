/** Test support for the hostile suites: series that appear twice in a body (same name and labels). */
import { writeFamilies } from '../../exporters/prometheus/exposition.js';
import { type Family } from '../../exporters/prometheus/family.js';

/** Every sample line whose name and labels appeared before in `text`. */
export function duplicateSeries(text: string): string[] {
  const seen = new Set<string>();
  const dups: string[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const key = line.slice(0, line.lastIndexOf(' '));
    if (seen.has(key)) dups.push(key);
    seen.add(key);
  }
  return dups;
}

/** The duplicate series of families, as written. */
export function duplicatesIn(families: readonly Family[]): string[] {
  return duplicateSeries(writeFamilies(families));
}
