// docker's CLI conventions and process options through the real CLI and kernel: --init (SIGTERM
// stops `sleep` as PID 1's child, orphans are reaped; without it a zombie stays), kill -s, start
// of a kept container, top, ps -q, combined short flags, --ulimit (/proc/1/limits), --privileged,
// --user names from the image's own /etc/passwd (a hostile /etc symlink resolves inside the root),
// cp in and out past hostile symlinks, an image run by name and image prune, each bad input one line.
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { CLI, containerState, removeSandbox, runDetached, sandbox, until } from '../testing/harness';
import { envFromArgs } from './run';

const sb = sandbox();
const work = mkdtempSync(join(tmpdir(), 'locker-conv-'));
after(() => {
  removeSandbox(sb);
  rmSync(work, { recursive: true, force: true });
});

const detached = (args: string[]): string => runDetached(sb, args);
const pidOf = (id: string): number => containerState(sb, id)!.pid;
const state = (id: string): { state: string; exitCode?: number } => containerState(sb, id)!;
function children(pid: number): Array<{ pid: number; state: string }> {
  const out: Array<{ pid: number; state: string }> = [];
  for (const task of readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean)) {
    const stat = readFileSync(`/proc/${task}/stat`, 'utf8');
    out.push({ pid: Number(task), state: stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) });
  }
  return out;
}

test('--init: PID 1 is /dev/init running the command; SIGTERM (locker kill -s TERM) stops sleep at once: exit 143', async () => {
  const r = sb.run(['run', '--init', '--', 'sh', '-c', 'tr "\\0" " " < /proc/1/cmdline; echo; echo x > /dev/init || echo read-only']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, '/dev/init -- sh -c tr "\\0" " " < /proc/1/cmdline; echo; echo x > /dev/init || echo read-only \nread-only\n');
  const id = detached(['--init', '--', 'sleep', '1000']);
  assert.equal(sb.run(['kill', '-s', 'TERM', id]).stdout, `${id}\n`);
  await until(() => state(id).state === 'exited', 30000);
  assert.equal(state(id).exitCode, 143);
  assert.equal(sb.run(['run', '--init', '--', 'sh', '-c', 'exit 7']).status, 7);
});

test('--init reaps an orphan; without it the orphan stays a zombie under PID 1', async () => {
  const script = 'sh -c "sleep 0.2 &"; exec sleep 1000';
  const withInit = detached(['--init', '--', 'sh', '-c', script]);
  const without = detached(['--', 'sh', '-c', script]);
  // Without --init: sleep is PID 1 and never waits, so the orphaned sleep 0.2 stays a zombie.
  await until(() => children(pidOf(without)).some((c) => c.state === 'Z'), 30000);
  // With it: init's only child left is the command, no zombie.
  const left = await until(() => {
    const c = children(pidOf(withInit));
    return c.length === 1 && c;
  }, 30000);
  assert.equal(left[0].state, 'S');
  for (const id of [withInit, without]) sb.run(['rm', '-f', id]);
});

