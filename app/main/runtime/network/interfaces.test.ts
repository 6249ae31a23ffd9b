// Interfaces from netlink dumps. Pure: dump messages built byte by byte (the layout the kernel
// sends: ifinfomsg/ifaddrmsg and their attributes) read into exactly what `ip -j -d addr` gives.
// Real kernel: the dumps of the host and of a networked container (the runtime's veth into locker0,
// plus a same-namespace veth pair, a bridge and IPv6 addresses made with ip inside) equal
// parseIpAddrJson of the real `ip -j -d addr`, every field; and no thread of this process is left
// in the container's namespace afterwards.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readlinkSync } from 'node:fs';
import { after, describe, test } from 'node:test';
import { isDeepStrictEqual } from 'node:util';
import { CLONE } from '../../../../native/constants';
import { kill, reapBlocking } from '../../../../native/libc';
import { Program } from '../../../../native/program';
import { spawnProcess } from '../../../../native/spawn';
import { formatAddress, interfaces, interfacesFromDump, parseIpAddrJson } from './interfaces';
import { attr, message, nestedAttr, stringAttr, u32Attr, u8Attr, type ReceivedMessage } from './netlink';
import { RTM_NEWADDR, RTM_NEWLINK } from './rtnetlink';
import { addContainerSteps, planNetwork, setupNetwork, teardownNetwork } from './setup';
import type { NetworkInterface } from '../../../shared/types';

const received = (m: Buffer): ReceivedMessage => ({ type: m.readUInt16LE(4), flags: m.readUInt16LE(6), seq: 0, payload: m.subarray(16) });

/** An RTM_NEWLINK as the kernel sends it: ifinfomsg { family, pad, type, index, flags, change } and attributes. */
function link(index: number, type: number, flags: number, attrs: Buffer[]): ReceivedMessage {
  const ifi = Buffer.alloc(16);
  ifi.writeUInt16LE(type, 2);
  ifi.writeInt32LE(index, 4);
  ifi.writeUInt32LE(flags, 8);
  return received(message(RTM_NEWLINK, 2, ifi, attrs));
}

/** An RTM_NEWADDR: ifaddrmsg { family, prefixlen, flags, scope, index } and attributes. */
function address(family: number, prefix: number, scope: number, index: number, attrs: Buffer[]): ReceivedMessage {
  const ifa = Buffer.from([family, prefix, 0, scope, 0, 0, 0, 0]);
  ifa.writeUInt32LE(index, 4);
  return received(message(RTM_NEWADDR, 2, ifa, attrs));
}

const ETHER = 1;
const LOOPBACK = 772;
const IPIP = 768;
const mac = (s: string): Buffer => Buffer.from(s.split(':').map((x) => parseInt(x, 16)));
const v6 = (s: string): Buffer => Buffer.from(s.replace(/:/g, ''), 'hex');
const kind = (k: string): Buffer => nestedAttr(18, [stringAttr(1, k)]);

