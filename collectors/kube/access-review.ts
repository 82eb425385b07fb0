/**
 * TokenReview and SubjectAccessReview on the kube API, for `--web.auth=kube`: the delegated
 * authentication and authorization of the kubelet and kube-rbac-proxy. The SubjectAccessReview
 * carries the reviewed user's name, uid, groups and extra, and `nonResourceAttributes` for the
 * request, exactly as the apiserver's webhook authorizer builds it. RBAC the agent needs:
 * `create` on `tokenreviews.authentication.k8s.io` and `subjectaccessreviews.authorization.k8s.io`.
 */
import type { AccessReviewer, NonResourceRequest, ReviewedUser } from '../../agent/model/ports.js';
import { KubeApiError } from './api-call.js';
import { KubeClient } from './kube-client.js';
import type { KubeClientConfig } from './kube-config.js';

/** The parts of a TokenReview answer read. */
interface TokenReviewAnswer {
  readonly status?: { authenticated?: boolean; user?: { username?: string; uid?: string; groups?: string[]; extra?: Record<string, string[]> } };
}

/** The parts of a SubjectAccessReview answer read. */
interface SubjectAccessReviewAnswer {
  readonly status?: { allowed?: boolean; reason?: string; evaluationError?: string };
}

/** An {@link AccessReviewer} on the kube API. */
export class KubeAccessReviewer implements AccessReviewer {
  readonly #client: KubeClient;

  constructor(opts: { kubeConfig: KubeClientConfig }) {
    this.#client = KubeClient.for(opts.kubeConfig);
  }

  /** `POST /apis/authentication.k8s.io/v1/tokenreviews`; throws KubeApiError when the API fails. */
  async authenticate(token: string, signal: AbortSignal): Promise<ReviewedUser | undefined> {
    let review: TokenReviewAnswer;
    try {
      const body = { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token } };
      review = await this.#client.request<TokenReviewAnswer>({ method: 'POST', path: '/apis/authentication.k8s.io/v1/tokenreviews', body, signal });
    } catch (err) {
      throw new KubeApiError('token review failed', err);
    }
    const status = review.status;
    // `authenticated` is omitted when false (omitempty); `error` then says why, e.g. "invalid bearer token".
    if (status?.authenticated !== true || !status.user?.username) return undefined;
    const u = status.user;
    return { username: u.username ?? '', uid: u.uid ?? '', groups: u.groups ?? [], extra: u.extra ?? {} };
  }

  /** `POST /apis/authorization.k8s.io/v1/subjectaccessreviews`; throws KubeApiError when the API fails. */
  async authorize(user: ReviewedUser, request: NonResourceRequest, signal: AbortSignal): Promise<{ allowed: boolean; reason: string }> {
    const spec = {
      user: user.username,
      ...(user.uid !== '' ? { uid: user.uid } : {}),
      groups: [...user.groups],
      ...(Object.keys(user.extra).length > 0 ? { extra: Object.fromEntries(Object.entries(user.extra).map(([k, v]) => [k, [...v]])) } : {}),
      nonResourceAttributes: { path: request.path, verb: request.verb },
    };
    let review: SubjectAccessReviewAnswer;
    try {
      const body = { apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview', spec };
      review = await this.#client.request<SubjectAccessReviewAnswer>({ method: 'POST', path: '/apis/authorization.k8s.io/v1/subjectaccessreviews', body, signal });
    } catch (err) {
      throw new KubeApiError('subject access review failed', err);
    }
    const status = review.status;
    return { allowed: status?.allowed === true, reason: status?.reason ?? status?.evaluationError ?? '' };
  }
}
