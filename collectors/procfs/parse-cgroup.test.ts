import { describe, expect, it } from 'vitest';
import { podFromCgroupFile, podFromCgroupPath } from './parse-cgroup.js';

const ID = '3f6e2b8e5a2c4b9f8d7e6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d';
const UID = '7d1b8a0e-4c2f-4a55-9d1e-2b3c4d5e6f70';

describe('podFromCgroupPath', () => {
  it.each([
    ['cgroupfs v1 besteffort', `/kubepods/besteffort/pod${UID}/${ID}`, ID],
    ['cgroupfs guaranteed (no QoS level)', `/kubepods/pod${UID}/${ID}`, ID],
    ['systemd containerd', `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID.replace(/-/g, '_')}.slice/cri-containerd-${ID}.scope`, ID],
    ['systemd CRI-O', `/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${UID.replace(/-/g, '_')}.slice/crio-${ID}.scope`, ID],
    ['systemd docker', `/kubepods.slice/kubepods-pod${UID.replace(/-/g, '_')}.slice/docker-${ID}.scope`, ID],
    ['pod slice only', `/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${UID.replace(/-/g, '_')}.slice`, undefined],
    ['cgroup namespace root below the pod (v2, kind)', `/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort.slice/kubelet-kubepods-besteffort-pod${UID.replace(/-/g, '_')}.slice/cri-containerd-${ID}.scope`, ID],
  ])('%s', (_name, path, containerId) => {
    expect(podFromCgroupPath(path)).toEqual({ podUid: UID, containerId });
  });

  it.each([['/'], ['/user.slice/user-0.slice/session-1.scope'], ['/system.slice/containerd.service'], ['/kubepods/besteffort/podnot-a-uid/x']])('%s is no pod', (path) => {
    expect(podFromCgroupPath(path)).toBeUndefined();
  });
});

describe('podFromCgroupFile', () => {
  it('reads a cgroup v1 file and prefers a line that names the container', () => {
    const text = [`12:pids:/kubepods/besteffort/pod${UID}`, `4:memory:/kubepods/besteffort/pod${UID}/${ID}`, '1:name=systemd:/', ''].join('\n');
    expect(podFromCgroupFile(text)).toEqual({ podUid: UID, containerId: ID });
  });

  it('reads a cgroup v2 file', () => {
    expect(podFromCgroupFile(`0::/kubepods.slice/kubepods-pod${UID.replace(/-/g, '_')}.slice/cri-containerd-${ID}.scope\n`)).toEqual({ podUid: UID, containerId: ID });
  });

  it('says nothing for a host process', () => {
    expect(podFromCgroupFile('0::/init.scope\n')).toBeUndefined();
  });
});
