// `locker run` as a user would use it, against the real kernel.
import assert from 'node:assert/strict';
import { readlinkSync } from 'node:fs';
import { after, describe, test } from 'node:test';
import { hostState, sandbox } from '../testing/harness';

const sb = sandbox();
after(() => sb.cleanup());

const runIn = (extra: string[], script: string) => sb.run(['run', ...extra, '--', '/bin/sh', '-c', script]);

describe('locker run on the default rootfs', () => {
  test('the shell is PID 1, root, on its own hostname and root', () => {
    const r = runIn(['--hostname', 'demo'], 'echo $$; id -u; hostname; ls /');
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.deepEqual(lines.slice(0, 3), ['1', '0', 'demo']);
    const root = lines.slice(3);
    assert.ok(root.includes('bin') && root.includes('proc') && root.includes('etc'), root.join(' '));
    assert.ok(!root.includes('work') && !root.includes('boot'), 'the host root must not show: ' + root.join(' '));
  });

  test('the default hostname is the container id', () => {
    const r = runIn(['--keep'], 'hostname');
    assert.equal(r.status, 0, r.stderr);
    const ps = JSON.parse(sb.run(['ps', '--json']).stdout) as Array<{ id: string; hostname: string }>;
    const c = ps.find((x) => x.id === r.stdout.trim());
    assert.ok(c, `hostname ${r.stdout.trim()} is the id of a container`);
    assert.equal(sb.run(['rm', c.id]).status, 0);
  });

  test('ps shows only the container processes', () => {
    const r = runIn([], 'ps -o pid,comm');
    assert.equal(r.status, 0, r.stderr);
    const pids = r.stdout.trim().split('\n').slice(1).map((l) => Number(l.trim().split(/\s+/)[0]));
    assert.deepEqual(pids, [1], r.stdout);
  });

  test('works without -- as in the original example', () => {
    const r = sb.run(['run', '/bin/sh', '-c', 'echo $$']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), '1');
  });

  test('--env, --workdir and --name', () => {
    const r = sb.run(['run', '--name', 'named', '-e', 'GREETING=hello', '--workdir', '/tmp', '--', 'sh', '-c', 'echo $GREETING; pwd']);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split('\n'), ['hello', '/tmp']);
  });

  test('exits with the command status, and 128+N for signal N', () => {
    assert.equal(runIn([], 'exit 7').status, 7);
    // PID 1 ignores signals it has no handler for, so the signal case runs without a PID namespace.
    assert.equal(runIn(['--no-ns', 'pid'], 'kill -KILL $$').status, 137);
    assert.equal(runIn([], 'sh -c "kill -TERM \\$\\$"; echo $?').stdout.trim(), '143');
  });

  test('a pipe carries stdin and stdout (no tty)', () => {
    const r = sb.run(['run', '--', 'tr', 'a-z', 'A-Z'], { input: 'hello\n' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'HELLO\n');
  });

  test('--trace prints the syscalls to stderr', () => {
    const r = sb.run(['run', '--trace', '--', 'true']);
    assert.equal(r.status, 0, r.stderr);
    for (const call of ['clone(CLONE_NEWNS|', 'mount(NULL, "/", NULL, MS_REC|MS_PRIVATE', 'pivot_root(".", ".")', 'sethostname(', 'mount("proc"']) {
      assert.ok(r.stderr.includes(call), `${call} in trace:\n${r.stderr}`);
    }
  });
});

describe('each namespace on and off', () => {
  const types = ['pid', 'uts', 'mnt', 'ipc', 'net', 'cgroup', 'user'] as const;
  for (const ns of types) {
    test(ns, () => {
      const host = readlinkSync(`/proc/self/ns/${ns}`);
      const on = sb.run(['run', '--ns', ns === 'mnt' ? 'mnt' : `${ns},mnt`, '--', 'readlink', `/proc/self/ns/${ns}`]);
      assert.equal(on.status, 0, on.stderr);
      assert.notEqual(on.stdout.trim(), host, `${ns} on: separate`);
      const off = sb.run(['run', '--no-ns', ns, '--', 'readlink', `/proc/self/ns/${ns}`]);
      assert.equal(off.status, 0, off.stderr);
      assert.equal(off.stdout.trim(), host, `${ns} off: the host's`);
    });
  }

  test('without a PID namespace the container sees host processes', () => {
    const r = sb.run(['run', '--no-ns', 'pid', '--', 'sh', '-c', 'ps -o pid | wc -l']);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(Number(r.stdout.trim()) > 5, r.stdout);
  });

  test('without a mount namespace the container sees the host root', () => {
    const r = sb.run(['run', '--no-ns', 'mnt', '--', '/bin/ls', '/']);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(r.stdout.split('\n').includes('work') || r.stdout.split('\n').includes('usr'), r.stdout);
  });

  test('as root, --ns user maps container root to an unprivileged range', () => {
    const r = sb.run(['run', '--ns', 'user,pid,mnt,uts', '--', 'sh', '-c', 'cat /proc/self/uid_map; id -u; touch /made && echo wrote']);
    assert.equal(r.status, 0, r.stderr);
    const [map, uid, wrote] = r.stdout.trim().split('\n');
    assert.deepEqual(map.trim().split(/\s+/), ['0', '100000', '65536']);
    assert.equal(uid, '0');
    assert.equal(wrote, 'wrote');
  });
});

describe('nothing leaks', () => {
  test('after normal, killed and failed runs the host is as before', () => {
    const before = hostState(sb.dataDir);
    // writes to the writable layer, and a mount attempt the default capability set refuses
    assert.equal(runIn([], 'echo x > /etc/new && mkdir /data && echo wrote; mount -t tmpfs none /mnt 2>/dev/null || echo refused').stdout.trim(), 'wrote\nrefused');
    runIn(['--no-ns', 'pid'], 'kill -KILL $$');
    // fails after the mounts are made: chdir to a missing workdir happens last
    const failed = sb.run(['run', '--workdir', '/no/such/dir', '--', 'true']);
    assert.equal(failed.status, 2);
    assert.match(failed.stderr, /--workdir \/no\/such\/dir does not exist/);
    const after = hostState(sb.dataDir);
    assert.deepEqual(after.mounts, before.mounts);
    assert.equal(after.hostname, before.hostname);
    assert.deepEqual(after.children, before.children);
    assert.deepEqual(after.containers, before.containers);
  });
});
