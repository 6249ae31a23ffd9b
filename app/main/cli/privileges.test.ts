// --cap-add / --cap-drop and --read-only through the real CLI and kernel: what the command may do
// (chown, sethostname, a write to /) and what /proc/self/status says it holds (CapEff), rootful
// and rootless; and the docker and runc spellings `locker equivalent` prints for them.
import assert from 'node:assert/strict';
import { chmodSync, chownSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { CAPS, DEFAULT_CAPS, capMask, capNumber, lastCap, type CapName } from '../runtime/security/capabilities';
import { hostState, runAsUser, sandbox, testUserUid, userDataDir } from '../testing/harness';

const sb = sandbox();
const userData = userDataDir();
after(() => {
  sb.cleanup();
  rmSync(userData, { recursive: true, force: true });
});

const capEff = (out: string): bigint => BigInt(`0x${/^CapEff:\s+([0-9a-f]+)$/m.exec(out)?.[1] ?? 'x'}`);
const without = (name: CapName): CapName[] => DEFAULT_CAPS.filter((c) => c !== name);
// Every capability the kernel knows and this process holds in its bounding set (what ALL can mean).
const BOUNDING = BigInt(`0x${/^CapBnd:\s+([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))![1]}`);
const KNOWN = CAPS.filter((c) => capNumber(c) <= lastCap() && (BOUNDING >> BigInt(capNumber(c))) & 1n);
// Rootless, only uid 0 is mapped: chown to another id is EINVAL whatever the capabilities, so it is shown as root.

const MODES = [
  { name: 'root', run: (a: string[]) => sb.run(a), dataDir: sb.dataDir },
  { name: 'rootless', run: (a: string[]) => runAsUser(userData, a), dataDir: userData },
];

for (const mode of MODES) {
  describe(`capabilities, ${mode.name}`, () => {
    test('the default: Docker\'s 14, chown works, sethostname is refused', () => {
      const r = mode.run(['run', '--', 'sh', '-c', 'grep CapEff /proc/self/status; touch /tmp/f && chown 1:1 /tmp/f && echo chown-ok; hostname renamed 2>/dev/null || echo hostname-refused']);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(capEff(r.stdout), capMask(DEFAULT_CAPS));
      if (mode.name === 'root') assert.match(r.stdout, /^chown-ok$/m);
      assert.match(r.stdout, /^hostname-refused$/m);
    });

    test('--cap-drop CHOWN: chown fails with EPERM and CapEff lacks the bit', () => {
      const r = mode.run(['run', '--cap-drop', 'CHOWN', '--', 'sh', '-c', 'grep CapEff /proc/self/status; touch /tmp/f; chown 1:1 /tmp/f; echo "rc=$?"']);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(capEff(r.stdout), capMask(without('CHOWN')));
      assert.match(r.stdout, /^rc=1$/m);
      if (mode.name === 'root') assert.match(r.stderr, /Operation not permitted/);
    });

    test('--cap-add SYS_ADMIN (any case, CAP_ optional): hostname works in the uts namespace', () => {
      const r = mode.run(['run', '--cap-add', 'cap_sys_admin', '--', 'sh', '-c', 'grep CapEff /proc/self/status; hostname renamed && hostname']);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(capEff(r.stdout), capMask([...DEFAULT_CAPS, 'SYS_ADMIN']));
      assert.match(r.stdout, /^renamed$/m);
    });

    test('--cap-drop ALL --cap-add CHOWN keeps CHOWN alone; --cap-add ALL keeps every capability the kernel knows', () => {
      const one = mode.run(['run', '--cap-drop', 'ALL', '--cap-add', 'CHOWN', '--', 'grep', 'CapEff', '/proc/self/status']);
      assert.equal(one.status, 0, one.stderr);
      assert.equal(capEff(one.stdout), capMask(['CHOWN']));
      const all = mode.run(['run', '--cap-add', 'ALL', '--', 'grep', 'CapEff', '/proc/self/status']);
      assert.equal(all.status, 0, all.stderr);
      assert.equal(capEff(all.stdout), capMask(KNOWN));
    });
  });

  describe(`--read-only, ${mode.name}`, () => {
    test('the root refuses writes (EROFS); /tmp, /dev/shm and a volume stay writable; nothing is left', () => {
      const vol = mkdtempSync(join(tmpdir(), 'locker-ro-vol-'));
      chmodSync(vol, 0o755);
      if (mode.name === 'rootless') chownSync(vol, testUserUid(), testUserUid());
      const before = hostState(mode.dataDir);
      try {
        const r = mode.run(['run', '--read-only', '-v', `${vol}:/out`, '--', 'sh', '-c',
          'touch /etc/x; echo "root=$?"; touch /tmp/x && echo tmp-ok; touch /dev/shm/x && echo shm-ok; echo hi > /out/x && echo vol-ok']);
        assert.equal(r.status, 0, r.stderr);
        assert.match(r.stdout, /^root=1$/m);
        assert.match(r.stderr, /Read-only file system/);
        assert.match(r.stdout, /^tmp-ok\nshm-ok\nvol-ok$/m);
        assert.equal(readFileSync(join(vol, 'x'), 'utf8'), 'hi\n');
        const now = hostState(mode.dataDir);
        assert.deepEqual(now.mounts, before.mounts);
        assert.deepEqual(now.containers, []);
      } finally {
        rmSync(vol, { recursive: true, force: true });
      }
    });
  });
}

test('an unknown capability is one line naming it', () => {
  for (const [flag, name] of [['--cap-add', 'FLY'], ['--cap-drop', 'CAP_NOPE']]) {
    const r = sb.run(['run', flag, name, '--', 'true']);
    assert.equal(r.status, 2, r.stderr);
    assert.equal(r.stderr, `locker: ${flag} "${name}": unknown capability; use docker's names such as CHOWN, NET_ADMIN, SYS_ADMIN (CAP_ prefix optional) or ALL\n`);
  }
});

test('locker equivalent: --cap-add/--cap-drop/--read-only for docker, the same set and root.readonly in config.json', () => {
  const r = sb.run(['equivalent', '--json', '--cap-add', 'SYS_ADMIN', '--cap-drop', 'chown', '--read-only', '--', 'sh']);
  assert.equal(r.status, 0, r.stderr);
  const e = JSON.parse(r.stdout) as { docker: string; ociConfig: { root: { readonly: boolean }; process: { capabilities: { bounding: string[]; effective: string[] } } } };
  assert.match(e.docker, / --cap-add SYS_ADMIN --cap-drop CHOWN --read-only /);
  assert.equal(e.ociConfig.root.readonly, true);
  const expected = KNOWN.filter((c) => c === 'SYS_ADMIN' || without('CHOWN').includes(c)).map((c) => `CAP_${c}`);
  assert.deepEqual(e.ociConfig.process.capabilities.bounding, expected);
  assert.deepEqual(e.ociConfig.process.capabilities.effective, expected);
});

test('locker exec keeps the container\'s capabilities: exec into a --cap-drop ALL container gets none back', () => {
  const started = sb.run(['run', '-d', '--cap-drop', 'ALL', '--cap-add', 'KILL', '--', 'sleep', '30']);
  assert.equal(started.status, 0, started.stderr);
  const id = started.stdout.trim();
  try {
    const r = sb.run(['exec', id, '--', 'grep', 'CapEff', '/proc/self/status']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(capEff(r.stdout), capMask(['KILL']));
  } finally {
    sb.run(['rm', '-f', id]);
  }
});
