// Container networking on the real kernel: processes in new network namespaces (spawnProcess, as
// the runtime makes them) get a veth into locker0, ping each other and the host bridge address, and
// leave nothing behind. Only 10.88.0.0/24 and loopback are ever addressed.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { CLONE } from '../../../../native/constants';
import { kill, reapBlocking } from '../../../../native/libc';
import { Program } from '../../../../native/program';
import { spawnProcess } from '../../../../native/spawn';
import { ensureTestUser, TEST_USER, until } from '../../testing/harness';
import { IPS_DIR, leases } from './addresses';
import { interfaces } from './interfaces';
import { TUN, userModeTools } from './usermode';
import { BRIDGE, HOST_NOTE, ROOTLESS_NOTE, hostVethName, lockerVeths, setupNetwork, sweepStaleNetwork, teardownNetwork, type NetworkInfo } from './setup';

const BUSYBOX = '/bin/busybox';
const started = new Map<string, number>();

/** A test-unique container id: 12 hex digits, the first 10 distinct per call (they name the veth). */
let serial = 0;
const newId = (): string => (0xe0000000 + process.pid * 64 + serial++).toString(16).padStart(10, '0').slice(-10) + 'ff';

function container(rootless = false): { id: string; pid: number; info: NetworkInfo } {
  const id = newId();
  let info: NetworkInfo | undefined;
  const s = spawnProcess({
    flags: CLONE.NEWNET | CLONE.NEWUTS,
    program: new Program().execve(BUSYBOX, ['sleep', '30'], []),
    beforeContinue: (pid) => {
      started.set(id, pid);
      info = setupNetwork({ id, pid, rootless, ownNetns: true });
    },
  });
  return { id, pid: s.pid, info: info! };
}

function stop(id: string): void {
  const pid = started.get(id);
  if (pid === undefined) return;
  started.delete(id);
  kill(pid, 9, 3);
  reapBlocking(pid);
}

const ping = (pid: number, address: string): number | null =>
  spawnSync('nsenter', [`--net=/proc/${pid}/ns/net`, BUSYBOX, 'ping', '-c1', '-W2', address], { encoding: 'utf8' }).status;

const leaseFiles = (): string[] => (existsSync(IPS_DIR) ? readdirSync(IPS_DIR) : []);

after(() => {
  for (const id of [...started.keys()]) {
    stop(id);
    teardownNetwork(id);
  }
  // the bridge stays: another test file may be launching onto it right now; scripts/test.mjs
  // removes it once every file is done, when the run created it
});

