// The spare network (spare.ts), on the real kernel: a runtime with spareNetwork makes the next
// container's bridged network ahead on its namespace thread; the container joins that namespace
// and is networked as any other (its address on eth0, sysfs of its own namespace, the gateway
// answering) and in the cgroup made for it, no descriptor of it reaches the container, and nothing
// of it is left: not after the container, not after releaseSpare, not after the process that held
// it was SIGKILLed (and a recovery ran).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { syscallLog, type SyscallEntry } from '../../../native/syscall-log';
import { sandbox, until } from '../testing/harness';
import { compareHost, snapshotHost } from './host-check';
import { Runtime } from './runtime';
import { listCgroups, openCgroup } from './cgroups';
import { recover } from './recovery';
import { GATEWAY, containerLeases, leases } from './network/addresses';
import { lockerNatTables, natTableName } from './network/nat';
import { SPARE_NOTE, hostVethName, lockerVeths } from './network/setup';
import { releaseSpare, spareId, spareProcessPid, spareSettled } from './spare';

const sb = sandbox();
after(() => {
  releaseSpare();
  sb.cleanup();
});

/** What a container printed on its terminal, once it exited. */
async function output(rt: Runtime, script: string, extra: { network?: 'none' } = {}): Promise<{ id: string; text: string; exitCode?: number; network: unknown }> {
  const h = await rt.run({ command: ['/bin/sh', '-c', script], tty: true, ...extra });
  let text = '';
  h.terminal!.onData((b) => (text += b.toString()));
  const end = await h.exited;
  await until(() => text.includes('END'));
  h.terminal!.close();
  return { id: h.info.id, text: text.replace(/\r\n/g, '\n'), exitCode: end.exitCode, network: h.info.network };
}

/** This process's open fds of network namespaces other than its own (the namespace thread holds its own). */
const netnsFds = (): string[] => readdirSync('/proc/self/fd').map((fd) => {
  try {
    return readlinkSync(join('/proc/self/fd', fd));
  } catch {
    return '';
  }
}).filter((l) => l.startsWith('net:[') && l !== readlinkSync('/proc/self/ns/net'));

const spareOf = (id: string) => ({ veth: hostVethName(id), table: natTableName(hostVethName(id)) });
const held = (id: string): { veth: boolean; lease: boolean; table: boolean; cgroup: boolean } => ({
  veth: lockerVeths().includes(spareOf(id).veth),
  lease: leases().some((l) => l.id === id),
  table: lockerNatTables().includes(spareOf(id).table),
  cgroup: listCgroups().includes(id),
});
const ALL = { veth: true, lease: true, table: true, cgroup: true };
const NONE = { veth: false, lease: false, table: false, cgroup: false };

