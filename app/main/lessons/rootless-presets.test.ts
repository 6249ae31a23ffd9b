// Every lesson step works for an ordinary user, or the launch form says "needs root: …" for it:
// each preset is launched for real by the test user with what the form would send, and a step
// that fails must be one the form flags before Run. Each step's container commands run too, and
// what the capabilities, seccomp, volumes and networking lessons promise inside holds for an ordinary user
// (a published port without pasta is one the form flags).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import type { Capabilities } from '../../shared/api';
import { presetNamespaces, presetNeedsRoot } from '../../shared/launch-form';
import { detect } from '../runtime/cgroups/detect';
import { TEST_USER, ensureTestUser, runAsUser, userDataDir } from '../testing/harness';
import { fillVolume } from '../../shared/lesson-command';
import { loadLessons } from './loader';

/** What a step's container commands print for an ordinary user (the demo demonstrates its point rootless too). */
const ROOTLESS_SHOWS: Record<string, RegExp[]> = {
  'caps-default': [/CapEff:\s*00000000a80425fb/, /hostname-exit=1/, /mount-exit=1/],
  'caps-add': [/CapEff:\s*00000000a82425fb/, /^with-sys-admin$/m, /\/mnt rw\S* - tmpfs demo/],
  'caps-drop': [/CapEff:\s*0000000000000000/, /chown-exit=1/, /read-exit=1/],
  'seccomp-on': [/Seccomp:\s*2/, /unshare-exit=1/],
  'seccomp-off': [/Seccomp:\s*0/, /unshare-exit=0/],
  'layers-stack': [/ \/ rw\S* - overlay overlay .*upperdir=/],
  'layers-fresh': [/hello\.txt: No such file or directory/],
  'volume-bind': [/ \/data rw/],
  'volume-ro': [/Read-only file system/, /write-exit=1/, / \/data ro/],
  // the host mounts nothing in this test: the volume is there, a slave of the folder's shared mount; ro stays ro
  'mounts-rslave': [/ \/data rw\S* master:\d+ /],
  'mounts-ro': [/can't create \/data\/note: Read-only file system/, /volume-write-exit=1/, /^\/data ro,/m],
  // without root: no veth, no 10.88.0.0/24 (loopback, or pasta's copy of the host's addresses)
  'net-interfaces': [/1: lo: <LOOPBACK/],
  'net-address': [/^(?![\s\S]*inet 10\.88\.)/],
  'net-none': [/^1: lo: /m, /ping-exit=1/, /1 packets transmitted, 1 packets received/],
  // the host's own interfaces: more than lo
  'net-host': [/^2: /m],
};

/** The capabilities the app would report when run by the test user (cgroups seen with its rights). */
function testUserCapabilities(): Capabilities {
  ensureTestUser();
  const uid = Number(spawnSync('id', ['-u', TEST_USER], { encoding: 'utf8' }).stdout.trim());
  const self = spawnSync('runuser', ['-u', TEST_USER, '--', 'cat', '/proc/self/cgroup'], { encoding: 'utf8' }).stdout;
  const layout = detect({ uid, selfCgroup: self, writable: (p) => spawnSync('runuser', ['-u', TEST_USER, '--', 'test', '-w', p]).status === 0 });
  const can = (c: 'memory' | 'cpu' | 'pids'): boolean => layout.canWrite && layout.backend[c] !== null;
  return {
    rootless: true, userNamespaces: { ok: true }, network: testUserNetwork(), cpus: availableParallelism(),
    cgroupLimits: { memory: can('memory'), cpus: can('cpu'), pids: can('pids'), reason: layout.reason },
  };
}

/** The test user's network as the app would report it: pasta when it is installed and /dev/net/tun opens for the user. */
function testUserNetwork(): Capabilities['network'] {
  const pasta = spawnSync('sh', ['-c', 'command -v pasta || test -x /usr/bin/pasta']).status === 0;
  const tun = spawnSync('runuser', ['-u', TEST_USER, '--', 'test', '-r', '/dev/net/tun', '-a', '-w', '/dev/net/tun']).status === 0;
  return pasta && tun ? { mode: 'bridge' } : { mode: 'loopback', note: pasta ? `/dev/net/tun is not readable and writable by ${TEST_USER}` : 'pasta is not installed' };
}

test('every lesson preset runs as an ordinary user, or the form says it needs root', { timeout: 120_000 }, (t) => {
  const { lessons, problems } = loadLessons();
  assert.deepEqual(problems, []);
  const caps = testUserCapabilities();
  const dataDir = userDataDir();
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  let ran = 0;
  for (const lesson of lessons) {
    for (const step of lesson.steps) {
      const p = step.preset;
      const share = `${dataDir}/share`;
      const volumes = (p.volumes ?? []).map((v) => fillVolume(v, share));
      // the app makes a missing share folder at Run; the CLI's -v wants it there
      for (const v of volumes) spawnSync('runuser', ['-u', TEST_USER, '--', 'mkdir', '-p', v.split(':')[0]]);
      // an rslave volume needs the folder a shared mount on the host: the mounts lesson's first step makes it so (with sudo)
      const shared = volumes.map((v) => v.split(':')).filter((v) => /(^|,)r?slave(,|$)/.test(v[2] ?? '')).map((v) => v[0]);
      for (const dir of shared) spawnSync('sh', ['-c', 'mount --bind "$1" "$1" && mount --make-shared "$1"', 'sh', dir]);
      const inside = step.commands.filter((c) => c.pane === 'container' && !/bomb\(\)|\bsleep 60\b/.test(c.run)).map((c) => c.run);
      const args = ['run', '--no-tty', '--ns', presetNamespaces(p, caps).join(','),
        ...(p.hostname ? ['--hostname', p.hostname] : []), ...(p.memory ? ['--memory', p.memory] : []),
        ...(p.cpus ? ['--cpus', p.cpus] : []), ...(p.pidsLimit ? ['--pids-limit', String(p.pidsLimit)] : []),
        ...(p.capAdd ?? []).flatMap((c) => ['--cap-add', c]), ...(p.capDrop ?? []).flatMap((c) => ['--cap-drop', c]),
        ...(p.seccomp === false ? ['--security-opt', 'seccomp=unconfined'] : []), ...volumes.flatMap((v) => ['-v', v]),
        ...(p.network ? ['--network', p.network] : []), ...(p.ports ?? []).flatMap((x) => ['-p', x]),
        '--', '/bin/sh', '-c', ['id -u', ...(ROOTLESS_SHOWS[step.id] ? [...inside, 'true'] : [])].join('\n')];
      const r = runAsUser(dataDir, args, { timeoutMs: 30_000 });
      for (const dir of shared) spawnSync('umount', [dir]);
      const needsRoot = presetNeedsRoot(p, caps);
      const where = `${lesson.file} step ${step.id}`;
      if (needsRoot) {
        assert.match(needsRoot, /^needs root: /, where);
        // the form's reason is true: the runtime refuses the same launch
        assert.notEqual(r.status, 0, `${where}: the form says "${needsRoot}" but the launch worked`);
      } else {
        assert.equal(r.status, 0, `${where} fails for an ordinary user and the form does not say why: ${r.stderr}`);
        assert.equal(r.stdout.split('\n')[0].trim(), '0', `${where}: root inside`);
        for (const want of ROOTLESS_SHOWS[step.id] ?? []) assert.match(r.stdout + r.stderr, want, `${where} rootless`);
        ran++;
      }
    }
  }
  assert.ok(ran > 0, 'at least one step ran rootless');
});
