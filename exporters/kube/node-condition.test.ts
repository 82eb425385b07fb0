import { afterEach, describe, expect, it } from 'vitest';
import { type InterfaceReadiness } from '../../agent/model/readiness.js';
import { KubeApiServer } from '../../test/support/kube-api-server.js';
import { NODE_CONDITION_TYPE, NodeConditionWriter } from './node-condition.js';

const ready = (r: boolean): InterfaceReadiness[] => [
  { interface: 'eth1', networks: ['default/mgmt-network'], attachments: 1, ready: true, reason: '' },
  { interface: 'eth2', networks: ['default/data-network'], attachments: 4, ready: r, reason: r ? '' : 'admin down' },
];

describe('NodeConditionWriter against the kube API test server', () => {
  let server: KubeApiServer | undefined;
  afterEach(async () => server?.close());

  it('patches SecondaryNetworksReady on the node, only when it changes or its heartbeat is due', async () => {
    server = await KubeApiServer.start();
    server.create('nodes', { apiVersion: 'v1', kind: 'Node', metadata: { name: 'worker-1' }, status: { conditions: [{ type: 'Ready', status: 'True' }] } });
    const w = new NodeConditionWriter({ kubeConfig: server.kubeConfig(), nodeName: 'worker-1', heartbeatMs: 60_000 });
    const conditions = (): Record<string, string>[] => ((server?.get('nodes', '', 'worker-1')?.status as { conditions?: Record<string, string>[] }).conditions ?? []);

    expect(await w.write(ready(true))).toBe(true);
    expect(await w.write(ready(true))).toBe(false);
    const first = conditions().find((c) => c.type === NODE_CONDITION_TYPE);
    expect(first).toMatchObject({ status: 'True', reason: 'HostInterfacesReady' });
    expect(conditions().find((c) => c.type === 'Ready')?.status).toBe('True');

    await new Promise((r) => setTimeout(r, 5));
    expect(await w.write(ready(false))).toBe(true);
    const second = conditions().find((c) => c.type === NODE_CONDITION_TYPE);
    expect(second).toMatchObject({ status: 'False', reason: 'HostInterfaceNotReady', message: 'eth2 (admin down: default/data-network)' });
    expect(second?.lastTransitionTime).not.toBe(first?.lastTransitionTime);
    expect(server.requests({ method: 'PATCH' }).every((r) => r.path === '/api/v1/nodes/worker-1/status')).toBe(true);
  });
});
