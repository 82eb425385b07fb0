/**
 * Assess once, render many: every judgment the agent makes of a snapshot, each rule run once.
 * /metrics, doctor, the problem Events and /readyz format this; none of them calls a rule.
 */
import { type Assessment } from '../model/assessment.js';
import { type NetnsNetworking } from '../model/problems.js';
import { type Snapshot } from '../model/snapshot.js';
import { vfClaims } from './attachments.js';
import { findProblems, routeChecks } from './health.js';
import { ipamUsage, liveSandboxes } from './ipam.js';
import { policyChecks } from './policy.js';
import { blindSpots, hostInterfaceReadiness } from './readiness.js';

const NO_NETWORKING: ReadonlyMap<number, NetnsNetworking> = new Map();

/**
 * The verdicts on `snapshot`. `networking` (addresses and routes by netns inode) is what the
 * route, address and leak checks read: the snapshot's own by default, or a fresher reading
 * (doctor reads the namespaces it is about to judge).
 */
export function assess(snapshot: Snapshot, networking: ReadonlyMap<number, NetnsNetworking> = snapshot.networking ?? NO_NETWORKING): Assessment {
  const routes = routeChecks(snapshot.podNetns, networking);
  const policy = policyChecks(snapshot.podNetns);
  const vfs = vfClaims(snapshot);
  const ipam = snapshot.ipam ? ipamUsage(snapshot.ipam, liveSandboxes({ ...snapshot, networking }), snapshot.takenAtMs) : [];
  return {
    hostInterfaces: hostInterfaceReadiness(snapshot.pods, snapshot.networks, snapshot.hostLinks, snapshot.sriov),
    problems: findProblems(snapshot, networking, { routes, policy, ipam, vfClaimConflicts: vfs.conflicts }),
    ipam,
    vfUsers: vfs.users,
    vfClaimConflicts: vfs.conflicts,
    policy,
    routes: [...routes.values()],
    blindSpots: blindSpots(snapshot.collectors),
  };
}
