// The copy layer of a rootful user namespace (`cp -a` of the image, device nodes and all) is made
// nodev like every other root, keeping the host mount's own flags: on a data dir mounted nosuid the
// remount must keep nosuid, which a user namespace may not clear (it failed with EPERM when dropped).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { CLI } from '../testing/harness';

const root = process.getuid!() === 0;
const mnt = mkdtempSync(join(tmpdir(), 'locker-nosuid-'));
let mounted = false;
after(() => {
  if (mounted) spawnSync('umount', ['-l', mnt]);
  rmSync(mnt, { recursive: true, force: true });
});

test('a rootful user namespace on a nosuid data dir: its root is nosuid and nodev, and it runs', { skip: root ? false : 'needs root (mount)' }, () => {
  assert.equal(spawnSync('mount', ['-t', 'tmpfs', '-o', 'nosuid', 'tmpfs', mnt]).status, 0);
  mounted = true;
  const data = join(mnt, 'data');
  mkdirSync(data);
  chmodSync(data, 0o755);
  const r = spawnSync(CLI, ['run', '--ns', 'pid,uts,mnt,user,ipc,net,cgroup', '--', 'sh', '-c', 'cat /proc/self/mountinfo'], {
    env: { ...process.env, LOCKER_DATA_DIR: data, LOCKER_NO_CLI_SERVER: '1' }, encoding: 'utf8', timeout: 60_000,
  });
  assert.equal(r.status, 0, r.stderr);
  const rootLine = r.stdout.split('\n').find((l) => l.split(' ')[4] === '/');
  assert.ok(rootLine, r.stdout);
  const options = rootLine.split(' ')[5].split(',');
  assert.ok(options.includes('nodev'), rootLine);
  assert.ok(options.includes('nosuid'), rootLine);
  assert.ok(rootLine.includes('/data/containers/'), `the copy layer in the data dir: ${rootLine}`);
});
