// The app's service with the real discovery on this machine: a runc container appears in the list
// with its engine, is inspected and browsed, gets an exec terminal from "+", and is never stopped
// or removed from the app.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { TerminalData } from '../../shared/api';
import { imagesDir } from '../runtime/data-dir';
import { defaultRootfs } from '../runtime/rootfs/default-rootfs';
import { sandbox, until } from '../testing/harness';
import { runcBundle, runcDetached } from '../testing/runc-bundle';
import { hostForeignSource } from './foreign-source';
import { LockerService } from './service';
import { FakeRuntime } from './testing';

const sb = sandbox();
const work = mkdtempSync(join(tmpdir(), 'locker-foreign-'));
const id = `app-runc-${process.pid}`;
let pid = 0;
let service: LockerService;

before(() => {
  chmodSync(work, 0o755);
  pid = runcDetached(runcBundle(work, defaultRootfs(imagesDir(sb.dataDir)), 'runc-in-app', ['sleep', '120']), id);
  service = new LockerService(new FakeRuntime(), { foreign: hostForeignSource(), execShell: ['/bin/sh'] });
});
after(() => {
  service.dispose();
  spawnSync('runc', ['delete', '--force', id]);
  rmSync(work, { recursive: true, force: true });
  sb.cleanup();
});

test('a runc container is listed with its engine, inspected and browsed like Locker\'s own', async () => {
  const list = await service.listContainers();
  const c = list.find((x) => x.id === id);
  assert.ok(c, `runc container in ${JSON.stringify(list.map((x) => x.id))}`);
  assert.equal(c.engine, 'runc');
  assert.equal(c.pid, pid);
  assert.equal(c.state, 'running');
  const ins = await service.inspect({ id });
  assert.equal(ins.hostname.container, 'runc-in-app');
  assert.equal(ins.containerProcesses.find((p) => p.pid === pid)?.containerPid, 1);
  const root = await service.listDir({ id, side: 'container', path: '/' });
  assert.ok(root.entries.some((e) => e.name === 'bin'), JSON.stringify(root.entries.map((e) => e.name)));
});

test('"+" opens a shell inside it; stop and remove are refused with the engine named', async () => {
  const data: TerminalData[] = [];
  service.on('terminalData', (d) => data.push(d));
  const t = await service.exec({ id, cols: 80, rows: 24 });
  await service.writeTerminal({ terminalId: t.terminalId, data: 'hostname; echo done-$((6*7))\r' });
  await until(() => data.filter((d) => d.terminalId === t.terminalId).map((d) => d.data).join('').includes('done-42'), 10000);
  assert.match(data.map((d) => d.data).join(''), /runc-in-app/);
  await service.closeTerminal({ terminalId: t.terminalId });
  for (const m of ['stop', 'remove'] as const) {
    const r = await service.dispatch(m, { id });
    assert.ok('error' in r && /belongs to runc; Locker does not/.test(r.error), JSON.stringify(r));
  }
  assert.equal(JSON.parse(spawnSync('runc', ['state', id], { encoding: 'utf8' }).stdout).status, 'running', 'still running');
});
