import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseSandboxInfo } from './parse-sandbox-info.js';
import { agentNetnsPath } from './sandbox-netns.js';

const fixture = (file: string): string => readFileSync(new URL(`./testdata/${file}`, import.meta.url), 'utf8');
const info = (doc: unknown): Record<string, string> => ({ info: typeof doc === 'string' ? doc : JSON.stringify(doc) });

describe('parseSandboxInfo', () => {
  it('reads containerd\'s SandboxInfo: the spec\'s network namespace path and the running pause pid', () => {
    expect(parseSandboxInfo(info(fixture('containerd-info.json')))).toEqual({ layout: 'containerd', netnsPath: '/var/run/netns/cni-5f8a2e3c-1b7d-9c04-e6a1-3d2f7b8c9e01', pid: 48095 });
  });

  it('reads CRI-O\'s info with an infra container: path and pid', () => {
    expect(parseSandboxInfo(info(fixture('crio-info.json')))).toEqual({ layout: 'cri-o', netnsPath: '/var/run/netns/3b5c9a6e-2d41-4f7a-9c8e-0a1b2c3d4e5f', pid: 51377 });
  });

  it('reads CRI-O\'s info with the infra container dropped: the path alone', () => {
    expect(parseSandboxInfo(info(fixture('crio-info-dropped-infra.json')))).toEqual({ layout: 'cri-o', netnsPath: '/var/run/netns/9e8d7c6b-5a49-4382-b1a0-f9e8d7c6b5a4', pid: undefined });
  });

  it('containerd: falls back to sandboxMetadata.NetNSPath, then the 2017 netNamespace key; a closed namespace or a task not running names nothing', () => {
    const doc = JSON.parse(fixture('containerd-info.json')) as Record<string, unknown>;
    const noSpec = { ...doc, runtimeSpec: null };
    expect(parseSandboxInfo(info(noSpec)).netnsPath).toBe('/var/run/netns/cni-5f8a2e3c-1b7d-9c04-e6a1-3d2f7b8c9e01');
    expect(parseSandboxInfo(info({ pid: 0, processStatus: 'deleted', netNamespace: '/var/run/netns/cni-ae2bd03e', netNamespaceClosed: false }))).toEqual({ layout: 'containerd', netnsPath: '/var/run/netns/cni-ae2bd03e', pid: undefined });
    expect(parseSandboxInfo(info({ ...doc, netNamespaceClosed: true }))).toEqual({ layout: 'containerd', netnsPath: undefined, pid: 48095 });
    expect(parseSandboxInfo(info({ ...doc, processStatus: 'stopped' })).pid).toBeUndefined();
  });

  it('a network entry without a path (a new namespace, or hostNetwork without one) names none', () => {
    const doc = JSON.parse(fixture('crio-info-dropped-infra.json')) as { runtimeSpec: { linux: { namespaces: { type: string; path?: string }[] } } };
    doc.runtimeSpec.linux.namespaces = doc.runtimeSpec.linux.namespaces.map((n) => ({ type: n.type }));
    expect(parseSandboxInfo(info(doc))).toEqual({ layout: 'cri-o', netnsPath: undefined, pid: undefined });
  });

  it('says why when the info is missing, not JSON or of an unknown runtime', () => {
    expect(parseSandboxInfo(undefined)).toEqual({ layout: 'unknown', netnsPath: undefined, pid: undefined, problem: 'no "info" key in the verbose status' });
    expect(parseSandboxInfo({})).toMatchObject({ layout: 'unknown', problem: 'no "info" key in the verbose status' });
    expect(parseSandboxInfo(info('{not json'))).toMatchObject({ layout: 'unknown', netnsPath: undefined, problem: expect.stringMatching(/^"info" is not JSON: /) as unknown });
    expect(parseSandboxInfo(info('[1]'))).toMatchObject({ layout: 'unknown', problem: '"info" is not a JSON object' });
    expect(parseSandboxInfo(info({ pid: 7, vm: 'kata' }))).toEqual({ layout: 'unknown', netnsPath: undefined, pid: 7, problem: 'neither containerd\'s nor CRI-O\'s layout' });
  });
});

describe('agentNetnsPath', () => {
  const host = { netnsDir: '/host/run/netns', procRoot: '/host/proc' };
  it.each([
    ['/var/run/netns/cni-5f8a2e3c', '/host/run/netns/cni-5f8a2e3c'],
    ['/run/netns/cni-5f8a2e3c', '/host/run/netns/cni-5f8a2e3c'],
    ['/var/run/netns/../netns/x', '/host/run/netns/x'],
    ['/proc/4242/ns/net', '/host/proc/4242/ns/net'],
    ['/var/run/kata-containers/netns/abc', '/run/kata-containers/netns/abc'],
  ])('%s -> %s', (runtimePath, want) => {
    expect(agentNetnsPath(runtimePath, host)).toBe(want);
  });

  it('keeps the runtime\'s path when --path.netns is the default /run/netns', () => {
    expect(agentNetnsPath('/var/run/netns/cni-1', { netnsDir: '/run/netns', procRoot: '/proc' })).toBe('/run/netns/cni-1');
  });
});
