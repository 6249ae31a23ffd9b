// The host check through the API with the real runtime: a running container shows up (and is kept
// by Clean up); once it is removed the host is back to its state at start.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { HostCheckReport, HostCleanup, HostLeak } from '../../shared/api';
import { createCgroup, type Cgroup } from '../runtime/cgroups';
import { randomContainerId } from '../runtime/ids';
import { Runtime } from '../runtime/runtime';
import { LockerService } from './service';
import { FakeRuntime } from './testing';

test('host check: baseline at start, a running container is listed and kept, nothing after removal', { skip: process.getuid?.() === 0 ? false : 'needs root' }, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'locker-hostcheck-'));
  const runtime = new Runtime({ dataDir });
  const service = new LockerService(runtime, { spawnHostShell: () => { throw new Error('no host shell here'); } });
  let inFlight: Cgroup | undefined;
  try {
    const clean = await service.dispatch('hostCheck', undefined);
    assert.deepEqual((clean as { result: HostCheckReport }).result.leaks, []);
    const h = await runtime.run({ command: ['/bin/sh', '-c', 'exec sleep 30'], namespaces: ['pid', 'mnt'], pidsLimit: 10 });
    const during = (await service.dispatch('hostCheck', undefined) as { result: HostCheckReport }).result.leaks;
    assert.ok(during.some((l) => l.kind === 'container' && l.name === h.info.id), JSON.stringify(during));
    // Another process's launch in progress: its cgroup exists, empty, before its child joins it.
    inFlight = createCgroup(randomContainerId(), {});
    const kept = (await service.dispatch('cleanupHost', undefined) as { result: HostCleanup }).result;
    assert.ok(kept.kept.some((l) => l.name.includes(h.info.id)), JSON.stringify(kept));
    const launching = kept.kept.find((l) => l.kind === 'cgroup' && l.name === inFlight!.id);
    assert.match(launching?.why ?? JSON.stringify(kept), /^made \d+ s ago by another process \(a launch in progress\?\); run Clean up again later$/);
    assert.ok(existsSync(inFlight.paths[0]), 'an empty cgroup of another data dir made just now is left alone');
    assert.equal(runtime.get(h.info.id)?.state, 'running', 'clean up never touches a running container');
    await runtime.remove(h.info.id, true);
    const after = (await service.dispatch('hostCheck', undefined) as { result: HostCheckReport }).result.leaks;
    // cgroups and veths are machine-wide: another test file's running container has them too (every
    // rootful container gets a cgroup, for its device allowlist). Ours must be gone; the rest is theirs.
    const machineWide = (l: HostLeak): boolean => (l.kind === 'cgroup' || l.kind === 'veth') && !l.name.includes(h.info.id.slice(0, 10));
    assert.deepEqual(after.filter((l) => !machineWide(l)), []);
  } finally {
    await inFlight?.remove();
    service.dispose();
    for (const c of runtime.list()) await runtime.remove(c.id, true).catch(() => {});
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('host check without a data dir (fake runtime) is an error envelope', async () => {
  const service = new LockerService(new FakeRuntime());
  assert.match((await service.dispatch('hostCheck', undefined) as { error: string }).error, /no host snapshot from app start/);
  assert.match((await service.dispatch('cleanupHost', undefined) as { error: string }).error, /no host snapshot/);
  service.dispose();
});
