/** A parsed Kubernetes label selector (parsed and matched by agent/rules/label-selector.ts). Types only. */

/** One requirement of a selector. */
export type Requirement =
  | { readonly key: string; readonly op: 'exists' | '!exists' }
  | { readonly key: string; readonly op: '=' | '!='; readonly value: string }
  | { readonly key: string; readonly op: 'in' | 'notin'; readonly values: readonly string[] }
  | { readonly key: string; readonly op: '>' | '<'; readonly value: bigint };

/** A parsed selector: its requirements (all must hold) and its text as written. */
export interface LabelSelector {
  readonly text: string;
  readonly requirements: readonly Requirement[];
}
