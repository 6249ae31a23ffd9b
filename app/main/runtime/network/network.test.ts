// Container networking on the real kernel: processes in new network namespaces (spawnProcess, as
// the runtime makes them, their own netlink steps first) get a veth into locker0, ping each other
// and the host bridge address, and leave nothing behind. What rtnetlink makes is checked with the
// real `ip` against what the `ip -batch` scripts Locker used before make. Only 10.88.0.0/24 and
// loopback are ever addressed.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { CLONE } from '../../../../native/constants';
import { kill, reapBlocking } from '../../../../native/libc';
import { Program } from '../../../../native/program';
import { spawnProcess, spawnProcessStepwise } from '../../../../native/spawn';
import { Stepper } from '../../../../native/stepper';
import { syscallLog, type SyscallEntry } from '../../../../native/syscall-log';
import { ensureTestUser, TEST_USER, until } from '../../testing/harness';
import { allocateAddress, IPS_DIR, leases } from './addresses';
import { interfaces } from './interfaces';
import { NETLINK_ROUTE, withNetlink } from './netlink';
import { newAddress } from './rtnetlink';
import { lockerNatTables, natTableName } from './nat';
import { TUN, userModeTools } from './usermode';
import {
  BRIDGE, HOST_NOTE, ROOTLESS_NOTE, addContainerSteps, containerNetworkError, hostVethName, lockerVeths, planNetwork, prepareNetwork, setupNetwork,
  sweepStaleNetwork, teardownNetwork, type NetworkInfo, type NetworkPlan, type PreparedNetwork,
} from './setup';

const BUSYBOX = '/bin/busybox';
const started = new Map<string, number>();

/** A test-unique container id: 12 hex digits, the first 10 distinct per call (they name the veth). */
let serial = 0;
const newId = (): string => (0xe0000000 + process.pid * 64 + serial++).toString(16).padStart(10, '0').slice(-10) + 'ff';

/**
 * A process in a new net namespace networked as the runtime does it: its own steps first, the host's half while it waits.
 * prepare: the part that needs no pid made while it is cloned, as a launch makes it (prepareNetwork).
 */
function container(opts: { rootless?: boolean; beforeSetup?: (pid: number) => void; prepare?: boolean } = {}): { id: string; pid: number; info: NetworkInfo } {
  const id = newId();
  const net = planNetwork({ id, rootless: opts.rootless ?? false, ownNetns: true });
  let info: NetworkInfo | undefined;
  let prepared: PreparedNetwork | undefined;
  const s = spawnProcess({
    flags: CLONE.NEWNET | CLONE.NEWUTS,
    program: sleeper(net),
    light: opts.prepare,
    whileCloning: opts.prepare ? () => void (prepared = prepareNetwork(net)) : undefined,
    beforeContinue: (pid) => {
      started.set(id, pid);
      opts.beforeSetup?.(pid);
      info = setupNetwork(net, pid, prepared);
    },
  });
  return { id, pid: s.pid, info: info! };
}

