/** doctor's pod table and titles for namespaces the container runtime named (CRI). */
import { describe, expect, it } from 'vitest';
import type { PodNetnsView } from '../../agent/model/attachments.js';
import { EMPTY_SNAPSHOT, type Snapshot } from '../../agent/model/snapshot.js';
import { assess } from '../../agent/rules/assess.js';
import { netnsRef, pod } from '../../test/support/pods.js';
import { renderDoctor } from './doctor.js';

const SANDBOX = { id: '4f1e2d3c4b5a69788796a5b4c3d2e1f0', namespace: 'telco', name: 'upf-0', uid: 'u-1', netnsPath: '/var/run/netns/cni-1234', pid: 42, netnsInode: 4026532100 };

function render(views: PodNetnsView[]): string {
  const snapshot: Snapshot = { ...EMPTY_SNAPSHOT, podNetns: views };
  return renderDoctor(snapshot, assess(snapshot, new Map()), new Map(), new Map());
}

describe('doctor with the container runtime', () => {
  it("shows the runtime's netns path, not 'pid N', when the namespace has no bind mount the agent found", () => {
    const p = pod({ name: 'upf-0', namespace: 'telco', uid: 'u-1' });
    const text = render([{ netns: netnsRef(4026532100, { bindPath: undefined, path: '/proc/42/ns/net', pids: [42] }), nsid: 1, pod: p, joinedBy: 'cri', sandboxId: SANDBOX.id, sandbox: SANDBOX, interfaces: [], attachments: [] }]);
    expect(text).toMatch(/^telco\/upf-0\s+cri\s+4f1e2d3c4b5a6\s+\/var\/run\/netns\/cni-1234\s+1$/m);
    expect(text).toContain('pod telco/upf-0  (mapped by cri; netns /var/run/netns/cni-1234)');
    expect(text).not.toContain('pid 42');
  });

  it('names the pod and sandbox the runtime gave when no known pod matches (no --manifests, no kube API)', () => {
    const text = render([{ netns: netnsRef(4026532100, { bindPath: '/run/netns/cni-1234', pids: [42] }), nsid: 1, pod: undefined, joinedBy: 'none', sandboxId: SANDBOX.id, sandbox: SANDBOX, interfaces: [], attachments: [] }]);
    expect(text).toMatch(/^telco\/upf-0 \(runtime\)\s+none\s+4f1e2d3c4b5a6\s+\/run\/netns\/cni-1234\s+1$/m);
    expect(text).toContain('(runtime sandbox 4f1e2d3c4b5a6 of telco/upf-0, a pod the kube API or --manifests does not know; netns /run/netns/cni-1234)');
  });

  it('leaves a namespace nobody named out of the pod table', () => {
    const text = render([{ netns: netnsRef(4026532101, { bindPath: undefined, path: '/proc/7/ns/net', pids: [7] }), nsid: 2, pod: undefined, joinedBy: 'none', interfaces: [], attachments: [] }]);
    expect(text).not.toMatch(/^POD\s+MAPPED BY/m);
  });
});
