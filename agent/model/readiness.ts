/** Host interfaces the node needs for its pods' networks, and their readiness (agent/rules/readiness.ts). Types only. */

/** One host interface this node needs, and for what. */
export interface RequiredInterface {
  readonly interface: string;
  /** `namespace/name` of every NAD on this node's pods that names it. */
  readonly networks: readonly string[];
  /** Pod attachments (requested or listed) of those networks on this node. */
  readonly attachments: number;
}

/** Readiness of one required interface. */
export interface InterfaceReadiness extends RequiredInterface {
  readonly ready: boolean;
  /** Why not: `missing`, `admin down`, `no carrier`, `no VFs` (a PF); '' when ready. */
  readonly reason: string;
}
