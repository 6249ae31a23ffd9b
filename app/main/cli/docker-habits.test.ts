// docker habits of issue 10 through the real CLI and kernel: run -d --rm (the container goes when it
// ends: dir, cgroup, veth, nft table, port lock; removed by the stop that ended it, or by its monitor
// when it ends on its own), cp of an exited kept container
// (its layer mounted again, hostile symlinks resolved inside it, writes kept for the next start),
// `-` as a tar stream on stdout and stdin, start -a (every byte of its output, its exit status; with
// -t its terminal, typed into through script(1)), exec --ulimit; each bad input one line.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { hostLayout, listCgroups } from '../runtime/cgroups';
import { hostVethName } from '../runtime/network';
import { lockerNatTables, natTableName } from '../runtime/network/nat';
import { PORTS_DIR } from '../runtime/network/ports';
import { CLI, containerState, removeSandbox, runAsUser, runDetached, sandbox, until, userDataDir } from '../testing/harness';

const root = process.getuid?.() === 0;
const hasNft = spawnSync('nft', ['--version']).status === 0;
const cgroupsWork = hostLayout().canWrite;
const sb = sandbox();
const work = mkdtempSync(join(tmpdir(), 'locker-habits-'));
after(() => {
  removeSandbox(sb);
  rmSync(work, { recursive: true, force: true });
});

const detached = (args: string[]): string => runDetached(sb, args);
const containerDir = (id: string): string => join(sb.dataDir, 'containers', id);
const state = (id: string): { state: string; exitCode?: number } | undefined => containerState(sb, id);
/** A shell pipeline with the CLI in it (stdin and stdout are pipes, never this test's terminal). */
const sh = (script: string): ReturnType<typeof spawnSync> =>
  spawnSync('sh', ['-c', script], { env: { ...sb.env, LOCKER: CLI }, encoding: 'utf8', input: '', timeout: 30000 });

test('run -d --rm: removed when it ends, by stop or by its monitor (dir, cgroup, veth, nft table, port lock); without --rm it is kept', { skip: root && hasNft ? false : 'needs root and nft' }, async () => {
  const port = 21000 + Math.floor(Math.random() * 9000);
  const limits = cgroupsWork ? ['--pids-limit', '30'] : [];
  const id = detached(['--rm', ...limits, '-p', `127.0.0.1:${port}:80`, '--', 'sh', '-c', 'echo up; exec sleep 1000']);
  await until(() => readFileSafe(join(containerDir(id), 'container.log')) === 'up\n', 30000);
  const veth = hostVethName(id);
  assert.ok(existsSync(join(containerDir(id), 'state.json')));
  assert.ok(lockerNatTables().includes(natTableName(veth)));
  assert.equal(spawnSync('ip', ['link', 'show', veth]).status, 0);
  assert.ok(existsSync(join(PORTS_DIR, `tcp-${port}`)));
  if (cgroupsWork) assert.ok(listCgroups().includes(id));
  assert.equal(sb.run(['stop', id]).stdout, `${id}\n`);
  // The stop that ended it has removed it (in its own process, not by its monitor's exit command).
  assert.equal(existsSync(containerDir(id)), false);
  assert.equal(sb.run(['ps', '-a', '-q']).stdout.split('\n').includes(id), false);
  assert.equal(lockerNatTables().includes(natTableName(veth)), false);
  assert.notEqual(spawnSync('ip', ['link', 'show', veth]).status, 0);
  assert.equal(existsSync(join(PORTS_DIR, `tcp-${port}`)), false);
  if (cgroupsWork) assert.equal(listCgroups().includes(id), false);

  // Its own end (no stop), no network: removed all the same; a plain run -d is kept with its status.
  const quick = detached(['--rm', '--network', 'none', '--', 'sh', '-c', 'exit 3']);
  const kept = detached(['--network', 'none', '--', 'sh', '-c', 'exit 4']);
  await until(() => !existsSync(containerDir(quick)), 30000);
  await until(() => state(kept)?.state === 'exited', 30000);
  assert.equal(state(kept)!.exitCode, 4);
  assert.ok(existsSync(join(containerDir(kept), 'upper')), 'a kept container keeps its files');
  assert.equal(sb.run(['rm', kept]).status, 0);
  assert.equal(existsSync(containerDir(kept)), false);

  const bad = sb.run(['run', '-d', '--rm', '--keep', '--', 'true']);
  assert.equal(bad.status, 2);
  assert.equal(bad.stderr, 'locker: --rm and --keep contradict each other; pick one (removal is the default)\n');
  assert.match(sb.run(['equivalent', '-d', '--rm', '--', 'sh']).stdout, /docker run -d --rm /);
});