function sleeper(net: NetworkPlan): Program {
  const program = new Program();
  addContainerSteps(program, net);
  return program.execve(BUSYBOX, ['sleep', '30'], []);
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
  test('two containers get addresses, ping each other and the host bridge; interfaces() shows both sides', async () => {
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

      const inside = await interfaces(a.pid);
      assert.deepEqual(inside.map((i) => i.name).sort(), ['eth0', 'lo']);
      const eth0 = inside.find((i) => i.name === 'eth0')!;
      assert.equal(eth0.kind, 'veth');
      assert.ok(eth0.up);
      assert.ok(eth0.addresses.some((x) => x.family === 'inet' && x.address === a.info.address && x.prefixLength === 24));
      assert.ok(inside.find((i) => i.name === 'lo')!.up);

      const host = await interfaces('host', 0);
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

  test('teardown removes the veth and the address lease, and is idempotent', async () => {
    const c = container();
    assert.ok(lockerVeths().includes(c.info.hostVeth!));
    assert.ok(leaseFiles().includes(c.info.address!));
    teardownNetwork(c.id); // while the process still runs: the peer goes with the host end
    assert.ok(!existsSync(`/sys/class/net/${c.info.hostVeth}`));
    assert.ok(!leaseFiles().includes(c.info.address!));
    assert.ok(!(await interfaces(c.pid, 0)).some((i) => i.name === 'eth0'));
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

  test('refuses to configure a process that is in the host\'s network namespace', async () => {
    // Other test files' containers come and go meanwhile (two run at once): their lk* veths are not looked at.
    const ids = [newId(), newId()];
    const ours = new Set(ids.map(hostVethName));
    const listed = async (): Promise<string[]> => (await interfaces('host', 0)).filter((i) => !i.name.startsWith('lk') || ours.has(i.name)).map((i) => `${i.name} ${i.addresses.map((a) => a.address).join(',')}`);
    const before = await listed();
    for (const [n, rootless] of [false, true].entries()) {
      const id = ids[n];
      try {
        assert.throws(() => setupNetwork(planNetwork({ id, rootless, ownNetns: true }), process.pid), /host's network namespace/);
      } finally {
        teardownNetwork(id);
      }
    }
    assert.deepEqual(await listed(), before);
  });

  test('made partly while the clone is made (prepareNetwork: the NAT table, ip_forward): networked the same; a refused pid undoes it', () => {
    const c = container({ prepare: true });
    try {
      assert.equal(c.info.mode, 'bridge');
      assert.equal(ping(c.pid, '10.88.0.1'), 0, 'to the host bridge');
      assert.ok(lockerNatTables().includes(natTableName(c.info.hostVeth!)));
    } finally {
      stop(c.id);
      teardownNetwork(c.id);
    }
    const id = newId();
    const table = natTableName(hostVethName(id));
    const net = planNetwork({ id, rootless: false, ownNetns: true });
    try {
      const prepared = prepareNetwork(net);
      assert.ok(lockerNatTables().includes(table));
      assert.throws(() => setupNetwork(net, process.pid, prepared), /host's network namespace/);
      assert.ok(!lockerNatTables().includes(table), 'the prepared table is gone with the refusal');
    } finally {
      teardownNetwork(id);
    }
  });

  test('without a net namespace nothing is done', () => {
    const net = planNetwork({ id: newId(), rootless: false, ownNetns: false });
    assert.deepEqual(net.inContainer, []);
    assert.deepEqual(setupNetwork(net, process.pid), { mode: 'host', note: HOST_NOTE });
  });
});

/** `ip ARGS` (JSON) on the host or, with pid, inside its network namespace: the real tool as the peer that checks our netlink. */
function ipJson(pid: number | undefined, args: string[]): Array<Record<string, unknown>> {
  const r = pid === undefined ? spawnSync('ip', args, { encoding: 'utf8' }) : spawnSync('nsenter', [`--net=/proc/${pid}/ns/net`, 'ip', ...args], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout || '[]') as Array<Record<string, unknown>>;
}

/** What a person compares: names, flags, state, master, IPv4 addresses and routes; not indexes, MACs or netns ids, which differ per run. */
function normalized(value: unknown, address: string, veth: string): unknown {
  const volatile = new Set(['ifindex', 'link_index', 'address', 'broadcast', 'link_netnsid']);
  const walk = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.filter((x) => (x as { family?: string })?.family !== 'inet6').map(walk);
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).filter(([k]) => !volatile.has(k)).map(([k, x]) => [k, walk(x)]));
    return v === address ? 'ADDRESS' : v === veth ? 'VETH' : v;
  };
  return walk(value);
}

/** The container's interfaces and routes and its host end, as `ip -j` shows them once both ends are up (the kernel's linkwatch sets operstate a moment later). */
async function view(pid: number, address: string, veth: string): Promise<{ inside: unknown; routes: unknown; host: unknown }> {
  await until(() => ipJson(pid, ['-j', 'link', 'show', 'eth0'])[0]?.operstate === 'UP' && ipJson(undefined, ['-j', 'link', 'show', veth])[0]?.operstate === 'UP', 20_000);
  return {
    inside: normalized(ipJson(pid, ['-j', 'addr']), address, veth),
    routes: normalized(ipJson(pid, ['-j', 'route']), address, veth),
    host: normalized(ipJson(undefined, ['-j', 'link', 'show', veth]), address, veth),
  };
}

/** A container networked the way Locker did before rtnetlink: the two `ip -batch` scripts, for comparison. */
function legacyContainer(): { id: string; pid: number; address: string; veth: string } {
  const id = newId();
  const veth = hostVethName(id);
  let address = '';
  const s = spawnProcess({
    flags: CLONE.NEWNET | CLONE.NEWUTS,
    program: new Program().execve(BUSYBOX, ['sleep', '30'], []),
    beforeContinue: (pid) => {
      started.set(id, pid);
      address = allocateAddress(id, pid).address;
      const batch = (args: string[], script: string): void => {
        const r = spawnSync(args[0], args.slice(1), { input: script, encoding: 'utf8' });
        assert.equal(r.status, 0, r.stderr);
      };
      batch(['ip', '-batch', '-'], `link add ${veth} type veth peer name eth0 netns ${pid}\nlink set ${veth} master ${BRIDGE} up\n`);
      batch(['nsenter', `--net=/proc/${pid}/ns/net`, 'ip', '-batch', '-'],
        `link set lo up\naddr add ${address}/24 dev eth0\nlink set eth0 up\nroute add default via 10.88.0.1 dev eth0\n`);
    },
  });
  return { id, pid: s.pid, address, veth };
}

const hostRows = (log: SyscallEntry[]): string[] => log.map((e) => `${e.where} ${e.name}(${e.args})${e.errno ? ` ${e.errno}` : ''}`);

describe('network: rtnetlink, checked with ip', () => {
  test('a container is networked exactly as the old ip -batch scripts did it: names, address, route, master, up', async () => {
    const ours = container();
    const legacy = legacyContainer();
    try {
      const a = await view(ours.pid, ours.info.address!, ours.info.hostVeth!);
      const b = await view(legacy.pid, legacy.address, legacy.veth);
      assert.deepEqual(a, b);
      // And what that is, spelled out:
      const inside = a.inside as Array<{ ifname: string; flags: string[]; addr_info: unknown[] }>;
      assert.deepEqual(inside.map((l) => [l.ifname, l.flags]), [['lo', ['LOOPBACK', 'UP', 'LOWER_UP']], ['eth0', ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP']]]);
      assert.deepEqual((inside[1].addr_info as Array<Record<string, unknown>>).map((x) => [x.local, x.prefixlen, x.scope, x.label]), [['ADDRESS', 24, 'global', 'eth0']]);
      assert.deepEqual(a.routes, [
        { dst: 'default', gateway: '10.88.0.1', dev: 'eth0', flags: [] },
        { dst: '10.88.0.0/24', dev: 'eth0', protocol: 'kernel', scope: 'link', prefsrc: 'ADDRESS', flags: [] },
      ]);
      assert.equal((a.host as Array<{ master?: string }>)[0].master, BRIDGE);
      assert.ok(((a.host as Array<{ flags: string[] }>)[0].flags).includes('UP'));
      const bridge = ipJson(undefined, ['-j', 'addr', 'show', BRIDGE])[0] as { flags: string[]; addr_info: Array<Record<string, unknown>> };
      assert.ok(bridge.flags.includes('UP'));
      assert.deepEqual(bridge.addr_info.filter((x) => x.family === 'inet').map((x) => [x.local, x.prefixlen, x.scope]), [['10.88.0.1', 24, 'global']]);
    } finally {
      for (const c of [ours.id, legacy.id]) {
        stop(c);
        teardownNetwork(c);
      }
    }
    for (const v of [ours.info.hostVeth!, legacy.veth]) assert.ok(!existsSync(`/sys/class/net/${v}`), `${v} is gone`);
  });

  test('the bridge made over netlink is the one `ip link add type bridge` makes (in a scratch namespace)', () => {
    const ours = `const nl=require(${JSON.stringify(join(__dirname, 'netlink.js'))});const rt=require(${JSON.stringify(join(__dirname, 'rtnetlink.js'))});` +
      `const fs=require('fs');nl.withNetlink(0,(s)=>{const b=rt.newBridge('locker0');s.request(b.what,b.message);` +
      `const index=Number(fs.readFileSync('/sys/class/net/locker0/ifindex','utf8'));const a=rt.newAddress('10.88.0.1',24,{name:'locker0',index},true);` +
      `s.request(a.what,a.message);s.request(a.what,a.message);const u=rt.linkUp('locker0');s.request(u.what,u.message);});` +
      `process.stdout.write(require('child_process').execFileSync('ip',['-j','-d','addr','show','locker0'],{encoding:'utf8'}))`;
    // A sysfs of the new namespace: the bridge's index is read from /sys/class/net.
    const mine = spawnSync('unshare', ['--net', '--mount', 'sh', '-c', 'mount -t sysfs sysfs /sys && exec "$0" -e "$1"', process.execPath, ours], { encoding: 'utf8' });
    assert.equal(mine.status, 0, mine.stderr);
    const theirs = spawnSync('unshare', ['--net', 'sh', '-c', 'ip link add locker0 type bridge && ip addr replace 10.88.0.1/24 dev locker0 && ip addr replace 10.88.0.1/24 dev locker0 && ip link set locker0 up && ip -j -d addr show locker0'], { encoding: 'utf8' });
    assert.equal(theirs.status, 0, theirs.stderr);
    const shape = (text: string): unknown => {
      const [l] = JSON.parse(text) as Array<{ ifname: string; flags: string[]; mtu: number; linkinfo: { info_kind: string }; addr_info: Array<Record<string, unknown>> }>;
      return { name: l.ifname, flags: l.flags, mtu: l.mtu, kind: l.linkinfo.info_kind, inet: l.addr_info.filter((x) => x.family === 'inet') };
    };
    assert.deepEqual(shape(mine.stdout), shape(theirs.stdout));
  });

  test('every netlink call is a readable syscall-log row; no ip, no nsenter is spawned', () => {
    const log: SyscallEntry[] = [];
    const unsubscribe = syscallLog.subscribe((e) => log.push(e));
    let c: ReturnType<typeof container> | undefined;
    try {
      c = container();
    } finally {
      unsubscribe();
    }
    try {
      const rows = hostRows(log);
      const veth = c.info.hostVeth!;
      const expected = [
        'host socket(AF_NETLINK, SOCK_RAW|SOCK_CLOEXEC, NETLINK_ROUTE)',
        `host sendmsg(NETLINK_ROUTE, RTM_NEWADDR 10.88.0.1/24 dev ${BRIDGE} (replace))`,
        `host sendmsg(NETLINK_ROUTE, RTM_NEWLINK ${BRIDGE} up)`,
        `host sendmsg(NETLINK_ROUTE, RTM_NEWLINK veth ${veth} master ${BRIDGE} up, peer eth0 netns ${c.pid})`,
        'child sendmsg(NETLINK_ROUTE, RTM_NEWLINK lo up)',
        `child sendmsg(NETLINK_ROUTE, RTM_NEWADDR ${c.info.address}/24 dev eth0)`,
        'child sendmsg(NETLINK_ROUTE, RTM_NEWLINK eth0 up)',
        'child sendmsg(NETLINK_ROUTE, RTM_NEWROUTE default via 10.88.0.1 dev eth0)',
      ];
      let at = 0;
      for (const row of expected) {
        const found = rows.indexOf(row, at);
        assert.ok(found >= 0, `${row}\nnot in order in:\n${rows.join('\n')}`);
        at = found + 1;
      }
      assert.ok(!log.some((e) => e.name === 'execve' && e.where === 'host' && /(^|\/)(ip|nsenter)\b/.test(e.args)), rows.join('\n'));
    } finally {
      stop(c.id);
      teardownNetwork(c.id);
    }
  });

  test('a host interface already named like the veth: one line, it stays, and nothing of ours is left', () => {
    let taken = '';
    let id = '';
    let guard: ReturnType<typeof allocateAddress> | undefined;
    try {
      assert.throws(() => container({
        beforeSetup: (pid) => {
          id = [...started].find(([, p]) => p === pid)![0];
          taken = hostVethName(id);
          // A lease of the test's own for the id: a concurrent sweep leaves the foreign interface alone.
          guard = allocateAddress(id, process.pid);
          // Made after planNetwork looked: the kernel's EEXIST is what says so.
          const r = spawnSync('ip', ['link', 'add', taken, 'type', 'bridge'], { encoding: 'utf8' });
          assert.equal(r.status, 0, r.stderr);
        },
      }), (e: Error) => e.message === `the host interface ${taken} exists already (a leftover?); remove it with: ip link del ${taken}`);
      assert.equal((ipJson(undefined, ['-j', '-d', 'link', 'show', taken])[0] as { linkinfo?: { info_kind?: string } }).linkinfo?.info_kind, 'bridge', 'the foreign interface is left alone');
      assert.deepEqual(leases().filter((l) => l.id === id).map((l) => l.address), [guard!.address], 'no lease but the test\'s own');
      // Nothing of ours: no NAT table for the id. (The host's whole lists are not compared: other test
      // files' containers come and go meanwhile.)
      assert.deepEqual(lockerNatTables().filter((t) => t === natTableName(taken)), []);
    } finally {
      if (taken) spawnSync('ip', ['link', 'del', taken]);
      started.delete(id);
      if (id) teardownNetwork(id);
    }
  });

  test('a container step that fails (no eth0 to address) is one line naming it; teardown leaves nothing', () => {
    const id = newId();
    const net = planNetwork({ id, rootless: false, ownNetns: true });
    let pid = 0;
    try {
      // The host's half is left out: the container finds no eth0.
      assert.throws(() => spawnProcess({ flags: CLONE.NEWNET, program: sleeper(net), beforeContinue: (p) => { pid = p; } }), (e: unknown) => {
        const mapped = containerNetworkError(e);
        assert.equal(mapped?.message, `cannot set up the container's network: sendmsg(NETLINK_ROUTE, RTM_NEWADDR ${net.lease!.address}/24 dev eth0) failed: ENODEV (No such device)`);
        return true;
      });
      assert.ok(pid > 0 && !existsSync(`/proc/${pid}/ns`), 'the child is gone');
    } finally {
      teardownNetwork(id);
    }
    assert.ok(!leases().some((l) => l.id === id));
    assert.ok(!existsSync(`/sys/class/net/${hostVethName(id)}`));
  });

  test('step-through pauses before each of the container\'s netlink calls', async () => {
    const id = newId();
    const net = planNetwork({ id, rootless: false, ownNetns: true });
    const stepper = new Stepper();
    const pending: string[] = [];
    stepper.onChange((st) => {
      if (st.state !== 'paused' || !st.pending) return;
      pending.push(`${st.pending.name}(${st.pending.args})`);
      // Before lo's request is released, the host's half is there already: the veth exists.
      if (pending.length === 1) assert.ok(existsSync(`/sys/class/net/${hostVethName(id)}`));
      setImmediate(() => stepper.next());
    });
    try {
      const s = await spawnProcessStepwise({
        flags: CLONE.NEWNET, program: sleeper(net), stepper,
        beforeContinue: (pid) => {
          started.set(id, pid);
          setupNetwork(net, pid);
        },
      });
      assert.deepEqual(pending.slice(0, 4), [
        'sendmsg(NETLINK_ROUTE, RTM_NEWLINK lo up)',
        `sendmsg(NETLINK_ROUTE, RTM_NEWADDR ${net.lease!.address}/24 dev eth0)`,
        'sendmsg(NETLINK_ROUTE, RTM_NEWLINK eth0 up)',
        'sendmsg(NETLINK_ROUTE, RTM_NEWROUTE default via 10.88.0.1 dev eth0)',
      ]);
      assert.equal(ping(s.pid, '10.88.0.1'), 0);
    } finally {
      stop(id);
      teardownNetwork(id);
    }
  });
});

describe('network: rootless', () => {
  const moduleDir = __dirname;
  ensureTestUser(); // before asking what the user can read: a missing user would skip the test silently
  const readable = spawnSync('runuser', ['-u', TEST_USER, '--', 'test', '-r', join(moduleDir, 'setup.js')]).status === 0;

  // Where pasta can run for the test user, a rootless container gets it instead (publish.test.ts).
  const tools = userModeTools();
  const pastaRuns = Boolean(tools.pasta && spawnSync('runuser', ['-u', TEST_USER, '--', 'test', '-r', TUN, '-a', '-w', TUN]).status === 0);
  test('loopback only, up, brought up by the container itself, with the explanation; no veth, no lease', { skip: !readable ? 'the build dir is not readable by the test user' : pastaRuns ? 'pasta runs for the test user here' : false }, () => {
    ensureTestUser();
    const id = newId();
    // The test user launches as the runtime does: a user+net namespace of its own, whose lo its
    // process brings up (it holds CAP_NET_ADMIN there, the runtime does not), no nsenter, no ip.
    const build = join(moduleDir, '..', '..', '..', '..');
    const js = `const n=require(${JSON.stringify(join(moduleDir, 'index.js'))});` +
      `const {spawnProcess}=require(${JSON.stringify(join(build, 'native', 'spawn.js'))});` +
      `const {Program}=require(${JSON.stringify(join(build, 'native', 'program.js'))});` +
      `const {kill,reapBlocking}=require(${JSON.stringify(join(build, 'native', 'libc.js'))});` +
      `const {syscallLog}=require(${JSON.stringify(join(build, 'native', 'syscall-log.js'))});` +
      `const fs=require('fs');const log=[];syscallLog.subscribe((e)=>log.push(e.where+' '+e.name+'('+e.args+')'));` +
      `const net=n.planNetwork({id:${JSON.stringify(id)},rootless:true,ownNetns:true});` +
      `const p=new Program();n.addContainerSteps(p,net);p.execve(${JSON.stringify(BUSYBOX)},['sleep','30'],[]);let info;` +
      `const s=spawnProcess({flags:${CLONE.NEWUSER | CLONE.NEWNET},program:p,beforeContinue:(pid)=>{` +
      'fs.writeFileSync(`/proc/${pid}/setgroups`,"deny");fs.writeFileSync(`/proc/${pid}/uid_map`,`0 ${process.getuid()} 1`);' +
      'fs.writeFileSync(`/proc/${pid}/gid_map`,`0 ${process.getgid()} 1`);info=n.setupNetwork(net,pid);}});' +
      `const launched=log.slice();n.interfaces(s.pid).then((inside)=>{` +
      `const ping=require('child_process').spawnSync('nsenter',['--user=/proc/'+s.pid+'/ns/user','--net=/proc/'+s.pid+'/ns/net','--preserve-credentials',${JSON.stringify(BUSYBOX)},'ping','-c1','-W2','127.0.0.1']).status;` +
      `kill(s.pid,9,3);reapBlocking(s.pid);console.log(JSON.stringify({info,inside,ping,log:launched}))},(e)=>{kill(s.pid,9,3);reapBlocking(s.pid);throw e})`;
    const r = spawnSync('runuser', ['-u', TEST_USER, '--', process.execPath, '-e', js], { encoding: 'utf8', cwd: '/tmp' });
    assert.equal(r.status, 0, r.stderr);
    const { info, inside, ping: pinged, log } = JSON.parse(r.stdout) as { info: NetworkInfo; inside: Array<{ name: string; up: boolean }>; ping: number; log: string[] };
    assert.equal(info.mode, 'loopback');
    // The note says why, and what would give more: pasta, when it cannot run here, or installing it.
    assert.match(info.note ?? '', new RegExp(`^${escape(ROOTLESS_NOTE)}; (pasta cannot run: /dev/net/tun |install passt \\(pasta\\) for outbound network and -p$)`));
    assert.deepEqual(inside.map((i) => i.name), ['lo']);
    assert.ok(inside[0].up);
    assert.equal(pinged, 0, 'ping 127.0.0.1 inside');
    assert.ok(log.includes('child sendmsg(NETLINK_ROUTE, RTM_NEWLINK lo up)'), log.join('\n'));
    assert.ok(!log.some((l) => / execve\(/.test(l) && l.startsWith('host')), `no tool was spawned:\n${log.join('\n')}`);
    // No veth and no lease for the id (other test files' containers come and go meanwhile).
    assert.ok(!lockerVeths().includes(hostVethName(id)));
    assert.ok(!leases().some((l) => l.id === id));
  });
});

describe('network: the kernel\'s refusals', () => {
  test('a refused request says why in the kernel\'s words (extended ack), on one line', () => {
    // a prefix longer than 32 bits on lo: refused before anything is made
    const r = newAddress('10.88.0.250', 40, { name: 'lo', index: 1 });
    assert.throws(() => withNetlink(NETLINK_ROUTE, (nl) => nl.request(r.what, r.message)),
      // the words are the kernel's own (this one: "ipv4: Invalid prefix length")
      (e: Error) => /^sendmsg\(NETLINK_ROUTE, RTM_NEWADDR 10\.88\.0\.250\/40 dev lo\) failed: EINVAL \(Invalid argument: [^\n]*prefix[^\n]*\)$/.test(e.message));
  });
});

const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
