/** The list of every snapshot family, in exposition order. */
import { type Snapshot } from '../../agent/model/snapshot.js';
import { vfUsers } from '../../agent/rules/attachments.js';
import { EXPORT_ALL, exportedHostLinks, type ExportFilter } from './export-filter.js';
import { Family } from './family.js';
import { collectorFamilies, hostFamilies } from './host-families.js';
import { attachmentRuleFamilies, ipamFamilies } from './ipam-families.js';
import type { NetworkTotals } from './network-families.js';
import { podFamilies } from './pod-families.js';
import { sriovFamilies } from './sriov-families.js';

/**
 * Every snapshot-derived family, in a stable order, as the filter asks; `totals` keeps the
 * per-network sums monotonic across snapshots when pod series are aggregated per network.
 */
export function snapshotFamilies(snapshot: Snapshot, filter: ExportFilter = EXPORT_ALL, totals?: NetworkTotals): Family[] {
  const hostLinks = filter === EXPORT_ALL ? snapshot.hostLinks : exportedHostLinks(snapshot, filter);
  return [...hostFamilies(snapshot, hostLinks), ...podFamilies(snapshot, filter, totals), ...attachmentRuleFamilies(snapshot, filter), ...ipamFamilies(snapshot), ...sriovFamilies(snapshot.sriov, vfUsers(snapshot)), ...collectorFamilies(snapshot)];
}
