// Faults: the CLI killed with SIGKILL while a container runs and while one is half set up, a data
// dir that is read-only or full. The next Runtime on the data dir must find and clean up the rest.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { createCgroup, hostLayout, listCgroups, openCgroup } from '../runtime/cgroups';
import { cleanupLeaks, compareHost, snapshotHost, type Leak } from '../runtime/host-check';
import { processStartTime, type ContainerRecord } from '../runtime/records';
import { Runtime } from '../runtime/runtime';
import { partialOwnerTag } from '../runtime/rootfs/store';
import { CLI, sandbox, until } from '../testing/harness';

const sb = sandbox();
const work = mkdtempSync(join(tmpdir(), 'locker-faults-'));
after(() => {
  sb.cleanup();
  rmSync(work, { recursive: true, force: true });
});
const cgroupsWork = hostLayout().canWrite;

/**
 * The CLI in its own process group, so the test can kill it together with the tar it runs. With
 * Node, not the resident server (LOCKER_NO_CLI_SERVER): these tests are of a runtime process
 * killed mid-work and what recovery does after it (server.test.ts kills a served command's client).
 */
const nodeCli = { ...sb.env, LOCKER_NO_CLI_SERVER: '1' };
function startGroup(args: string[], env = nodeCli): { child: ChildProcess; out: () => string } {
  const child = spawn(CLI, args, { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  return { child, out: () => out };
}

const exited = (c: ChildProcess): Promise<void> =>
  c.exitCode !== null || c.signalCode !== null ? Promise.resolve() : new Promise((r) => c.once('exit', () => r()));

function records(dataDir = sb.dataDir): Array<{ id: string; record?: ContainerRecord; files: string[] }> {
  const dir = join(dataDir, 'containers');
  if (!existsSync(dir)) return [];
  return readdirSync(dir).map((id) => {
    const files = readdirSync(join(dir, id));
    const record = files.includes('state.json') ? (JSON.parse(readFileSync(join(dir, id, 'state.json'), 'utf8')) as ContainerRecord) : undefined;
    return { id, record, files };
  });
}

const children = (pid: number): number[] => {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
};
const comm = (pid: number): string => {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
};

async function recoverNow(dataDir = sb.dataDir) {
  const rt = new Runtime({ dataDir });
  const report = await rt.recovered;
  assert.deepEqual(report.errors, []);
  return { rt, report };
}

describe('the CLI killed with SIGKILL', () => {
  test('while a container runs: init dies by PDEATHSIG, the next Runtime records the end and cleans up', async () => {
    const limits = cgroupsWork ? ['--pids-limit', '50'] : [];
    const run = startGroup(['run', ...limits, '--', 'sh', '-c', 'echo ready; exec sleep 60']);
    await until(() => run.out().includes('ready'), 10000);
    // The command can print before the runtime has written its record: wait for the record too.
    const [{ id, record }] = await until(() => (records()[0]?.record?.state === 'running' ? records() : undefined), 10000);
    assert.ok(record && record.state === 'running');
    const layerDirs = ['upper', 'work', 'rootfs'].map((d) => join(sb.dataDir, 'containers', id, d));
    assert.ok(layerDirs.some(existsSync));
    if (cgroupsWork) assert.ok(listCgroups().includes(id));

    run.child.kill('SIGKILL');
    await exited(run.child);
    // PR_SET_PDEATHSIG: the kernel kills the init when its runtime dies.
    await until(() => processStartTime(record.pid) !== record.pidStartTime, 3000);
    assert.equal(records()[0].record?.state, 'running', 'nobody recorded the end yet');

    const { report } = await recoverNow();
    assert.deepEqual(report.exited, [id]);
    assert.deepEqual(report.killed, [], 'PDEATHSIG had killed it already');
    assert.deepEqual(report.layers, [id]);
    if (cgroupsWork) {
      assert.ok(report.cgroups.includes(id));
      assert.ok(!listCgroups().includes(id));
    }
    const after = records()[0].record!;
    assert.equal(after.state, 'exited');
    assert.equal(after.signal, 'SIGKILL');
    assert.equal(after.exitCode, 137);
    for (const d of layerDirs) assert.equal(existsSync(d), false, d);
    assert.match(sb.run(['ps', '-a']).stdout, new RegExp(`${id}.*exited`));
    assert.equal(sb.run(['rm', id]).status, 0);
  });

  test('without a PID namespace a child survives its init; the cgroup sweep kills it', { skip: cgroupsWork ? false : 'cgroups not writable here' }, async () => {
    const run = startGroup(['run', '--no-ns', 'pid', '--pids-limit', '50', '--', 'sh', '-c', 'sleep 60 & echo child=$!; echo ready; wait']);
    await until(() => run.out().includes('ready'), 10000);
    const childPid = Number(/child=(\d+)/.exec(run.out())![1]);
    const childStart = processStartTime(childPid)!;
    const [{ id }] = await until(() => (records()[0]?.record?.state === 'running' ? records() : undefined), 10000);
    run.child.kill('SIGKILL');
    await exited(run.child);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(processStartTime(childPid), childStart, 'the orphan outlived the runtime');
    const { report } = await recoverNow();
    assert.ok(report.cgroups.includes(id), JSON.stringify(report));
    await until(() => processStartTime(childPid) !== childStart, 3000);
    sb.run(['rm', id]);
  });

  test('during a tarball import: half-set-up container dir, cgroup and partial image are removed', async () => {
    const src = join(work, 'big');
    mkdirSync(join(src, 'bin'), { recursive: true });
    writeFileSync(join(src, 'bin', 'busybox'), readFileSync('/bin/busybox'), { mode: 0o755 });
    writeFileSync(join(src, 'blob'), Buffer.alloc(160 * 1024 * 1024));
    const tar = join(work, 'big.tar');
    assert.equal(spawnSync('tar', ['-C', src, '-cf', tar, '.']).status, 0);
    rmSync(src, { recursive: true, force: true });

    const limits = cgroupsWork ? ['--pids-limit', '50'] : [];
    const run = startGroup(['run', ...limits, '--rootfs', tar, '--', '/bin/busybox', 'true']);
    // Kill the CLI and its tar together (the whole process group) while tar extracts.
    let caught = false;
    const end = Date.now() + 15000;
    while (Date.now() < end && run.child.exitCode === null) {
      if (children(run.child.pid!).some((c) => comm(c) === 'tar')) {
        process.kill(-run.child.pid!, 'SIGKILL');
        caught = true;
        break;
      }
      await new Promise((r) => setImmediate(r));
    }
    assert.ok(caught, 'caught the import in flight: ' + run.out());
    await exited(run.child);
    await until(() => !spawnSync('pgrep', ['-f', tar]).stdout.length, 3000);

    const half = records();
    assert.equal(half.length, 1);
    assert.equal(half[0].record, undefined, 'no record yet: the container was half set up');
    const images = join(sb.dataDir, 'images');
    const partials = readdirSync(images).filter((n) => n.startsWith('.partial-'));
    assert.equal(partials.length, 1);
    if (cgroupsWork) assert.ok(listCgroups().includes(half[0].id));

    const { report } = await recoverNow();
    assert.deepEqual(report.removedDirs, [half[0].id]);
    assert.deepEqual(report.partials, partials);
    assert.deepEqual(records(), []);
    assert.deepEqual(readdirSync(images).filter((n) => !n.startsWith('default')), []);
    if (cgroupsWork) assert.ok(!listCgroups().includes(half[0].id));
    // And the import works afterwards.
    const again = sb.run(['run', '--rootfs', tar, '--', '/bin/busybox', 'echo', 'imported'], { timeoutMs: 60000 });
    assert.equal(again.stdout, 'imported\n', again.stderr);
  });
});

describe('recovery leaves live work alone', () => {
  test('a surviving orphan init is killed; a container whose runtime lives is not touched', async () => {
    const data = mkdtempSync(join(tmpdir(), 'locker-faults-data-'));
    const orphan = spawn('sleep', ['60'], { stdio: 'ignore' });
    const owned = spawn('sleep', ['60'], { stdio: 'ignore' });
    const orphanDied = new Promise<string | null>((r) => orphan.once('exit', (_c, s) => r(s)));
    try {
      const deadOwner = spawnSync('true').pid!;
      const base = { command: ['sleep', '60'], hostname: 'x', state: 'running' as const, namespaces: [], rootfs: 'default', rootless: false, tty: false, createdAt: Date.now(), env: [], workdir: '/' };
      const write = (id: string, r: object): void => {
        mkdirSync(join(data, 'containers', id), { recursive: true });
        writeFileSync(join(data, 'containers', id, 'state.json'), JSON.stringify({ id, name: id, ...base, ...r }));
      };
      write('0000000000a1', { pid: orphan.pid, pidStartTime: processStartTime(orphan.pid!), ownerPid: deadOwner });
      write('0000000000b2', { pid: owned.pid, pidStartTime: processStartTime(owned.pid!), ownerPid: process.pid });
      // A partial import by a live process (this one), one by a dead process, one still being written.
      const images = join(data, 'images');
      mkdirSync(join(images, `.partial-tar-aa-${partialOwnerTag()}-AAAAAA`), { recursive: true });
      mkdirSync(join(images, `.partial-tar-bb-p${deadOwner}s1-BBBBBB`), { recursive: true });
      const busy = join(images, `.partial-tar-cc-p${deadOwner}s1-CCCCCC`);
      mkdirSync(busy);
      const writer = spawn('sleep', ['60'], { cwd: busy, stdio: 'ignore' });
      try {
        await until(() => (children(process.pid).includes(writer.pid!) ? true : undefined));
        const { report } = await recoverNow(data);
        assert.deepEqual(report.killed, [orphan.pid]);
        assert.deepEqual(report.exited, ['0000000000a1']);
        assert.deepEqual(report.partials, [`.partial-tar-bb-p${deadOwner}s1-BBBBBB`]);
        assert.equal(await orphanDied, 'SIGKILL');
        assert.equal(owned.exitCode, null);
        assert.equal(owned.signalCode, null);
        const kept = JSON.parse(readFileSync(join(data, 'containers', '0000000000b2', 'state.json'), 'utf8'));
        assert.equal(kept.state, 'running');
        assert.deepEqual(readdirSync(images).sort(), [`.partial-tar-aa-${partialOwnerTag()}-AAAAAA`, `.partial-tar-cc-p${deadOwner}s1-CCCCCC`]);
      } finally {
        writer.kill('SIGKILL');
      }
    } finally {
      orphan.kill('SIGKILL');
      owned.kill('SIGKILL');
      rmSync(data, { recursive: true, force: true });
    }
  });
});

describe('a data dir that is read-only or full', () => {
  const inPrivateMountNs = (script: string) =>
    spawnSync('unshare', ['-m', '--propagation', 'private', 'sh', '-c', script], { encoding: 'utf8', env: { ...process.env, CLI } });

  let small: string | undefined;
  const smallTar = (): string => {
    if (small) return small;
    const src = join(work, 'small');
    mkdirSync(join(src, 'bin'), { recursive: true });
    writeFileSync(join(src, 'bin', 'busybox'), readFileSync('/bin/busybox'), { mode: 0o755 });
    writeFileSync(join(src, 'blob'), Buffer.alloc(16 * 1024 * 1024, 1));
    assert.equal(spawnSync('tar', ['-C', src, '-cf', join(work, 'small.tar'), '.']).status, 0);
    return (small = join(work, 'small.tar'));
  };

  test('read-only: a clear error, nothing created', () => {
    const data = mkdtempSync(join(tmpdir(), 'locker-ro-'));
    try {
      mkdirSync(join(data, 'images'));
      const r = inPrivateMountNs(`mount --bind ${data} ${data} && mount -o remount,bind,ro ${data} && LOCKER_DATA_DIR=${data} "$CLI" run -- true; echo rc=$?`);
      assert.match(r.stdout, /^rc=2$/m, r.stderr);
      assert.match(r.stderr, /^locker: cannot write the data dir: \S+ is on a read-only filesystem; .*LOCKER_DATA_DIR/);
      assert.doesNotMatch(r.stderr, /internal error|at /);
      // Only the image dir read-only: the import is refused, the container dir it had made is gone.
      const r2 = inPrivateMountNs(`mount --bind ${data}/images ${data}/images && mount -o remount,bind,ro ${data}/images && LOCKER_DATA_DIR=${data} "$CLI" run --rootfs ${smallTar()} -- true; echo rc=$?`);
      assert.match(r2.stderr, /cannot write the data dir: \S+images is on a read-only filesystem/, r2.stderr);
      assert.deepEqual(readdirSync(join(data, 'containers')), []);
      assert.deepEqual(readdirSync(join(data, 'images')), []);
    } finally {
      rmSync(data, { recursive: true, force: true });
    }
  });

  test('full during an import: a clear error and no half-imported image', () => {
    const tar = smallTar();
    const data = mkdtempSync(join(tmpdir(), 'locker-full-'));
    try {
      const r = inPrivateMountNs(`mount -t tmpfs -o size=8m tmpfs ${data} && LOCKER_DATA_DIR=${data} "$CLI" run --rootfs ${tar} -- /bin/busybox true; echo rc=$?; ls -A ${data}/images ${data}/containers`);
      assert.match(r.stdout, /^rc=2$/m, r.stderr);
      assert.match(r.stderr, /cannot import --rootfs .*small\.tar: the disk holding the data dir .* is full; nothing was kept/);
      const listing = r.stdout.split('\n').filter((l) => l && !l.startsWith('rc=') && !l.endsWith(':'));
      assert.deepEqual(listing, [], 'no partial image, no container dir: ' + r.stdout);
      assert.match(r.stdout, /images:/, 'the listing ran inside the namespace');
      // The tmpfs lived only in that namespace.
      assert.ok(!readFileSync('/proc/self/mountinfo', 'utf8').includes(` ${data} `));
    } finally {
      rmSync(data, { recursive: true, force: true });
    }
  });
});

describe('host check', () => {
  test('snapshotHost/compareHost find what Locker left; cleanupLeaks removes it and keeps what runs', async () => {
    const data = mkdtempSync(join(tmpdir(), 'locker-hostcheck-'));
    const hex = (): string => [...Array(12)].map(() => Math.floor(Math.random() * 16).toString(16)).join('');
    const deadId = hex();
    const vethId = hex();
    const veth = 'lk' + vethId.slice(0, 10);
    const mnt = join(data, 'containers', deadId, 'rootfs');
    const env = { ...process.env, LOCKER_DATA_DIR: data };
    const live = spawn(CLI, ['run', '--name', 'live', ...(cgroupsWork ? ['--pids-limit', '20'] : []), '--', 'sh', '-c', 'echo ready; exec sleep 30'], { env, stdio: ['ignore', 'pipe', 'ignore'] });
    let liveOut = '';
    live.stdout!.on('data', (d) => (liveOut += d));
    try {
      const before = snapshotHost(data);
      await until(() => liveOut.includes('ready'), 10000);
      const liveId = readdirSync(join(data, 'containers'))[0];
      // Leaks as a crash leaves them: a dead container's dir with a mount under it, its cgroup, a veth.
      mkdirSync(mnt, { recursive: true });
      writeFileSync(join(data, 'containers', deadId, 'state.json'), JSON.stringify({ id: deadId, state: 'exited', pid: 1, pidStartTime: '', ownerPid: 1 }));
      assert.equal(spawnSync('mount', ['-t', 'tmpfs', 'leak', mnt]).status, 0);
      if (cgroupsWork) createCgroup(deadId, { pidsLimit: 10 });
      const ipOk = spawnSync('ip', ['link', 'add', veth, 'type', 'veth', 'peer', 'name', 'lp' + vethId.slice(0, 10)]).status === 0;

      const mine = (l: Leak): boolean => [deadId, liveId, veth, mnt].includes(l.name);
      const leaks = compareHost(before, snapshotHost(data)).filter(mine);
      const expected: Leak[] = [
        { kind: 'mount', name: mnt },
        ...(cgroupsWork ? [{ kind: 'cgroup' as const, name: deadId }, { kind: 'cgroup' as const, name: liveId }] : []),
        ...(ipOk ? [{ kind: 'veth' as const, name: veth }] : []),
        { kind: 'container', name: deadId },
        { kind: 'container', name: liveId },
      ];
      const key = (l: Leak): string => `${l.kind}:${l.name}`;
      assert.deepEqual(leaks.map(key).sort(), expected.map(key).sort());

      const result = await cleanupLeaks(data, leaks);
      assert.deepEqual(result.kept.map(key).sort(), expected.filter((l) => l.name === liveId).map(key).sort(), JSON.stringify(result.kept));
      assert.ok(result.kept.every((k) => /running/.test(k.why)));
      const left = compareHost(before, snapshotHost(data)).filter(mine);
      assert.deepEqual(left.map(key).sort(), expected.filter((l) => l.name === liveId).map(key).sort());
      assert.equal(live.exitCode, null, 'the running container was not touched');
    } finally {
      spawnSync('umount', ['-l', mnt]);
      spawnSync('ip', ['link', 'del', veth]);
      live.kill('SIGTERM');
      await exited(live);
      if (cgroupsWork) await openCgroup(deadId, hostLayout(), true).remove();
      rmSync(data, { recursive: true, force: true });
    }
  });

  test('compareHost counts stacked mounts and a changed hostname', () => {
    const base = { hostname: 'a', mounts: ['/', '/x'], cgroups: [], veths: [], containers: [] };
    assert.deepEqual(compareHost(base, { ...base, hostname: 'b', mounts: ['/', '/x', '/x'] }), [
      { kind: 'hostname', name: 'b' }, { kind: 'mount', name: '/x' },
    ]);
    assert.deepEqual(compareHost(base, base), []);
  });
});