describe('network: rootful bridge', () => {
  test('two containers get addresses, ping each other and the host bridge; interfaces() shows both sides', () => {
    const a = container();
    const b = container();
    try {
      for (const c of [a, b]) {
        assert.equal(c.info.mode, 'bridge');
        assert.match(c.info.address!, /^10\.88\.0\.(\d+)$/);
        assert.equal(c.info.gateway, '10.88.0.1');
        assert.equal(c.info.hostVeth, hostVethName(c.id));
      }
      assert.notEqual(a.info.address, b.info.address);
      assert.equal(ping(a.pid, b.info.address!), 0, 'a → b');
      assert.equal(ping(b.pid, a.info.address!), 0, 'b → a');
      assert.equal(ping(a.pid, '10.88.0.1'), 0, 'a → host bridge');
      assert.equal(ping(b.pid, '127.0.0.1'), 0, 'loopback is up');

      const inside = interfaces(a.pid);
      assert.deepEqual(inside.map((i) => i.name).sort(), ['eth0', 'lo']);
      const eth0 = inside.find((i) => i.name === 'eth0')!;
      assert.equal(eth0.kind, 'veth');
      assert.ok(eth0.up);
      assert.ok(eth0.addresses.some((x) => x.family === 'inet' && x.address === a.info.address && x.prefixLength === 24));
      assert.ok(inside.find((i) => i.name === 'lo')!.up);

      const host = interfaces('host', 0);
      const bridge = host.find((i) => i.name === BRIDGE);
      assert.ok(bridge, 'locker0 on the host');
      assert.equal(bridge.kind, 'bridge');
      assert.ok(bridge.addresses.some((x) => x.address === '10.88.0.1' && x.prefixLength === 24));
      const veth = host.find((i) => i.name === a.info.hostVeth)!;
      assert.equal(veth.master, BRIDGE);
      // The two ends name each other: the side-by-side view can draw the cable.
      assert.equal(eth0.peerIndex, veth.index);
      assert.equal(veth.peerIndex, eth0.index);
      assert.ok(!host.some((i) => i.addresses.some((x) => x.address === a.info.address)), 'the container address is not on the host');
    } finally {
      for (const c of [a, b]) {
        stop(c.id);
        teardownNetwork(c.id);
      }
    }
  });

  test('teardown removes the veth and the address lease, and is idempotent', () => {
    const c = container();
    assert.ok(lockerVeths().includes(c.info.hostVeth!));
    assert.ok(leaseFiles().includes(c.info.address!));
    teardownNetwork(c.id); // while the process still runs: the peer goes with the host end
    assert.ok(!existsSync(`/sys/class/net/${c.info.hostVeth}`));
    assert.ok(!leaseFiles().includes(c.info.address!));
    assert.ok(!interfaces(c.pid, 0).some((i) => i.name === 'eth0'));
    stop(c.id);
    teardownNetwork(c.id);
    assert.ok(!leases().some((l) => l.id === c.id));
  });

  test('a freed address is reused: the lowest free one is taken', () => {
    const a = container();
    const b = container();
    const freed = a.info.address!;
    stop(a.id);
    teardownNetwork(a.id);
    const c = container();
    try {
      const n = (s: string): number => Number(s.split('.')[3]);
      assert.ok(n(c.info.address!) <= n(freed), `${c.info.address} should not be above the freed ${freed}`);
      assert.notEqual(c.info.address, b.info.address);
    } finally {
      for (const x of [b, c]) {
        stop(x.id);
        teardownNetwork(x.id);
      }
    }
  });

  test('sweep after a crash: the dead container\'s lease and veth go, a live one stays', async () => {
    const dead = container();
    const live = container();
    try {
      stop(dead.id); // no teardown: as if the runtime had crashed
      const removed = sweepStaleNetwork();
      assert.ok(removed.addresses.includes(dead.info.address!));
      assert.ok(!leaseFiles().includes(dead.info.address!));
      await until(() => !existsSync(`/sys/class/net/${dead.info.hostVeth}`));
      assert.ok(leaseFiles().includes(live.info.address!));
      assert.ok(lockerVeths().includes(live.info.hostVeth!));
      assert.equal(ping(live.pid, '10.88.0.1'), 0);
      // isAlive may vouch for a container whose process this machine cannot see (other owner).
      assert.deepEqual(sweepStaleNetwork(() => true).addresses, []);
    } finally {
      stop(live.id);
      teardownNetwork(live.id);
      teardownNetwork(dead.id);
    }
  });

  test('addresses are unique across concurrent processes', async () => {
    // Each holds its lease until every one has allocated (stdin closes): a lease released early could
    // rightly be handed to a slower starter, which is no duplicate.
    const script = `const a=require(${JSON.stringify(join(__dirname, 'addresses.js'))});const l=a.allocateAddress(process.argv[1], process.pid);process.stdout.write(l.address+'\\n');process.stdin.resume();process.stdin.on('end',()=>a.releaseAddress(l.address))`;
    const ids = Array.from({ length: 8 }, () => newId());
    const children = ids.map((id) => spawn(process.execPath, ['-e', script, id], { stdio: ['pipe', 'pipe', 'inherit'] }));
    const outs = await Promise.all(children.map((child) => new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d) => {
        out += d;
        if (out.endsWith('\n')) resolve(out.trim());
      });
      child.on('close', (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(`allocator exited ${code}`))));
    })));
    await Promise.all(children.map((child) => new Promise<void>((resolve) => {
      child.on('close', () => resolve());
      child.stdin.end();
    })));
    assert.equal(new Set(outs).size, outs.length, `duplicates in ${outs.join(' ')}`);
    for (const o of outs) assert.match(o, /^10\.88\.0\.\d+$/);
    assert.ok(!leases().some((l) => ids.includes(l.id)));
  });

  test('refuses to configure a process that is in the host\'s network namespace', () => {
    const before = interfaces('host', 0).map((i) => `${i.name} ${i.addresses.map((a) => a.address).join(',')}`);
    assert.throws(() => setupNetwork({ id: newId(), pid: process.pid, rootless: false, ownNetns: true }), /host's network namespace/);
    assert.throws(() => setupNetwork({ id: newId(), pid: process.pid, rootless: true, ownNetns: true }), /host's network namespace/);
    assert.deepEqual(interfaces('host', 0).map((i) => `${i.name} ${i.addresses.map((a) => a.address).join(',')}`), before);
  });

  test('without a net namespace nothing is done', () => {
    assert.deepEqual(setupNetwork({ id: newId(), pid: process.pid, rootless: false, ownNetns: false }), { mode: 'host', note: HOST_NOTE });
  });
});

