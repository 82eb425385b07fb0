/** Stable error codes: callers and logs match on these, never on message text. */
export type AgentErrorCode =
  | 'E_TIMEOUT'
  | 'E_ABORTED'
  | 'E_NETLINK'
  | 'E_SYSFS'
  | 'E_USAGE'
  | 'E_HTTP'
  | 'E_CAPABILITY';

/** The one error base class of the agent: a stable `code` and the underlying `cause`. */
export class AgentError extends Error {
  readonly code: AgentErrorCode;

  constructor(code: AgentErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AgentError';
    this.code = code;
  }
}

/**
 * A capability the agent lacks: what it cannot do is data for /readyz, said once in the log.
 * `partial` is what the collector could still read (exported, while the collector reports failure).
 */
export class CapabilityError extends AgentError {
  readonly capability: string;
  declare readonly partial: unknown;

  constructor(capability: string, message: string, options?: { cause?: unknown; partial?: unknown }) {
    super('E_CAPABILITY', message, options);
    this.name = 'CapabilityError';
    this.capability = capability;
    // Not enumerable: a logged error carries its capability, not the collector's data.
    Object.defineProperty(this, 'partial', { value: options?.partial, enumerable: false });
  }
}

/** The errno code (`ENOENT`, `EINVAL`, ...) of a Node system error, or undefined. */
export function errnoCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err) {
    const code = (err as { code: unknown }).code;
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}
