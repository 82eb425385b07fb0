/**
 * Attachment policy: a NAD's `multinet.io/allowed-pods` label selector says which pods may
 * attach to its network. The agent audits (it does not stop the CNI ADD): every interface of a
 * pod on a network with a policy is checked against the pod's labels. A policy that does not
 * parse allows nobody. Pure.
 */
import { type PodNetnsView } from '../model/attachments.js';
import { PolicyCheck } from '../model/policy.js';
import { selectorMatches } from './label-selector.js';

/** Every attachment of a known pod to a network whose NAD declares a policy, with the verdict and why. */
export function policyChecks(views: readonly PodNetnsView[]): PolicyCheck[] {
  const out: PolicyCheck[] = [];
  for (const v of views) {
    if (!v.pod) continue;
    for (const i of v.interfaces) {
      const policy = i.definition?.policy;
      if (!policy || i.isDefault) continue;
      const base = { namespace: v.pod.namespace, pod: v.pod.name, interface: i.link.name as string, network: i.network, networkNamespace: i.networkNamespace, trafficClass: i.trafficClass };
      const nad = `${i.networkNamespace}/${i.network}`;
      if (!policy.selector) {
        out.push({ ...base, violation: true, message: `${i.link.name} is attached to network ${nad}, whose multinet.io/allowed-pods does not parse: no pod may attach` });
      } else if (!selectorMatches(policy.selector, v.pod.labels)) {
        const labels = Object.entries(v.pod.labels).map(([k, val]) => `${k}=${val}`).join(',') || 'none';
        out.push({ ...base, violation: true, message: `${i.link.name} is attached to network ${nad}, which allows only pods matching "${policy.text}" (pod labels: ${labels})` });
      } else {
        out.push({ ...base, violation: false, message: `pod matches "${policy.text}"` });
      }
    }
  }
  return out;
}