describe('network: rootless', () => {
  const moduleDir = __dirname;
  ensureTestUser(); // before asking what the user can read: a missing user would skip the test silently
  const readable = spawnSync('runuser', ['-u', TEST_USER, '--', 'test', '-r', join(moduleDir, 'setup.js')]).status === 0;

  // Where pasta can run for the test user, a rootless container gets it instead (publish.test.ts).
  const tools = userModeTools();
  const pastaRuns = Boolean(tools.pasta && spawnSync('runuser', ['-u', TEST_USER, '--', 'test', '-r', TUN, '-a', '-w', TUN]).status === 0);
  test('loopback only, up, with the explanation; no veth, no lease', { skip: !readable ? 'the build dir is not readable by the test user' : pastaRuns ? 'pasta runs for the test user here' : false }, async () => {
    ensureTestUser();
    // The test user makes a user+net namespace and then, as its owner, sets it up through the module.
    const owner = spawn('runuser', ['-u', TEST_USER, '--', 'unshare', '--user', '--map-root-user', '--net', BUSYBOX, 'sleep', '30'], { stdio: 'ignore' });
    let pid = 0;
    try {
      // runuser forks: the sleeper (unshare execs it) is its child.
      pid = await until(() => {
        const p = Number(readdirSync('/proc').find((d) => /^\d+$/.test(d) && childOf(Number(d), owner.pid!)));
        return p > 0 && readLinkSafe(`/proc/${p}/ns/net`) !== readLinkSafe('/proc/self/ns/net') ? p : undefined;
      });
      const id = newId();
      const veths = lockerVeths();
      const leaseCount = leaseFiles().length;
      const js = `const n=require(${JSON.stringify(join(moduleDir, 'index.js'))});` +
        `const info=n.setupNetwork({id:${JSON.stringify(id)},pid:${pid},rootless:true,ownNetns:true});` +
        `console.log(JSON.stringify({info,inside:n.interfaces(${pid})}))`;
      const r = spawnSync('runuser', ['-u', TEST_USER, '--', process.execPath, '-e', js], { encoding: 'utf8', cwd: '/tmp' });
      assert.equal(r.status, 0, r.stderr);
      const { info, inside } = JSON.parse(r.stdout) as { info: NetworkInfo; inside: Array<{ name: string; up: boolean }> };
      assert.equal(info.mode, 'loopback');
      // The note says why, and what would give more: pasta, when it cannot run here, or installing it.
      assert.match(info.note ?? '', new RegExp(`^${escape(ROOTLESS_NOTE)}; (pasta cannot run: /dev/net/tun |install passt \\(pasta\\) for outbound network and -p$)`));
      assert.deepEqual(inside.map((i) => i.name), ['lo']);
      assert.ok(inside[0].up);
      const p = spawnSync('runuser', ['-u', TEST_USER, '--', 'nsenter', `--user=/proc/${pid}/ns/user`, `--net=/proc/${pid}/ns/net`, '--preserve-credentials', BUSYBOX, 'ping', '-c1', '-W2', '127.0.0.1']);
      assert.equal(p.status, 0, 'ping 127.0.0.1 inside');
      assert.deepEqual(lockerVeths(), veths);
      assert.equal(leaseFiles().length, leaseCount);
    } finally {
      if (pid > 0) kill(pid, 9, 3);
      owner.kill('SIGKILL');
      await new Promise((r) => (owner.exitCode !== null || owner.signalCode !== null ? r(null) : owner.once('exit', r)));
    }
  });
});

const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function childOf(pid: number, parent: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === parent;
  } catch {
    return false;
  }
}

function readLinkSafe(p: string): string {
  try {
    return readlinkSync(p);
  } catch {
    return '';
  }
}