describe('interfaces from dump messages (pure)', () => {
  test('each field as ip shows it: state, UP, MAC, MTU, kind, master by name, the peer only when it is in another namespace', () => {
    const links = [
      link(1, LOOPBACK, 0x49, [stringAttr(3, 'lo'), u32Attr(4, 65536), u8Attr(16, 0), attr(1, mac('00:00:00:00:00:00'))]),
      // a veth whose peer is index 7 of namespace id 0; a counter-like attribute ip does not read
      link(2, ETHER, 0x1003, [stringAttr(3, 'eth0'), u32Attr(4, 1500), u8Attr(16, 6), attr(1, mac('0a:1B:02:ff:00:09')), u32Attr(5, 7), u32Attr(37, 0), attr(23, Buffer.alloc(24)), kind('veth')]),
      // a pair in this namespace: ip names its link (`link`), not `link_index`
      link(3, ETHER, 0x1002, [stringAttr(3, 'va'), u32Attr(4, 1500), u8Attr(16, 2), attr(1, mac('02:00:00:00:00:03')), u32Attr(5, 4), u32Attr(10, 5), kind('veth')]),
      link(4, ETHER, 0x1002, [stringAttr(3, 'vb'), u32Attr(4, 1500), u8Attr(16, 9), u32Attr(5, 3), u32Attr(10, 99), kind('veth')]),
      link(5, ETHER, 0x1003, [stringAttr(3, 'br9'), u32Attr(4, 1500), attr(1, mac('02:00:00:00:00:05')), kind('bridge')]),
      link(6, IPIP, 0x80, [stringAttr(3, 'tun0'), u32Attr(4, 1480), u8Attr(16, 2), attr(1, Buffer.from([10, 0, 0, 1])), u32Attr(5, 0), u32Attr(37, 1), kind('ipip')]),
    ];
    const addrs = [
      address(2, 8, 254, 1, [attr(1, Buffer.from([127, 0, 0, 1])), attr(2, Buffer.from([127, 0, 0, 1])), stringAttr(3, 'lo')]),
      // point to point: IFA_LOCAL is ours, IFA_ADDRESS the peer's
      address(2, 32, 0, 2, [attr(1, Buffer.from([10, 0, 0, 2])), attr(2, Buffer.from([10, 0, 0, 9]))]),
      address(2, 24, 100, 2, [attr(1, Buffer.from([10, 88, 0, 3]))]),
      address(10, 128, 254, 1, [attr(1, v6('0000:0000:0000:0000:0000:0000:0000:0001'))]),
      address(10, 64, 253, 2, [attr(1, v6('fe80:0000:0000:0000:0abc:0000:0000:0001'))]),
      // another family's address (AF_MPLS) and a message of another type are not interfaces' business
      address(28, 20, 0, 2, [attr(1, Buffer.from([0, 0, 1, 0]))]),
      { ...link(9, ETHER, 0, [stringAttr(3, 'ghost')]), type: 3 },
    ];
    const expected: NetworkInterface[] = [
      { name: 'lo', index: 1, state: 'UNKNOWN', up: true, mac: '00:00:00:00:00:00', mtu: 65536, kind: 'loopback', master: undefined, peerIndex: undefined, peerInOtherNamespace: undefined,
        addresses: [{ family: 'inet', address: '127.0.0.1', prefixLength: 8, scope: 'host' }, { family: 'inet6', address: '::1', prefixLength: 128, scope: 'host' }] },
      { name: 'eth0', index: 2, state: 'UP', up: true, mac: '0a:1b:02:ff:00:09', mtu: 1500, kind: 'veth', master: undefined, peerIndex: 7, peerInOtherNamespace: true,
        addresses: [{ family: 'inet', address: '10.0.0.9', prefixLength: 32, scope: 'global' }, { family: 'inet', address: '10.88.0.3', prefixLength: 24, scope: '100' },
          { family: 'inet6', address: 'fe80::abc:0:0:1', prefixLength: 64, scope: 'link' }] },
      { name: 'va', index: 3, state: 'DOWN', up: false, mac: '02:00:00:00:00:03', mtu: 1500, kind: 'veth', master: 'br9', peerIndex: undefined, peerInOtherNamespace: undefined, addresses: [] },
      { name: 'vb', index: 4, state: 'UNKNOWN', up: false, mac: '', mtu: 1500, kind: 'veth', master: 'if99', peerIndex: undefined, peerInOtherNamespace: undefined, addresses: [] },
      { name: 'br9', index: 5, state: 'UNKNOWN', up: true, mac: '02:00:00:00:00:05', mtu: 1500, kind: 'bridge', master: undefined, peerIndex: undefined, peerInOtherNamespace: undefined, addresses: [] },
      { name: 'tun0', index: 6, state: 'DOWN', up: false, mac: '10.0.0.1', mtu: 1480, kind: 'ipip', master: undefined, peerIndex: undefined, peerInOtherNamespace: undefined, addresses: [] },
    ];
    assert.deepStrictEqual(interfacesFromDump(links, addrs), expected);
  });

  test('IPv6 addresses are written as inet_ntop writes them', () => {
    const cases: Array<[string, string]> = [
      ['00000000000000000000000000000000', '::'],
      ['00000000000000000000000000000001', '::1'],
      ['20010db8000000000000000000000001', '2001:db8::1'],
      ['20010db8000000010000000000000001', '2001:db8:0:1::1'],
      // the first of two equally long zero runs
      ['20010db8000000000001000000000001', '2001:db8::1:0:0:1'],
      // one zero group is not compressed
      ['20010db8000100010001000100010000', '2001:db8:1:1:1:1:1:0'],
      ['00000000000000000000ffff01020304', '::ffff:1.2.3.4'],
      ['00000000000000000000000001020304', '::1.2.3.4'],
      ['fe800000000000000000000000000000', 'fe80::'],
    ];
    for (const [hex, text] of cases) assert.equal(formatAddress(Buffer.from(hex, 'hex')), text, hex);
  });
});

const BUSYBOX = '/bin/busybox';
const started = new Map<string, number>();
let serial = 0;
/** A test-unique container id (its first 10 hex digits name the host veth). */
const newId = (): string => (0xd0000000 + process.pid * 64 + serial++).toString(16).padStart(10, '0').slice(-10) + 'ee';