test('kill -s with names, SIG names and numbers; start runs a kept container again under its id; top and ps -q', async () => {
  const id = detached(['--name', 'conv-k', '--', 'sh', '-c', 'trap "echo usr1" USR1; trap "echo term; exit 3" TERM; echo started; while :; do sleep 0.1; done']);
  await until(() => sb.run(['logs', id]).stdout.includes('started'), 30000);
  assert.ok(sb.run(['ps', '-q']).stdout.split('\n').includes(id));
  const top = sb.run(['top', 'conv-k']);
  assert.equal(top.status, 0, top.stderr);
  const lines = top.stdout.trim().split('\n');
  assert.match(lines[0], /^PID\s+PPID\s+CONTAINER PID\s+CONTAINER PPID\s+COMMAND$/);
  assert.match(lines[1], new RegExp(`^${pidOf(id)}\\s+\\d+\\s+1\\s+0\\s+sh -c trap`));
  assert.equal(sb.run(['kill', '-s', 'usr1', 'conv-k']).status, 0);
  await until(() => sb.run(['logs', id]).stdout.includes('usr1\n'), 30000);
  assert.equal(sb.run(['kill', '--signal=SIGTERM', 'conv-k']).status, 0);
  await until(() => state(id).state === 'exited', 30000);
  assert.equal(state(id).exitCode, 3);
  assert.equal(sb.run(['ps', '-q']).stdout.split('\n').includes(id), false);
  assert.ok(sb.run(['ps', '-a', '-q']).stdout.split('\n').includes(id));
  const start = sb.run(['start', 'conv-k']);
  assert.equal(start.status, 0, start.stderr);
  assert.equal(start.stdout, 'conv-k\n');
  await until(() => state(id)?.state === 'running' && sb.run(['logs', id]).stdout.includes('started'), 30000);
  assert.equal(sb.run(['kill', '-s', '9', id]).status, 0);
  await until(() => state(id).state === 'exited', 30000);
  for (const [args, line] of [
    [['kill', '-s', 'BOGUS', id], 'locker: --signal "BOGUS": not a signal; use a name such as TERM, SIGKILL, HUP, USR1 or a number from 1 to 64\n'],
    [['kill', '-s', '65', id], 'locker: --signal "65": not a signal; use a name such as TERM, SIGKILL, HUP, USR1 or a number from 1 to 64\n'],
    [['kill', id], `locker: container conv-k is not running; nothing to signal\n`],
    [['start', 'nosuch'], 'locker: no container "nosuch"; see locker ps for the ids\n'],
    [['top', id], 'locker: container conv-k has exited; only running containers can be inspected\n'],
  ] as Array<[string[], string]>) {
    const r = sb.run(args);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stderr, line);
  }
  sb.run(['rm', id]);
});

test('combined short flags: -ie K=V and -eK=V, -w/tmp; an unknown letter in a bundle is one line', () => {
  const r = sb.run(['run', '-ie', 'A=1', '-eB=2', '-w/tmp', '--', 'sh', '-c', 'echo $A $B; pwd; cat']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, '1 2\n/tmp\n');
  const bad = sb.run(['run', '-itx', '--', 'true']);
  assert.equal(bad.status, 2);
  assert.equal(bad.stderr, 'locker: unknown option -x in -itx for locker run; see locker run --help\n');
  const eq = sb.run(['equivalent', '-it', '--', 'sh']);
  assert.match(eq.stdout, /docker run --rm -it /);
});

test('--ulimit: the limits /proc/1/limits shows inside; bad ones are one line and leave nothing', () => {
  const before = sb.run(['ps', '-a', '-q']).stdout;
  const r = sb.run(['run', '--ulimit', 'nofile=1024:2048', '--ulimit', 'core=0', '--', 'sh', '-c', 'grep -E "^Max (open files|core file size)" /proc/1/limits | tr -s " "']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'Max core file size 0 0 bytes \nMax open files 1024 2048 files \n');
  for (const [arg, line] of [
    ['nofile=2048:1024', 'locker: --ulimit "nofile=2048:1024": the soft limit 2048 is above the hard limit 1024; make SOFT <= HARD\n'],
    ['bogus=1', 'locker: --ulimit "bogus=1": unknown limit "bogus"; use one of cpu, fsize, data, stack, core, rss, nproc, nofile, memlock, as, locks, sigpending, msgqueue, nice, rtprio, rttime\n'],
    ['nofile', 'locker: --ulimit "nofile": expected NAME=SOFT[:HARD], e.g. --ulimit nofile=1024:2048\n'],
    ['nofile=99999999999', 'locker: --ulimit nofile: the hard limit cannot be raised above the kernel\'s maximum (e.g. fs.nr_open for nofile)\n'],
  ]) {
    const bad = sb.run(['run', '--ulimit', arg, '--', 'true']);
    assert.equal(bad.status, 2, bad.stderr);
    assert.equal(bad.stderr, line);
  }
  assert.equal(sb.run(['ps', '-a', '-q']).stdout, before);
  const eq = JSON.parse(sb.run(['equivalent', '--json', '--ulimit', 'nofile=10:20', '--', 'sh']).stdout) as { docker: string; ociConfig: { process: { rlimits: unknown } } };
  assert.match(eq.docker, / --ulimit nofile=10:20 /);
  assert.deepEqual(eq.ociConfig.process.rlimits, [{ type: 'RLIMIT_NOFILE', soft: 10, hard: 20 }]);
});

