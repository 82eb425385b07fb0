/** The list of every snapshot family, in exposition order. */
import { type Assessment } from '../../agent/model/assessment.js';
import { type Snapshot } from '../../agent/model/snapshot.js';
import { EXPORT_ALL, exportedHostLinks, type ExportFilter } from './export-filter.js';
import { Family } from './family.js';
import { collectorFamilies, hostFamilies } from './host-families.js';
import { attachmentRuleFamilies, ipamFamilies } from './ipam-families.js';
import type { NetworkTotals } from './network-families.js';
import { podFamilies } from './pod-families.js';
import type { LabelTextCache } from './label-cache.js';
import { sriovFamilies } from './sriov-families.js';

/**
 * Every snapshot-derived family, in a stable order, as the filter asks; `totals` keeps the
 * per-network sums monotonic across snapshots when pod series are aggregated per network, and
 * `labels` the host links' and pod interfaces' label texts.
 * Formatting only: every verdict (readiness, routes, policy, IPAM, VF users) comes from the
 * snapshot's assessment (agent/rules/assess.ts), made once per snapshot, not per render.
 */
export function snapshotFamilies(snapshot: Snapshot, assessment: Assessment, filter: ExportFilter = EXPORT_ALL, totals?: NetworkTotals, labels?: { readonly pods: LabelTextCache; readonly host: LabelTextCache }): Family[] {
  const hostLinks = filter === EXPORT_ALL ? snapshot.hostLinks : exportedHostLinks(snapshot, assessment, filter);
  return [
    ...hostFamilies(snapshot, hostLinks, labels?.host),
    ...podFamilies(snapshot, assessment, filter, totals, labels?.pods),
    ...attachmentRuleFamilies(assessment, filter),
    ...ipamFamilies(snapshot, assessment),
    ...sriovFamilies(snapshot.sriov, assessment.vfUsers, assessment.vfClaimConflicts),
    ...collectorFamilies(snapshot),
  ];
}