test('rootless: run -d --rm leaves nothing in the user\'s data dir; cp of an exited kept container', { skip: root ? false : 'runs the test user from root' }, async () => {
  const data = userDataDir();
  try {
    const r = runAsUser(data, ['run', '-d', '--rm', '--network', 'none', '--', 'sh', '-c', 'echo x > /f; exit 0']);
    assert.equal(r.status, 0, r.stderr);
    const id = r.stdout.trim();
    await until(() => !existsSync(join(data, 'containers', id)), 30000);
    assert.equal(runAsUser(data, ['ps', '-a', '-q']).stdout, '');
    // Kept (no --rm): its files are copied out of its layer after it exited, mounted again in the user's namespaces.
    const kept = runAsUser(data, ['run', '-d', '--network', 'none', '--', 'sh', '-c', 'echo mine > /f']);
    assert.equal(kept.status, 0, kept.stderr);
    const keptId = kept.stdout.trim();
    await until(() => existsSync(join(data, 'containers', keptId, 'exit')), 30000);
    const out = runAsUser(data, ['cp', `${keptId}:/f`, '-']);
    assert.equal(out.status, 0, out.stderr);
    assert.equal(spawnSync('tar', ['-xO'], { input: out.stdout, encoding: 'utf8' }).stdout, 'mine\n');
    assert.equal(runAsUser(data, ['rm', keptId]).status, 0);
  } finally {
    rmSync(data, { recursive: true, force: true });
  }
});

test('cp of an exited kept container: out of and into its layer, resolved inside it; start runs on the files cp put there', async () => {
  // The host has this directory with a file; the container's symlinks name it, and must resolve inside the container.
  const hostDir = mkdtempSync(join(tmpdir(), 'locker-habits-host-'));
  writeFileSync(join(hostDir, 'secret'), 'host\n');
  const name = `habits-cp-${randomBytes(3).toString('hex')}`;
  const id = detached(['--name', name, '--network', 'none', '--', 'sh', '-c',
    `[ -e /data ] || { mkdir -p /data /srv${hostDir} && echo inside > /data/f && ln -s / /data/up && ln -s ../../../../../../..${hostDir} /data/esc && ` +
    `ln -s /srv${hostDir} /data/srv && echo srv > /srv${hostDir}/secret; }; cat /data/new 2>/dev/null || echo no-new`]);
  try {
    await until(() => state(id)?.state === 'exited', 30000);
    assert.equal(sb.run(['logs', id]).stdout, 'no-new\n');

    const out = join(work, 'f');
    const got = sb.run(['cp', `${name}:/data/f`, out]);
    assert.equal(got.status, 0, got.stderr);
    assert.equal(readFileSync(out, 'utf8'), 'inside\n');
    // `/data/up -> /` is the container's root: its own /etc/passwd (the busybox rootfs'), not the host's.
    const passwd = sb.run(['cp', `${id}:/data/up/etc/passwd`, join(work, 'passwd')]);
    assert.equal(passwd.status, 0, passwd.stderr);
    assert.equal(readFileSync(join(work, 'passwd'), 'utf8'), sb.run(['run', '--', 'cat', '/etc/passwd']).stdout);
    assert.notEqual(readFileSync(join(work, 'passwd'), 'utf8'), readFileSync('/etc/passwd', 'utf8'));
    // `/data/esc -> ../../…/<hostDir>`: inside, that path does not exist; the host's file is never read.
    const esc = sb.run(['cp', `${id}:/data/esc/secret`, join(work, 'secret')]);
    assert.equal(esc.status, 2);
    assert.equal(esc.stderr, `locker: ${id}:/data/esc/secret: no such file or directory in the container\n`);
    assert.equal(existsSync(join(work, 'secret')), false);
    const srv = sb.run(['cp', `${id}:/data/srv/secret`, join(work, 'secret')]);
    assert.equal(srv.status, 0, srv.stderr);
    assert.equal(readFileSync(join(work, 'secret'), 'utf8'), 'srv\n');
    // Writes go into its layer, through its symlinks inside it, never into the host's directory.
    writeFileSync(join(work, 'new'), 'new\n');
    const into = sb.run(['cp', join(work, 'new'), `${id}:/data/srv/`]);
    assert.equal(into.status, 0, into.stderr);
    assert.equal(sb.run(['cp', join(work, 'new'), `${id}:/data/esc/new`]).stderr, `locker: ${id}:/data/esc/new: its parent directory does not exist; create it first\n`);
    assert.deepEqual(readdirSync(hostDir), ['secret']);
    assert.equal(readFileSync(join(containerDir(id), 'upper', 'srv', ...hostDir.split('/').filter(Boolean), 'new'), 'utf8'), 'new\n');
    assert.equal(sb.run(['cp', join(work, 'new'), `${id}:/data/new`]).status, 0);
    // Its /tmp was a tmpfs of the running container: not in its files, one line.
    const tmp = sb.run(['cp', join(work, 'new'), `${id}:/tmp/x`]);
    assert.equal(tmp.status, 2);
    assert.equal(tmp.stderr, `locker: ${id}:/tmp/x: /tmp was a mount of the running container (a tmpfs, a volume), not kept in its files; copy while it runs (locker start), or use another path\n`);
    // `-`: a tar stream of an exited container's directory on stdout, and one unpacked from stdin.
    const listed = sh(`"$LOCKER" cp ${id}:/data - | tar -t | sort`);
    assert.equal(listed.status, 0, String(listed.stderr));
    assert.equal(listed.stdout, 'data/\ndata/esc\ndata/f\ndata/new\ndata/srv\ndata/up\n');
    mkdirSync(join(work, 'tree', 'x'), { recursive: true });
    writeFileSync(join(work, 'tree', 'x', 'g'), 'streamed\n');
    const streamed = sh(`tar -C ${work}/tree -c x | "$LOCKER" cp - ${id}:/data`);
    assert.equal(streamed.status, 0, String(streamed.stderr));

    // start keeps the files (docker start does): the command now finds what cp put there.
    const again = sb.run(['start', '-a', name]);
    assert.equal(again.status, 0, again.stderr);
    assert.equal(again.stdout, 'new\n');
    const inRunning = sb.run(['cp', `${id}:/data/x/g`, join(work, 'g')]);
    assert.equal(inRunning.status, 0, inRunning.stderr);
    assert.equal(readFileSync(join(work, 'g'), 'utf8'), 'streamed\n');
  } finally {
    sb.run(['rm', '-f', id]);
    rmSync(hostDir, { recursive: true, force: true });
  }
});

