/**
 * What the rules judge of one snapshot (agent/rules/assess.ts), computed once per snapshot and
 * read by every output: /metrics, doctor, the problem Events, /readyz. Types only.
 */
import { type PciAddress } from './ids.js';
import { type IpamRangeUsage } from './ipam.js';
import { type PodAttachmentRef, type PolicyCheck } from './policy.js';
import { type Problem } from './problems.js';
import { type InterfaceReadiness } from './readiness.js';
import { type Snapshot } from './snapshot.js';
import { type VfClaimConflict, type VfUser } from './sriov.js';

/** The route check of one pod interface whose network names destinations (its IPv4 subnets, its IPAM routes). */
export interface RouteCheck extends PodAttachmentRef {
  /** The first destination the pod's routing table sends out of another interface; undefined when all leave by this one. */
  readonly mismatch: { readonly dst: string; readonly via: string; readonly range?: string } | undefined;
}

/** The verdicts on one snapshot. */
export interface Assessment {
  /** Host interfaces this node's pods need and whether each is ready, by interface name. */
  readonly hostInterfaces: readonly InterfaceReadiness[];
  /** Every problem, in the order doctor prints them. */
  readonly problems: readonly Problem[];
  /** Usage of every host-local range of this node; empty when the IPAM collector is off. */
  readonly ipam: readonly IpamRangeUsage[];
  /** Who uses each VF, by PCI address. */
  readonly vfUsers: ReadonlyMap<PciAddress, VfUser>;
  /** network-status VF claims that another pod's allocation, netdev or claim contradicts. */
  readonly vfClaimConflicts: readonly VfClaimConflict[];
  /** Every attachment of a known pod to a network with a policy. */
  readonly policy: readonly PolicyCheck[];
  /** Pod interfaces whose routes could be read and whose network names destinations. */
  readonly routes: readonly RouteCheck[];
  /** Why the agent cannot see what it is deployed to see (link dump failing, a capability missing); empty when it can. */
  readonly blindSpots: readonly string[];
}

/** A snapshot and its assessment, made together and handed out together. */
export interface AssessedSnapshot {
  readonly snapshot: Snapshot;
  readonly assessment: Assessment;
}
