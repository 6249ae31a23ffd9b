// Each bad input: one clear line naming the problem and the fix, a non-zero exit, nothing left behind.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { CLI, hostState, sandbox } from '../testing/harness';

const sb = sandbox();
after(() => sb.cleanup());

const corrupt = join(sb.dataDir, 'corrupt.tar.gz');
writeFileSync(corrupt, Buffer.concat([Buffer.from([0x1f, 0x8b, 0x08, 0]), Buffer.alloc(600, 7)]));

const cases: Array<[string, string[], RegExp]> = [
  ['an unknown namespace', ['run', '--ns', 'pid,bogus', '--', 'true'], /^locker: unknown namespace "bogus" in --ns; choose from pid,uts,mnt,user,ipc,net,cgroup$/],
  ['an empty namespace list', ['run', '--ns', ',', '--', 'true'], /^locker: --ns "," names no namespace; list some \(e\.g\. --ns pid,uts\) or say --ns none$/],
  ['a huge command name', ['run', '--', 'x'.repeat(100000)], /^locker: "x{80}…\(100000 chars\)" not found in the rootfs/],
  ['an unknown namespace to drop', ['run', '--no-ns', 'time', '--', 'true'], /^locker: unknown namespace "time" in --no-ns/],
  ['an invalid hostname', ['run', '--hostname', 'bad_name!', '--', 'true'], /^locker: invalid hostname "bad_name!": use letters, digits/],
  ['an over-long hostname', ['run', '--hostname', 'a'.repeat(65), '--', 'true'], /the kernel allows at most 64$/],
  ['a hostname without a uts namespace', ['run', '--no-ns', 'uts', '--hostname', 'x', '--', 'true'], /--hostname needs the uts namespace/],
  ['a missing rootfs', ['run', '--rootfs', '/no/such/rootfs', '--', 'true'], /^locker: rootfs "\/no\/such\/rootfs" does not exist \(nor is it an image name in locker images\); pass a directory or a \.tar/],
  ['a corrupt tarball', ['run', '--rootfs', corrupt, '--', 'true'], /is not a readable tar archive .*; re-create it/],
  ['a command not in the rootfs', ['run', '--', 'no-such-command'], /^locker: "no-such-command" not found in the rootfs \(PATH=.*\); give a full path/],
  ['a path that is not executable', ['run', '--', '/etc/passwd'], /"\/etc\/passwd" is not an executable file in the rootfs/],
  ['a relative workdir', ['run', '--workdir', 'tmp', '--', 'true'], /--workdir "tmp" must be an absolute path/],
  ['a malformed --env', ['run', '--env', 'NOVALUE', '--', 'true'], /invalid --env "NOVALUE": expected KEY=VALUE/],
  ['an unknown option', ['run', '--frobnicate', '--', 'true'], /^locker: unknown option --frobnicate for locker run/],
  ['a missing option value', ['run', '--hostname'], /option --hostname needs a value/],
  ['no command', ['run'], /no command given/],
  ['an unknown subcommand', ['frob'], /^locker: unknown command "frob"/],
  ['--tty with --no-tty', ['run', '--tty', '--no-tty', '--', 'true'], /contradict each other/],
];

describe('bad input is refused cleanly', () => {
  const before = hostState(sb.dataDir);
  for (const [what, args, message] of cases) {
    test(what, () => {
      const r = sb.run(args);
      assert.equal(r.status, 2, `${args.join(' ')}\n${r.stderr}`);
      assert.equal(r.stdout, '');
      assert.equal(r.stderr.split('\n').filter(Boolean).length, 1, r.stderr);
      assert.match(r.stderr.trim(), message);
    });
  }

  test('nothing was left behind', () => {
    const now = hostState(sb.dataDir);
    assert.deepEqual(now.mounts, before.mounts);
    assert.equal(now.hostname, before.hostname);
    assert.deepEqual(now.containers, []);
    const images = readdirSync(join(sb.dataDir, 'images'));
    assert.ok(!images.some((n) => n.startsWith('.partial') || n.startsWith('tar-')), images.join(' '));
  });

  test('user namespaces disabled by a sysctl', () => {
    // user.max_user_namespaces is per user namespace: set it to 0 inside a throwaway one.
    const r = spawnSync('unshare', ['--user', '--map-root-user', '--mount', 'sh', '-c',
      'echo 0 > /proc/sys/user/max_user_namespaces && exec "$0" run --ns user,pid,mnt -- true', CLI],
    { env: sb.env, encoding: 'utf8' });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /^locker: user namespaces are disabled \(user.max_user_namespaces = 0\); enable them with: sysctl -w user.max_user_namespaces=15000/);
  });
});