test('--env-file: docker\'s format (comments, literal quotes, a bare VAR from the environment), -e on top; a bad line names the file and line', () => {
  const file = join(work, 'env');
  writeFileSync(file, '# comment\n\nA=1\nB="quoted"\n  C=spaced\nFROMHOST\nUNSET_X\n');
  process.env.FROMHOST = 'hi';
  delete process.env.UNSET_X;
  assert.deepEqual(envFromArgs([file], ['A=override']), ['A=1', 'B="quoted"', 'C=spaced', 'FROMHOST=hi', 'A=override']);
  // Through bin/locker: Node 20 would read --env-file itself if the launcher did not put -- first.
  writeFileSync(file, 'A=from file\nB=2\n');
  const cli = sb.run(['run', '--env-file', file, '-e', 'B=3', '--', 'sh', '-c', 'echo "$A" $B']);
  assert.equal(cli.status, 0, cli.stderr);
  assert.equal(cli.stdout, 'from file 3\n');
  const missing = sb.run(['run', '--env-file', join(work, 'none'), '--', 'true']);
  assert.equal(missing.status, 2);
  assert.equal(missing.stderr, `locker: --env-file "${join(work, 'none')}": no such file; give a file of VAR=VALUE lines\n`);
  writeFileSync(file, 'OK=1\nBAD KEY=1\n');
  assert.throws(() => envFromArgs([file], undefined), { message: `--env-file ${file} line 2: "BAD KEY" is not a variable name; write VAR=VALUE (no spaces around =, no quotes needed)` });
  assert.throws(() => envFromArgs([join(work, 'none')], undefined), { message: `--env-file "${join(work, 'none')}": no such file; give a file of VAR=VALUE lines` });
});

test('--privileged: the runtime\'s whole bounding set, no seccomp, /proc/sys not read-only, the host\'s devices; a warning line', () => {
  const bounding = /^CapBnd:\s+(\S+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))![1];
  const hostDevice = ['loop-control', 'fuse', 'kmsg', 'mem'].find((d) => existsSync(`/dev/${d}`));
  const r = sb.run(['run', '--privileged', '--', 'sh', '-c', `grep -E "^(CapEff|Seccomp):" /proc/self/status; grep -c " /proc/sys " /proc/mounts; test -e /dev/${hostDevice} && echo has-device`]);
  assert.equal(r.stdout, `CapEff:\t${bounding}\nSeccomp:\t0\n0\n${hostDevice ? 'has-device\n' : ''}`);
  assert.equal(r.stderr, 'locker: warning: --privileged gives this container every capability, no seccomp filter, unmasked /proc and writable /sys, and the host\'s devices: its root can take over the host. Use it only for code you trust.\n');
  const bad = sb.run(['run', '--privileged', '--cap-drop', 'ALL', '--', 'true']);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /locker: --privileged already gives every capability; leave out --cap-add\/--cap-drop \(or --privileged\)\n$/);
  const eq = sb.run(['equivalent', '--privileged', '--', 'sh']);
  assert.match(eq.stdout, / --privileged /);
});

/** A rootfs of a static busybox whose /etc is the symlink `etc`, with its own passwd and group at its top. */
function hostileRootfs(name: string, etc: string): string {
  const root = join(work, name);
  mkdirSync(join(root, 'bin'), { recursive: true });
  copyFileSync('/bin/busybox', join(root, 'bin', 'busybox'));
  for (const a of ['sh', 'id', 'cat']) symlinkSync('busybox', join(root, 'bin', a));
  symlinkSync(etc, join(root, 'etc'));
  writeFileSync(join(root, 'passwd'), 'inside:x:4321:4322::/home/inside:/bin/sh\n');
  writeFileSync(join(root, 'group'), 'team:x:555:inside\nother:x:556:\n');
  return root;
}

