/**
 * Whether the agent holds a capability, from its own `/proc/self/status` (CapEff): a refusal
 * (EACCES, EPERM) is then explained by its likely cause instead of always blaming a missing
 * capability. With the capability held, what refuses is an LSM (AppArmor, SELinux, Yama) or the
 * VM/sandbox the node runs in (gVisor, a confidential VM), not the agent's securityContext.
 */
import { readFileSync } from 'node:fs';

/** Capability numbers (linux/capability.h) the agent's warnings talk about. */
const CAP_BITS = { CAP_NET_ADMIN: 12, CAP_SYS_PTRACE: 19, CAP_SYS_ADMIN: 21 } as const;
export type CapabilityName = keyof typeof CAP_BITS;

/** The effective capability set of this process, or undefined when it cannot be read. */
export function effectiveCapabilities(statusPath = '/proc/self/status'): bigint | undefined {
  try {
    const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync(statusPath, 'latin1'));
    return m ? BigInt(`0x${m[1] as string}`) : undefined;
  } catch {
    return undefined;
  }
}

/** Whether `cap` is in `effective`; undefined when the set is unknown. */
export function holds(effective: bigint | undefined, cap: CapabilityName): boolean | undefined {
  return effective === undefined ? undefined : (effective & (1n << BigInt(CAP_BITS[cap]))) !== 0n;
}

/** The likely cause of a refusal the capability `cap` would normally allow, in words for the log. */
export function refusalCause(cap: CapabilityName, code: string, held: boolean | undefined): string {
  if (held === true) return `refused by an LSM (AppArmor, SELinux, Yama) or the VM although the agent holds ${cap} (${code})`;
  if (held === false) return `the agent lacks ${cap} (${code}): add it to the container's securityContext.capabilities`;
  return `the agent may lack ${cap}, or an LSM or the VM refused (${code})`;
}