test('cp - of a running container: a tar of its directory on stdout, a tar from stdin unpacked into a directory; bad ones one line', async () => {
  const id = detached(['--network', 'none', '--', 'sleep', '1000']);
  try {
    const listed = sh(`"$LOCKER" cp ${id}:/etc - | tar -t`);
    assert.equal(listed.status, 0, String(listed.stderr));
    assert.ok(String(listed.stdout).split('\n').includes('etc/passwd'), String(listed.stdout));
    mkdirSync(join(work, 'run', 'x'), { recursive: true });
    writeFileSync(join(work, 'run', 'x', 'h'), 'in\n');
    const put = sh(`tar -C ${work}/run -c x | "$LOCKER" cp - ${id}:/tmp`);
    assert.equal(put.status, 0, String(put.stderr));
    assert.equal(sb.run(['exec', id, '--', 'cat', '/tmp/x/h']).stdout, 'in\n');
    const notDir = sh(`tar -C ${work}/run -c x | "$LOCKER" cp - ${id}:/etc/passwd`);
    assert.equal(notDir.status, 2);
    assert.equal(notDir.stderr, `locker: ${id}:/etc/passwd: - unpacks a tar archive into a directory; name a directory that exists in the container\n`);
    const missing = sb.run(['cp', `${id}:/nope`, '-']);
    assert.equal(missing.stderr, `locker: ${id}:/nope: no such file or directory in the container\n`);
    // A terminal on the tar's side is refused (script(1) gives the CLI one for stdin and stdout).
    if (spawnSync('script', ['--version']).status === 0) {
      const inTerminal = (args: string): string => spawnSync('script', ['-qec', `${CLI} ${args}`, '/dev/null'], { env: sb.env, encoding: 'utf8', timeout: 30000 }).stdout;
      assert.equal(inTerminal(`cp ${id}:/etc -`), 'locker: locker cp ID:PATH - writes a tar archive to stdout, which is a terminal; pipe it (| tar -t) or redirect it (> out.tar)\r\n');
      assert.equal(inTerminal(`cp - ${id}:/tmp`), 'locker: locker cp - ID:PATH reads a tar archive from stdin, which is a terminal; pipe one in (tar -c DIR | locker cp - ID:/tmp)\r\n');
    }
  } finally {
    sb.run(['rm', '-f', id]);
  }
  // A container without a mount namespace of its own has no files to copy: one line.
  const hostOnly = `habits-nomnt-${randomBytes(3).toString('hex')}`;
  const gone = sb.run(['run', '--keep', '--name', hostOnly, '--no-ns', 'mnt', '--', 'true']);
  assert.equal(gone.status, 0, gone.stderr);
  const noMnt = sb.run(['cp', `${hostOnly}:/etc/passwd`, join(work, 'p2')]);
  assert.equal(noMnt.status, 2);
  assert.equal(noMnt.stderr, `locker: container ${hostOnly} had no mnt namespace: its files were the host's own; copy them on the host\n`);
  sb.run(['rm', hostOnly]);
});

