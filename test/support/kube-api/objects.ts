/** Pod and NetworkAttachmentDefinition objects as the API serves them, for the kube test server. */

/** A Pod on `node`, with the Multus annotations given (`networks` request, `network-status`). */
export function podObject(p: {
  name: string;
  namespace?: string;
  node: string;
  uid?: string;
  networks?: string;
  networkStatus?: string | readonly object[];
  labels?: Record<string, unknown>;
}): object {
  const annotations: Record<string, string> = {};
  if (p.networks !== undefined) annotations['k8s.v1.cni.cncf.io/networks'] = p.networks;
  if (p.networkStatus !== undefined) annotations['k8s.v1.cni.cncf.io/network-status'] = typeof p.networkStatus === 'string' ? p.networkStatus : JSON.stringify(p.networkStatus);
  return {
    metadata: {
      name: p.name,
      namespace: p.namespace ?? 'default',
      ...(p.uid !== undefined ? { uid: p.uid } : {}),
      labels: p.labels ?? { app: p.name },
      annotations,
    },
    spec: { nodeName: p.node, containers: [{ name: 'main', image: 'registry.k8s.io/pause:3.9' }] },
    status: { phase: 'Running' },
  };
}

/** A macvlan NAD on `master` with a host-local subnet, or with the `config` text given. */
export function nadObject(p: { name: string; namespace?: string; master?: string; subnet?: string; config?: string; trafficClass?: string }): object {
  const config =
    p.config ??
    JSON.stringify({
      cniVersion: '0.3.1',
      type: 'macvlan',
      master: p.master ?? 'eth1',
      mode: 'bridge',
      ipam: { type: 'host-local', subnet: p.subnet ?? '10.10.0.0/24' },
    });
  return {
    apiVersion: 'k8s.cni.cncf.io/v1',
    kind: 'NetworkAttachmentDefinition',
    metadata: { name: p.name, namespace: p.namespace ?? 'default', ...(p.trafficClass ? { labels: { 'multinet.io/traffic-class': p.trafficClass } } : {}) },
    spec: { config },
  };
}

/** Waits until `check` returns true (polling every 10 ms); throws after `timeoutMs`, naming `what`. */
export async function until(what: string, check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
