// Soak: many containers through the Runtime API in this process, sequential and concurrent, with
// the default spec (all namespaces, network included) and some with cgroup limits. Before and after:
// mounts, child processes, cgroups, veths, container dirs and this process's fds must be the same,
// and RSS roughly flat. CI-sized by default; LOCKER_SOAK=full runs 1000 sequential and 50 concurrent.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { after, describe, test } from 'node:test';
import { O } from '../../../native/constants';
import { close, open } from '../../../native/libc';
import { hostLayout, listCgroups } from '../runtime/cgroups';
import { compareHost, snapshotHost } from '../runtime/host-check';
import { lockerVeths } from '../runtime/network';
import { Runtime } from '../runtime/runtime';

const FULL = process.env.LOCKER_SOAK === 'full';
const SEQUENTIAL = FULL ? 1000 : 100;
const CONCURRENT = FULL ? 50 : 20;
const cgroupsWork = hostLayout().canWrite;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const data = mkdtempSync(join(tmpdir(), 'locker-soak-'));
after(() => rmSync(data, { recursive: true, force: true }));

const fds = (): string[] => readdirSync('/proc/self/fd').sort();
const children = (): string[] => readFileSync(`/proc/${process.pid}/task/${process.pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
const rss = (): number => {
  gc();
  return process.memoryUsage().rss;
};

describe('soak', () => {
  const rt = new Runtime({ dataDir: data, autoRemove: true });
  const ids: string[] = [];

  test('warm-up, and an fd the runtime holds without O_CLOEXEC never reaches a container', async () => {
    await rt.recovered;
    // A file under the data dir and a host directory, opened the way a careless library would.
    const leakedFile = open(join(data, 'leak'), O.RDWR | O.CREAT, 'O_RDWR|O_CREAT', 0o600);
    const leakedDir = open('/sys/fs/cgroup', O.RDONLY | O.DIRECTORY, 'O_RDONLY|O_DIRECTORY');
    try {
      for (const fd of [leakedFile, leakedDir]) {
        const flags = BigInt('0o' + /flags:\s+([0-7]+)/.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))![1]);
        assert.equal(flags & BigInt(O.CLOEXEC), 0n, `fd ${fd} is open without O_CLOEXEC`);
      }
      // Exit status: the first fd above 2 the shell has, or 0.
      const script = 'for n in $(seq 3 255); do test -e /proc/$$/fd/$n && exit $n; done; test "$(readlink /proc/self/cwd)" = /root || exit 1; exit 0';
      const h = await rt.run({ command: ['sh', '-c', script] });
      ids.push(h.info.id);
      const info = await h.exited;
      assert.equal(info.exitCode, 0, `fd ${info.exitCode} leaked into the container (runtime holds ${leakedFile} and ${leakedDir})`);
    } finally {
      close(leakedFile);
      close(leakedDir);
    }
  });

  test(`${SEQUENTIAL} sequential and ${CONCURRENT} concurrent containers leak nothing`, { timeout: FULL ? 600_000 : 60_000 }, async () => {
    const before = snapshotHost(data);
    const fdsBefore = fds();
    const childrenBefore = children();
    const rssStart = rss();
    let rssWarm = rssStart;
    const t0 = Date.now();
    for (let i = 0; i < SEQUENTIAL; i++) {
      const limited = cgroupsWork && i % 10 === 0;
      const h = await rt.run({ command: ['true'], pidsLimit: limited ? 20 : undefined });
      ids.push(h.info.id);
      const info = await h.exited;
      assert.equal(info.exitCode, 0);
      if (i === Math.min(20, SEQUENTIAL - 1)) rssWarm = rss();
    }
    const handles = [];
    for (let i = 0; i < CONCURRENT; i++) {
      const h = await rt.run({ command: ['sleep', '600'], pidsLimit: cgroupsWork && i % 2 === 0 ? 20 : undefined });
      ids.push(h.info.id);
      handles.push(h);
    }
    assert.equal(rt.list().filter((c) => c.state === 'running').length, CONCURRENT, 'all concurrent containers ran at once');
    // sleep as PID 1 ignores SIGTERM: stop escalates to SIGKILL after the grace time.
    const stopped = await Promise.all(handles.map((h) => rt.stop(h.info.id, 50)));
    assert.ok(stopped.every((i) => i.state === 'exited' && i.signal === 'SIGKILL'), JSON.stringify(stopped.map((i) => [i.state, i.signal])));
    await Promise.all(handles.map((h) => h.exited));
    const elapsed = Date.now() - t0;

    const now = snapshotHost(data);
    // Host-wide lists may change through other tests running meanwhile: judge only our ids.
    const ours = new Set(ids);
    const leaks = compareHost(before, now).filter((l) => l.kind === 'mount' || l.kind === 'container' || l.kind === 'hostname' || ours.has(l.name)
      || (l.kind === 'veth' && ids.some((id) => l.name === 'lk' + id.slice(0, 10))));
    assert.deepEqual(leaks, []);
    assert.ok(!listCgroups().some((id) => ours.has(id)), 'no cgroup of ours left');
    assert.ok(!lockerVeths().some((v) => ids.some((id) => v === 'lk' + id.slice(0, 10))), 'no veth of ours left');
    assert.deepEqual(readdirSync(join(data, 'containers')), []);
    assert.deepEqual(children(), childrenBefore, 'no child processes left');
    assert.deepEqual(fds(), fdsBefore, 'no fds left open in the runtime');
    assert.deepEqual(rt.list(), []);
    const rssEnd = rss();
    const growth = rssEnd - rssWarm;
    const n = SEQUENTIAL + CONCURRENT;
    console.log(`soak: ${n} containers in ${elapsed} ms (${(elapsed / n).toFixed(1)} ms each); RSS ${(rssStart / 2 ** 20).toFixed(1)} → ${(rssWarm / 2 ** 20).toFixed(1)} (warm) → ${(rssEnd / 2 ** 20).toFixed(1)} MiB`);
    // Roughly flat: allow heap noise, not a per-container leak (≥ 64 KiB each would exceed it at full size).
    assert.ok(growth < (FULL ? 48 : 24) * 2 ** 20, `RSS grew by ${(growth / 2 ** 20).toFixed(1)} MiB after warm-up`);
  });
});
