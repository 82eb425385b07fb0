/**
 * Pod UID and container ID from a process's `/proc/<pid>/cgroup`, for the layouts the kubelet
 * and the runtimes create:
 * - cgroupfs driver, v1 or v2: `/kubepods/besteffort/pod<uid>/<container-id>` (Guaranteed pods
 *   have no QoS level: `/kubepods/pod<uid>/<id>`);
 * - systemd driver: `/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod<uid with
 *   underscores>.slice/cri-containerd-<id>.scope` (CRI-O: `crio-<id>.scope`, Docker:
 *   `docker-<id>.scope`).
 */
import { type PodUid } from '../../agent/model/ids.js';

/** What a cgroup path says about the pod and container of a process. */
export interface CgroupPod {
  readonly podUid: PodUid;
  readonly containerId: string | undefined;
}

const POD = /pod([0-9a-f]{8}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{12})(?:\.slice)?$/;
const CONTAINER = /^(?:cri-containerd-|crio-|docker-|containerd-|cri-o-)?([0-9a-f]{64})(?:\.scope)?$/;

/** Pod and container of one cgroup path, or undefined when the path is not a pod's. */
export function podFromCgroupPath(cgroupPath: string): CgroupPod | undefined {
  const parts = cgroupPath.split('/');
  for (let i = 0; i < parts.length; i++) {
    const m = POD.exec(parts[i] as string);
    if (!m) continue;
    const next = parts[i + 1];
    const c = next === undefined ? null : CONTAINER.exec(next);
    return { podUid: (m[1] as string).replace(/_/g, '-') as PodUid, containerId: c ? c[1] : undefined };
  }
  return undefined;
}

/** The pod of a process from the text of `/proc/<pid>/cgroup` (any hierarchy that names one). */
export function podFromCgroupFile(text: string): CgroupPod | undefined {
  let found: CgroupPod | undefined;
  for (const line of text.split('\n')) {
    // hierarchy-ID:controller-list:cgroup-path; the path may itself contain ':'.
    const second = line.indexOf(':', line.indexOf(':') + 1);
    if (second < 0) continue;
    const pod = podFromCgroupPath(line.slice(second + 1));
    if (pod && (!found || (!found.containerId && pod.containerId))) found = pod;
  }
  return found;
}
