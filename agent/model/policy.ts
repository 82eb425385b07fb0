/** NAD attachment-policy checks (agent/rules/policy.ts). Types only. */

/** A pod interface and the network it is on: what a per-attachment check names. */
export interface PodAttachmentRef {
  readonly namespace: string;
  readonly pod: string;
  readonly interface: string;
  /** NAD name. */
  readonly network: string;
  readonly networkNamespace: string;
  /** The NAD's traffic class ('' for none). */
  readonly trafficClass: string;
}

/** One pod interface on a network that has a policy. */
export interface PolicyCheck extends PodAttachmentRef {
  readonly violation: boolean;
  /** Why it is a violation (or that it is not). */
  readonly message: string;
}
