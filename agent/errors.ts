/** Stable error codes: callers and logs match on these, never on message text. */
export type AgentErrorCode =
  | 'E_TIMEOUT'
  | 'E_ABORTED'
  | 'E_NETLINK'
  | 'E_SYSFS'
  | 'E_USAGE'
  | 'E_HTTP';

/** The one error base class of the agent: a stable `code` and the underlying `cause`. */
export class AgentError extends Error {
  readonly code: AgentErrorCode;

  constructor(code: AgentErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AgentError';
    this.code = code;
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
