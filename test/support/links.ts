/** NetLink values for tests that need links without a kernel. */
import type { NetLink } from '../../agent/model/domain.js';
import { type IfIndex, type IfName } from '../../agent/model/ids.js';

/** A link with plausible defaults; override what the test is about. */
export function netLink(over: Partial<Omit<NetLink, 'ifindex' | 'name'>> & { ifindex: number; name: string }): NetLink {
  return {
    kind: '',
    slaveKind: '',
    parentIfindex: undefined,
    parentNetnsid: undefined,
    masterIfindex: undefined,
    adminUp: true,
    operstate: 'up',
    carrier: true,
    carrierChanges: 1,
    mtu: 1500,
    mac: undefined,
    counters: undefined,
    ...over,
    ifindex: over.ifindex as IfIndex,
    name: over.name as IfName,
  };
}

/** Records what a test logger was asked to log. */
export function recordingLogger(): { log: import('../../agent/model/ports.js').Logger; lines: { level: string; obj: object; msg: string }[] } {
  const lines: { level: string; obj: object; msg: string }[] = [];
  const at = (level: string) => (obj: object, msg: string) => void lines.push({ level, obj, msg });
  return { log: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }, lines };
}