after(() => {
  for (const [id, pid] of started) {
    kill(pid, 9, 3);
    reapBlocking(pid);
    teardownNetwork(id);
  }
});

const run = (args: string[]): void => {
  const r = spawnSync(args[0], args.slice(1), { encoding: 'utf8' });
  assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
};

/** What the real ip lists, read by the reader ip's own output has always had. */
function ipView(pid: number | 'host'): NetworkInterface[] {
  const r = pid === 'host' ? spawnSync('ip', ['-j', '-d', 'addr'], { encoding: 'utf8' }) : spawnSync('nsenter', [`--net=/proc/${pid}/ns/net`, 'ip', '-j', '-d', 'addr'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return parseIpAddrJson(r.stdout);
}

/**
 * The dump and ip agree: ip is asked before and after (other tests may add a veth at any moment,
 * the kernel may change an operstate), and once both of ip's answers are the same the dump made
 * between them must be that.
 */
async function agreesWithIp(pid: number | 'host'): Promise<NetworkInterface[]> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const before = ipView(pid);
    const ours = await interfaces(pid, 0);
    const after = ipView(pid);
    const stable = JSON.stringify(before) === JSON.stringify(after);
    // Other test files' containers come and go (a veth, the bridge's state): a change can fall
    // between ip's reads and ours. Agreement once, while ip's answer holds still, is the check.
    if (stable && isDeepStrictEqual(ours, before)) return ours;
    if (Date.now() > deadline) {
      if (stable) assert.deepStrictEqual(ours, before);
      assert.fail(`ip kept changing its answer:\n${JSON.stringify(before)}\n${JSON.stringify(after)}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

const threadNetns = (): string[] => readdirSync('/proc/self/task').map((tid) => readlinkSync(`/proc/self/task/${tid}/ns/net`));

describe('interfaces from the kernel, beside ip', () => {
  test('the host: every interface and address as ip -j -d addr lists them', async () => {
    const host = await agreesWithIp('host');
    assert.ok(host.some((i) => i.name === 'lo' && i.kind === 'loopback'));
  });

  test('a networked container: its veth (peer on the host), a same-namespace veth pair on a bridge, IPv6; the host side too; no thread stays inside', async () => {
    const id = newId();
    const net = planNetwork({ id, rootless: false, ownNetns: true });
    const program = new Program();
    addContainerSteps(program, net);
    let info: ReturnType<typeof setupNetwork> | undefined;
    const s = spawnProcess({
      flags: CLONE.NEWNET | CLONE.NEWUTS,
      program: program.execve(BUSYBOX, ['sleep', '60'], []),
      beforeContinue: (pid) => {
        started.set(id, pid);
        info = setupNetwork(net, pid);
      },
    });
    const inside = (args: string): void => run(['nsenter', `--net=/proc/${s.pid}/ns/net`, 'ip', ...args.split(' ')]);
    inside('link add va type veth peer name vb');
    inside('link add br9 type bridge');
    inside('link set va master br9');
    inside('link set br9 up');
    inside('link set vb up');
    inside('-6 addr add 2001:db8::5/64 dev eth0 nodad');
    inside('addr add 10.77.0.1/32 peer 10.77.0.2 dev vb');

    const container = await agreesWithIp(s.pid);
    const eth0 = container.find((i) => i.name === 'eth0')!;
    assert.equal(eth0.kind, 'veth');
    assert.equal(eth0.peerInOtherNamespace, true);
    assert.ok(eth0.addresses.some((a) => a.address === info!.address && a.prefixLength === 24));
    assert.ok(eth0.addresses.some((a) => a.family === 'inet6' && a.address === '2001:db8::5'));
    assert.equal(container.find((i) => i.name === 'va')!.master, 'br9');
    const host = await agreesWithIp('host');
    assert.equal(host.find((i) => i.name === info!.hostVeth)!.index, eth0.peerIndex);

    const hostNetns = readlinkSync('/proc/self/ns/net');
    assert.deepEqual([...new Set(threadNetns())], [hostNetns], 'every thread of this process is in the host\'s network namespace');
  });

  test('a process that is gone: one line naming it', async () => {
    const s = spawnProcess({ flags: CLONE.NEWNET, program: new Program().execve(BUSYBOX, ['true'], []) });
    reapBlocking(s.pid);
    await assert.rejects(interfaces(s.pid, 0), (e: Error) => e.message.includes(String(s.pid)) && !e.message.includes('\n'));
  });
});