test('--user NAME[:GROUP] from the image\'s own files: primary and supplementary groups, HOME; a hostile /etc symlink resolves inside the root', () => {
  const named = sb.run(['run', '--user', 'nobody', '--', 'sh', '-c', 'id; echo $HOME']);
  assert.equal(named.stdout, 'uid=65534(nobody) gid=65534(nogroup)\n/nonexistent\n', named.stderr);
  assert.equal(sb.run(['run', '-u', 'nobody:root', '--', 'id', '-g']).stdout, '0\n');
  assert.equal(sb.run(['run', '-u', '65534', '--', 'id', '-g']).stdout, '65534\n');
  if (!existsSync('/bin/busybox')) return;
  // etc -> / : from the host that is the host's root; inside the image it is the image's own top.
  const r = sb.run(['run', '--rootfs', hostileRootfs('abs', '/'), '--user', 'inside', '--', 'id']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'uid=4321(inside) gid=4322 groups=555(team)\n');
  // etc -> ../../../../../../../../etc is the host's /etc from the host; inside the root it loops.
  for (const user of ['daemon', '1']) {
    const host = sb.run(['run', '--rootfs', hostileRootfs(`rel-${user}`, '../../../../../../../../etc'), '--user', user, '--', 'id']);
    assert.equal(host.status, 2, host.stdout);
    assert.equal(host.stderr, 'locker: the image\'s /etc/passwd leads into a symlink loop inside the image (is /etc a symlink out of it?); --user names need a real /etc/passwd, or give numeric ids\n');
  }
});

test('cp out and in: hostile symlinks (/etc2 -> /, up -> ../../../../tmp) resolve inside the container, never on the host', async () => {
  const id = detached(['--', 'sh', '-c', 'mkdir -p /data/sub; echo hello > /data/a.txt; echo deep > /data/sub/b; ln -s / /etc2; ln -s ../../../../tmp /data/up; echo ready; sleep 1000']);
  await until(() => sb.run(['logs', id]).stdout.includes('ready'), 30000);
  const out = join(work, 'out');
  mkdirSync(out);
  const dir = sb.run(['cp', `${id}:/data`, out]);
  assert.equal(dir.status, 0, dir.stderr);
  assert.equal(readFileSync(join(out, 'data', 'sub', 'b'), 'utf8'), 'deep\n');
  assert.equal(sb.run(['cp', `${id}:/data/a.txt`, join(out, 'renamed.txt')]).status, 0);
  assert.equal(readFileSync(join(out, 'renamed.txt'), 'utf8'), 'hello\n');
  // /etc2/etc/shadow is the host's /etc/shadow only if resolved on the host: the image has none.
  const shadow = sb.run(['cp', `${id}:/etc2/etc/shadow`, out]);
  assert.equal(shadow.status, 2);
  assert.equal(shadow.stderr, `locker: ${id}:/etc2/etc/shadow: no such file or directory in the container\n`);
  const marker = `locker-cp-${process.pid}.txt`;
  writeFileSync(join(work, marker), 'from host\n');
  const into = sb.run(['cp', join(work, marker), `${id}:/data/up/`]);
  assert.equal(into.status, 0, into.stderr);
  assert.equal(existsSync(join('/tmp', marker)), false);
  assert.equal(sb.run(['exec', id, '--', 'cat', `/tmp/${marker}`]).stdout, 'from host\n');
  assert.equal(sb.run(['cp', join(work, marker), `${id}:/etc2/etc/motd`]).status, 0);
  assert.equal(sb.run(['exec', id, '--', 'cat', '/etc/motd']).stdout, 'from host\n');
  for (const [args, line] of [
    [['cp', `${id}:/nope`, out], `locker: ${id}:/nope: no such file or directory in the container\n`],
    [['cp', join(work, 'nope'), `${id}:/tmp`], `locker: ${join(work, 'nope')}: no such file or directory on the host\n`],
    [['cp', 'a', 'b'], 'locker: locker cp needs one side in a container, written ID:/path; e.g. locker cp ID:/etc/hostname .\n'],
    [['cp', `${id}:/data`, join(out, 'renamed.txt')], `locker: cannot copy a directory onto the file ${join(out, 'renamed.txt')}; name a directory or a new path\n`],
  ] as Array<[string[], string]>) {
    const r = sb.run(args);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stderr, line);
  }
  sb.run(['rm', '-f', id]);
});

