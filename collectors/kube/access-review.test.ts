import { afterEach, describe, expect, it } from 'vitest';
import { KubeApiServer } from '../../test/support/kube-api-server.js';
import { KubeApiError } from './api-call.js';
import { KubeAccessReviewer } from './access-review.js';

const PROMETHEUS_SA = 'system:serviceaccount:monitoring:prometheus-k8s';
const signal = (): AbortSignal => AbortSignal.timeout(5000);

describe('KubeAccessReviewer against the kube API test server', () => {
  let server: KubeApiServer | undefined;
  afterEach(async () => server?.close());

  it('authenticates a token by TokenReview and builds the SubjectAccessReview from its user, as the apiserver webhook does', async () => {
    server = await KubeApiServer.start();
    server.addToken('prom-token', {
      username: PROMETHEUS_SA,
      uid: '6b1e3a52-0d3c-4a39-9f55-0c8a4e1f7d10',
      groups: ['system:serviceaccounts', 'system:serviceaccounts:monitoring', 'system:authenticated'],
      extra: { 'authentication.kubernetes.io/pod-name': ['prometheus-k8s-0'] },
    });
    server.grantNonResource({ groups: ['system:serviceaccounts:monitoring'], nonResourceURLs: ['/metrics'], verbs: ['get'] });
    const reviewer = new KubeAccessReviewer({ kubeConfig: server.kubeConfig() });

    const user = await reviewer.authenticate('prom-token', signal());
    expect(user).toEqual({
      username: PROMETHEUS_SA,
      uid: '6b1e3a52-0d3c-4a39-9f55-0c8a4e1f7d10',
      groups: ['system:serviceaccounts', 'system:serviceaccounts:monitoring', 'system:authenticated'],
      extra: { 'authentication.kubernetes.io/pod-name': ['prometheus-k8s-0'] },
    });
    if (!user) throw new Error('not authenticated');
    expect(await reviewer.authorize(user, { path: '/metrics', verb: 'get' }, signal())).toEqual({ allowed: true, reason: 'RBAC: allowed by ClusterRoleBinding "test" of ClusterRole "test" to Group' });
    expect(await reviewer.authorize(user, { path: '/metrics/extra', verb: 'get' }, signal())).toEqual({ allowed: false, reason: '' });

    expect(server.accessReviews('TokenReview').map((r) => r.spec)).toEqual([{ token: 'prom-token' }]);
    expect(server.accessReviews('SubjectAccessReview')[0]?.spec).toEqual({
      user: PROMETHEUS_SA,
      uid: '6b1e3a52-0d3c-4a39-9f55-0c8a4e1f7d10',
      groups: ['system:serviceaccounts', 'system:serviceaccounts:monitoring', 'system:authenticated'],
      extra: { 'authentication.kubernetes.io/pod-name': ['prometheus-k8s-0'] },
      nonResourceAttributes: { path: '/metrics', verb: 'get' },
    });
    expect(server.requests({ method: 'POST' }).map((r) => r.path)).toEqual([
      '/apis/authentication.k8s.io/v1/tokenreviews',
      '/apis/authorization.k8s.io/v1/subjectaccessreviews',
      '/apis/authorization.k8s.io/v1/subjectaccessreviews',
    ]);
  });

  it('answers undefined for a token the cluster does not know', async () => {
    server = await KubeApiServer.start();
    const reviewer = new KubeAccessReviewer({ kubeConfig: server.kubeConfig() });
    expect(await reviewer.authenticate('forged', signal())).toBeUndefined();
    expect(server.accessReviews('TokenReview')[0]?.result).toEqual({ user: {}, error: 'invalid bearer token' });
  });

  it('throws KubeApiError when the agent may not create reviews, or the API is unreachable', async () => {
    server = await KubeApiServer.start();
    server.addToken('prom-token', { username: PROMETHEUS_SA, groups: ['system:authenticated'] });
    const reviewer = new KubeAccessReviewer({ kubeConfig: server.kubeConfig() });
    server.setAccessReviewsPermitted(false, 'SubjectAccessReview');
    const user = await reviewer.authenticate('prom-token', signal());
    if (!user) throw new Error('not authenticated');
    const denied = await reviewer.authorize(user, { path: '/metrics', verb: 'get' }, signal()).catch((err: unknown) => err);
    expect(denied).toBeInstanceOf(KubeApiError);
    expect(denied).toMatchObject({ status: 403, reason: 'Forbidden' });

    // The agent's own credentials are refused: the review fails, it does not say "unknown token".
    const wrongCredentials = new KubeAccessReviewer({ kubeConfig: server.kubeConfig('stale') });
    expect(await wrongCredentials.authenticate('prom-token', signal()).catch((err: unknown) => err)).toMatchObject({ status: 401 });

    const down = server.outage(1000);
    const refused = await reviewer.authenticate('prom-token', signal()).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(KubeApiError);
    expect(refused).toMatchObject({ status: undefined, reason: 'ECONNREFUSED' });
    await down;
    expect((await reviewer.authenticate('prom-token', signal()))?.username).toBe(PROMETHEUS_SA);
  });
});