describe('a spare network', { skip: process.getuid?.() !== 0 && 'needs root' }, () => {
  const rt = new Runtime({ dataDir: sb.dataDir, autoRemove: true, spareNetwork: true });

  test('is made ahead, and the next container joins it: networked, its own sysfs, no fd of it inside', async () => {
    await rt.recovered; // the spare is started once the recovery is done
    assert.equal(await spareSettled(), true, 'a spare was made after the recovery');
    assert.equal(netnsFds().length, 1);
    const sid = spareId()!;
    assert.deepEqual(held(sid), ALL);
    const lease = leases().find((l) => l.id === sid)!;
    assert.equal(lease.spare, true);
    assert.equal(lease.pid, process.pid, 'held by this process');
    assert.ok(!containerLeases().some((l) => l.id === sid), 'a spare counts as no container (it holds no ip_forward)');
    assert.deepEqual(compareHost(snapshotHost(sb.dataDir), snapshotHost(sb.dataDir)), []);
    assert.ok(!snapshotHost(sb.dataDir).veths.includes(spareOf(sid).veth), 'a spare\'s veth is no leak');
    assert.ok(!snapshotHost(sb.dataDir).cgroups.includes(sid), 'nor its cgroup');

    const log: SyscallEntry[] = [];
    const off = syscallLog.subscribe((e) => log.push(e));
    const hostNetns = readlinkSync('/proc/self/ns/net');
    let r;
    try {
      r = await output(rt, `ip -o -4 addr show eth0; ls -1 /sys/class/net; ping -c 1 -W 2 ${GATEWAY} >/dev/null && echo gateway answers; readlink /proc/self/ns/net; ls -1 /proc/self/fd; echo END`);
    } finally {
      off();
    }
    assert.equal(r.id, sid, 'the container got the spare\'s id (its veth, table and lease are named by it)');
    assert.equal(r.exitCode, 0, r.text);
    const lines = r.text.trim().split('\n');
    assert.match(lines[0], new RegExp(`eth0\\s+inet ${lease.address.replace(/\./g, '\\.')}/24 `));
    assert.deepEqual(lines.slice(1, 3), ['eth0', 'lo'], 'sysfs shows the joined namespace: it was joined before /sys was mounted');
    assert.equal(lines[3], 'gateway answers');
    assert.match(lines[4], /^net:\[\d+\]$/);
    assert.notEqual(lines[4], hostNetns);
    // ls's own fds: 0, 1, 2 and the one it reads /proc/self/fd through; nothing inherited.
    assert.deepEqual(lines.slice(5, 9), ['0', '1', '2', '3'], r.text);
    const info = r.network as { address: string; hostChanges: string[] };
    assert.equal(info.address, lease.address);
    assert.ok(info.hostChanges.includes(SPARE_NOTE));

    const ours = log.filter((e) => e.container === sid);
    const clone = ours.find((e) => e.where === 'host' && e.name === 'clone')!;
    assert.doesNotMatch(clone.args, /CLONE_NEWNET/, 'the clone made no network namespace');
    assert.ok(ours.some((e) => e.where === 'child' && e.name === 'setns' && /CLONE_NEWNET/.test(e.args)), 'the container joined one');
    assert.ok(ours.some((e) => e.where === 'host' && e.name === 'unshare' && e.args === 'CLONE_NEWNET'), 'the thread\'s calls are in its log');
    assert.match(clone.args, /ahead of its program/, 'its process was cloned ahead');
    assert.ok(ours.some((e) => e.where === 'child' && e.name === 'unshare' && e.args === 'CLONE_NEWNS'), 'and made its mount namespace at the launch');
    assert.ok(ours.some((e) => e.name === 'sendmsg' && e.args.includes(`RTM_NEWLINK veth ${spareOf(sid).veth}`)));

    await until(() => !Object.values(held(sid)).some(Boolean));
    assert.equal(await spareSettled(), true, 'the next spare is made behind the launch');
    assert.notEqual(spareId(), sid);
    assert.equal(netnsFds().length, 1, 'only the new spare\'s namespace is held open here');
  });

  test('its process, cloned ahead, holds nothing but where it reports, loads and its terminal, in the spare\'s cgroup and network namespace', async () => {
    assert.equal(await spareSettled(), true);
    const sid = spareId()!;
    const pid = spareProcessPid()!;
    assert.ok(pid > 0);
    const fds = readdirSync(`/proc/${pid}/fd`).map((fd) => readlinkSync(`/proc/${pid}/fd/${fd}`));
    assert.equal(fds.length, 3, fds.join(' '));
    assert.equal(fds.filter((l) => l.startsWith('pipe:')).length, 2, fds.join(' '));
    assert.equal(fds.filter((l) => l.startsWith('/dev/pts/')).length, 1, fds.join(' '));
    assert.notEqual(readlinkSync(`/proc/${pid}/ns/net`), readlinkSync('/proc/self/ns/net'));
    assert.notEqual(readlinkSync(`/proc/${pid}/ns/pid_for_children`), readlinkSync('/proc/self/ns/pid'));
    assert.ok(readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n').filter((l) => l.includes('/locker/')).every((l) => l.endsWith(`/locker/${sid}`)));
    assert.match(readFileSync(`/proc/${pid}/status`, 'utf8'), new RegExp(`\nPPid:\t${process.pid}\n`));
    // Killed by someone: the next launch makes its own process, with the spare's network all the same.
    process.kill(pid, 'SIGKILL');
    await until(() => readFileSync(`/proc/${pid}/stat`, 'utf8').split(' ')[2] === 'Z');
    const r = await output(rt, 'ip -o -4 addr show eth0; echo END');
    assert.equal(r.id, sid);
    assert.match(r.text, /eth0\s+inet 10\.88\.0\.\d+\/24 /);
  });

  test('its cgroup is the container\'s: joined at once, the device rules of one made at launch', async () => {
    assert.equal(await spareSettled(), true);
    const sid = spareId()!;
    const plain = new Runtime({ dataDir: sb.dataDir, autoRemove: true });
    const a = await rt.run({ command: ['/bin/sleep', '30'] });
    const b = await plain.run({ command: ['/bin/sleep', '30'] });
    try {
      assert.equal(a.info.id, sid);
      assert.notEqual(b.info.id, spareId());
      const where = (pid: number): string[] => readFileSync(`/proc/${pid}/cgroup`, 'utf8').trim().split('\n').filter((l) => l.includes('/locker/'));
      const mine = where(a.info.pid);
      assert.ok(mine.length > 0 && mine.every((l) => l.endsWith(`/locker/${sid}`)), mine.join(' '));
      assert.deepEqual(where(b.info.pid).map((l) => l.replace(b.info.id, sid)), mine);
      const rules = (id: string): string[] => openCgroup(id).paths.filter((p) => p.includes('/devices/')).map((p) => readFileSync(join(p, 'devices.list'), 'utf8'));
      assert.deepEqual(rules(sid), rules(b.info.id), 'the same allowlist');
    } finally {
      await rt.stop(a.info.id, 0);
      await plain.stop(b.info.id, 0);
    }
    await until(() => !Object.values(held(sid)).some(Boolean));
  });

  test('its pty is the container\'s terminal, at the size the launch asks for', async () => {
    assert.equal(await spareSettled(), true);
    const sid = spareId()!;
    const h = await rt.run({ command: ['/bin/sh', '-c', 'stty size; echo END'], tty: true, cols: 100, rows: 30 });
    let text = '';
    h.terminal!.onData((b) => (text += b.toString()));
    await h.exited;
    await until(() => text.includes('END'));
    h.terminal!.close();
    assert.equal(h.info.id, sid);
    assert.equal(text.replace(/\r\n/g, '\n'), '30 100\nEND\n');
  });

  test('a launch it does not fit (--network none) leaves it for the next', async () => {
    assert.equal(await spareSettled(), true);
    const sid = spareId()!;
    const r = await output(rt, 'ls -1 /sys/class/net; echo END', { network: 'none' });
    assert.notEqual(r.id, sid);
    assert.equal(r.text.trim(), 'lo\nEND');
    assert.equal(spareId(), sid);
  });

  test('releaseSpare removes all of it', async () => {
    assert.equal(await spareSettled(), true);
    const sid = spareId()!;
    releaseSpare();
    assert.equal(spareId(), undefined);
    assert.equal(netnsFds().length, 0);
    await until(() => !Object.values(held(sid)).some(Boolean)).catch(() => assert.deepEqual(held(sid), NONE));
  });
});

test('the spare of a process that was SIGKILLed: its veth goes with it, the sweep takes its lease and table', { skip: process.getuid?.() !== 0 && 'needs root' }, async () => {
  const data = sandbox();
  const script = `
    const { Runtime } = require(${JSON.stringify(join(__dirname, 'runtime'))});
    const spare = require(${JSON.stringify(join(__dirname, 'spare'))});
    const rt = new Runtime({ dataDir: ${JSON.stringify(data.dataDir)}, spareNetwork: true });
    rt.recovered.then(() => spare.spareSettled()).then((ok) => { console.log(ok ? spare.spareId() + ' ' + spare.spareProcessPid() : 'none'); setInterval(() => {}, 1000); });`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    let out = '';
    child.stdout.on('data', (b) => (out += b));
    const [sid, pid] = (await until(() => out.includes('\n') && out.trim(), 20000)).split(' ');
    assert.match(sid, /^[0-9a-f]{12}$/);
    assert.match(pid, /^\d+$/);
    assert.deepEqual(held(sid), ALL);
    child.kill('SIGKILL');
    await new Promise((r) => child.once('close', r));
    await until(() => !lockerVeths().includes(spareOf(sid).veth), 10000);
    const ended = (): boolean => !existsSync(`/proc/${pid}`) || readFileSync(`/proc/${pid}/stat`, 'utf8').split(' ')[2] === 'Z';
    await until(ended, 10000).catch(() => assert.fail(`the process cloned ahead (${pid}) outlived its runtime`));
    assert.deepEqual(held(sid), { ...ALL, veth: false }, 'the lease, table and cgroup wait for a recovery');
    // Any runtime's recovery (its own data dir here): the dead holder's lease says whose they were.
    const report = await recover(sb.dataDir);
    assert.ok(report.cgroups.includes(sid), JSON.stringify(report));
    assert.deepEqual(held(sid), NONE);
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    data.cleanup();
  }
});