/** A one-layer OCI layout tar of the sandbox's default rootfs whose Cmd echoes $FOO. */
function ociLayoutTar(name: string): string {
  const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
  const dir = join(work, `${name}-layout`);
  mkdirSync(join(dir, 'blobs', 'sha256'), { recursive: true });
  const layerFile = join(work, `${name}-layer.tar`);
  assert.equal(spawnSync('tar', ['--numeric-owner', '-cf', layerFile, '-C', join(sb.dataDir, 'images', 'default-busybox', 'rootfs'), '.']).status, 0);
  const blob = (b: Buffer, mediaType: string): { mediaType: string; digest: string; size: number } => {
    writeFileSync(join(dir, 'blobs', 'sha256', sha(b)), b);
    return { mediaType, digest: `sha256:${sha(b)}`, size: b.length };
  };
  const layer = readFileSync(layerFile);
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: { Labels: { name }, Env: ['PATH=/bin', 'FOO=named'], Cmd: ['sh', '-c', 'echo $FOO'] }, rootfs: { type: 'layers', diff_ids: [`sha256:${sha(layer)}`] } }));
  const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, config: blob(config, 'application/vnd.oci.image.config.v1+json'), layers: [blob(layer, 'application/vnd.oci.image.layer.v1.tar')] }));
  writeFileSync(join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [blob(manifest, 'application/vnd.oci.image.manifest.v1+json')] }));
  writeFileSync(join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  const tar = join(work, `${name}.tar`);
  assert.equal(spawnSync('tar', ['-cf', tar, '-C', dir, '.']).status, 0);
  return tar;
}

test('an imported image runs by its name from any directory; image prune removes the images no container uses', () => {
  assert.equal(sb.run(['run', '--', 'true']).status, 0, 'the default rootfs is built');
  const used = ociLayoutTar('img-used');
  const unused = ociLayoutTar('img-unused');
  for (const tar of [used, unused]) assert.equal(sb.run(['run', '--rootfs', tar], { timeoutMs: 60000 }).stdout, 'named\n');
  const byName = spawnSync(CLI, ['run', '--rootfs', 'img-used.tar'], { cwd: '/', env: sb.env, encoding: 'utf8' });
  assert.equal(byName.status, 0, byName.stderr);
  assert.equal(byName.stdout, 'named\n');
  const id = detached(['--rootfs', 'img-used.tar', '--', 'sleep', '1000']);
  const ids = (JSON.parse(sb.run(['images', '--json']).stdout) as Array<{ id: string; name: string }>);
  const pruned = sb.run(['image', 'prune']);
  assert.equal(pruned.status, 0, pruned.stderr);
  assert.match(pruned.stdout, new RegExp(`^${ids.find((i) => i.name === 'img-unused.tar')!.id.slice(0, 12)}\\nTotal reclaimed space: \\d+\\.\\d MB\\n$`));
  assert.deepEqual((JSON.parse(sb.run(['images', '--json']).stdout) as Array<{ name: string }>).map((i) => i.name), ['img-used.tar']);
  sb.run(['rm', '-f', id]);
  const bad = sb.run(['image', 'bogus']);
  assert.equal(bad.stderr, 'locker: locker image "bogus" is not a command; use locker image ls, rm or prune\n');
});