test('start -a: every byte of its output (stdout and stderr, in order), its exit status; bad uses one line each', async () => {
  const id = detached(['--network', 'none', '--', 'sh', '-c', 'for i in 1 2 3; do echo out$i; echo err$i >&2; done; exit 5']);
  await until(() => state(id)?.state === 'exited', 30000);
  const r = sb.run(['start', '-a', id]);
  assert.equal(r.status, 5, r.stderr);
  assert.equal(r.stdout, 'out1\nerr1\nout2\nerr2\nout3\nerr3\n');
  assert.equal(r.stderr, '');
  assert.equal(state(id)!.exitCode, 5);
  const long = detached(['--network', 'none', '--', 'sleep', '1000']);
  const running = sb.run(['start', '-a', long]);
  assert.equal(running.status, 2);
  assert.equal(running.stderr, `locker: container ${long} is already running; locker attach ${long} follows it (start -a is for an exited one)\n`);
  const two = sb.run(['start', '-a', id, long]);
  assert.equal(two.stderr, 'locker: locker start -a attaches to one container; give one id (or leave out -a to start them all)\n');
  assert.match(sb.run(['start', '--help']).stdout, /start \[-a\] ID\.\.\./);
  for (const c of [id, long]) sb.run(['rm', '-f', c]);
});

test('start -a of a -t container: its terminal (typing reaches it), its exit status', { skip: spawnSync('script', ['--version']).status === 0 ? false : 'needs script (util-linux)' }, async () => {
  // The first run only marks itself; the second (start -a) reads a line typed into the terminal.
  const id = detached(['-t', '--network', 'none', '--', 'sh', '-c', '[ -e /ran ] || { touch /ran; exit 0; }; read x; echo "got-$x"; exit 6']);
  await until(() => state(id)?.state === 'exited', 30000);
  // Typed before the attach: it waits in script's terminal until start -a reads it, then goes to the container's.
  const r = spawnSync('script', ['-qec', `${CLI} start -a ${id}`, '/dev/null'], { env: sb.env, encoding: 'utf8', input: 'hello\r', timeout: 30000 });
  assert.equal(r.status, 6, r.stdout);
  assert.match(r.stdout, /\r\ngot-hello\r\r?\n$/);
  sb.run(['rm', '-f', id]);
});

test('exec --ulimit: the exec\'d process gets the limits, the container keeps its own; bad ones one line', async () => {
  const id = detached(['--network', 'none', '--ulimit', 'nofile=500:600', '--', 'sleep', '1000']);
  try {
    const r = sb.run(['exec', '--ulimit', 'nofile=100:200', '--ulimit', 'core=0', id, '--', 'sh', '-c', 'grep -E "^Max (open files|core file size)" /proc/self/limits /proc/1/limits | tr -s " "']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, [
      '/proc/self/limits:Max core file size 0 0 bytes ', '/proc/self/limits:Max open files 100 200 files ',
      '/proc/1/limits:Max core file size 0 unlimited bytes ', '/proc/1/limits:Max open files 500 600 files ', '',
    ].join('\n').replace('0 unlimited', readCoreLimit()));
    const bad = sb.run(['exec', '--ulimit', 'nofile=3:2', id, '--', 'true']);
    assert.equal(bad.status, 2);
    assert.equal(bad.stderr, 'locker: --ulimit "nofile=3:2": the soft limit 3 is above the hard limit 2; make SOFT <= HARD\n');
    assert.match(sb.run(['exec', '--help']).stdout, /--ulimit NAME=SOFT\[:HARD\]/);
  } finally {
    sb.run(['rm', '-f', id]);
  }
});

/** The core limit a container inherits from this test process (its soft and hard values as /proc shows them). */
function readCoreLimit(): string {
  const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max core file size'))!;
  return line.replace(/\s+/g, ' ').split(' ').slice(4, 6).join(' ');
}

function readFileSafe(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}
