/**
 * Where the agent finds the kube API: a kubeconfig file (`--kubeconfig`) or, in a pod, the
 * service account (`KUBERNETES_SERVICE_HOST`/`_PORT`, the token and CA under
 * /var/run/secrets/kubernetes.io/serviceaccount; the token file is re-read, so a projected
 * token's rotation is followed).
 */
import { KubeConfig } from '@kubernetes/client-node';
import { AgentError } from '../../agent/model/errors.js';

/** A KubeConfig from `path`, else from the pod's service account; a usage error when neither can be had. */
export function loadKubeConfig(path: string | undefined): KubeConfig {
  const kc = new KubeConfig();
  if (path !== undefined && path !== '') {
    try {
      kc.loadFromFile(path);
    } catch (err) {
      throw new AgentError('E_USAGE', `--kubeconfig=${path}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
    if (kc.getCurrentCluster() === null) throw new AgentError('E_USAGE', `--kubeconfig=${path}: no current context with a cluster`);
    return kc;
  }
  if (!process.env['KUBERNETES_SERVICE_HOST'] || !process.env['KUBERNETES_SERVICE_PORT']) {
    throw new AgentError('E_USAGE', 'not in a pod (KUBERNETES_SERVICE_HOST unset): give --kubeconfig=FILE');
  }
  kc.loadFromCluster();
  return kc;
}
