// How an image config changes a launch (docker's rules): Entrypoint + Cmd, the user's command
// replacing Cmd only, Env under --env, WorkingDir under --workdir, User root, or kept to be resolved as --user is.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { applyImageConfig } from './image-config';

const launch = { command: [], env: ['PATH=/bin', 'HOME=/root'], workdir: '/root' };

test('Entrypoint + Cmd with no command; the user\'s command replaces Cmd and keeps Entrypoint', () => {
  const c = { Entrypoint: ['/bin/tini', '--'], Cmd: ['sleep', '9'] };
  assert.deepEqual(applyImageConfig(c, launch, { env: [] }, 'img').command, ['/bin/tini', '--', 'sleep', '9']);
  assert.deepEqual(applyImageConfig(c, { ...launch, command: ['true'] }, { env: [] }, 'img').command, ['/bin/tini', '--', 'true']);
});

test('Env sits under --env and over the defaults; WorkingDir unless --workdir', () => {
  const c = { Env: ['PATH=/usr/bin:/bin', 'FOO=image', 'BAR=image'], WorkingDir: '/srv', Cmd: ['sh'] };
  const r = applyImageConfig(c, { ...launch, env: [...launch.env, 'FOO=user'] }, { env: ['FOO=user'] }, 'img');
  assert.deepEqual(r.env, ['HOME=/root', 'PATH=/usr/bin:/bin', 'BAR=image', 'FOO=user']);
  assert.equal(r.workdir, '/srv');
  assert.equal(applyImageConfig(c, launch, { env: [], workdir: '/' }, 'img').workdir, '/');
});

test('no command and none in the image, and a non-root User, are one line each', () => {
  assert.throws(() => applyImageConfig({}, launch, { env: [] }, 'x.tar'), /^LockerError: no command given and x\.tar names none \(no Cmd or Entrypoint\); name one, e.g\. locker run --rootfs x\.tar -- \/bin\/sh$/);
  assert.throws(() => applyImageConfig({ User: 'ng inx', Cmd: ['sh'] }, launch, { env: [] }, 'x.tar'), /runs as User "ng inx", which is not UID\[:GID\] or NAME\[:GROUP\]; override it with --user/);
  assert.equal(applyImageConfig({ User: 'nginx', Cmd: ['sh'] }, launch, { env: [] }, 'x.tar').user, 'nginx');
  assert.equal(applyImageConfig({ User: '1000:1000', Cmd: ['sh'] }, launch, { env: [] }, 'x.tar').user, '1000:1000');
  assert.deepEqual(applyImageConfig({ User: '0:0', Cmd: ['sh'] }, launch, { env: [] }, 'x.tar').command, ['sh']);
});
