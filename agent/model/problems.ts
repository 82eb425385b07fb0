/** Problems the rules find (agent/rules/health.ts) and the namespace networking they read. Types only. */
import type { InterfaceAddress, RouteEntry } from './domain.js';

/** Addresses and routes of a namespace, read where a process inside makes that possible. */
export interface NetnsNetworking {
  readonly addresses: readonly InterfaceAddress[];
  readonly routes: readonly RouteEntry[];
}

/** Stable problem codes; the doctor prints them and later Events use them as reasons. */
export type ProblemCode =
  | 'attachment-missing'
  | 'interface-down'
  | 'master-missing'
  | 'master-down'
  | 'mtu-above-master'
  | 'route-mismatch'
  | 'policy-violation'
  | 'no-address'
  | 'annotation-invalid'
  | 'nad-missing'
  | 'nad-invalid'
  | 'ipam-exhausted'
  | 'ipam-leaked'
  | 'attachment-conflict'
  | 'pod-capped'
  | 'vf-claim-conflict';

/** One finding. */
export interface Problem {
  readonly code: ProblemCode;
  readonly namespace: string;
  readonly pod: string;
  readonly interface: string;
  readonly network: string;
  /** One line saying what is wrong. */
  readonly message: string;
  /** What to check, from the troubleshooting list. */
  readonly hints: readonly string[];
}
