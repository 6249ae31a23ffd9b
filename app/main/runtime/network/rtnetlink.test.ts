// The netlink encoding, byte for byte, without the kernel: nlmsghdr, attributes and their padding,
// nested attributes, the ack, and the rtnetlink requests the network setup sends (network.test.ts
// checks what the kernel makes of them against `ip`).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Program, OPCODES } from '../../../../native/program';
import { NLMSG_DONE, NLMSG_ERROR, NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL, NLM_F_REPLACE, NLM_F_REQUEST, ackErrno, ackMessage, attr, message, nestedAttr, parseAttrs, parseMessages, stringAttr, u32Attr } from './netlink';
import { RTM_DELLINK, RTM_GETADDR, RTM_GETLINK, RTM_NEWADDR, RTM_NEWLINK, RTM_NEWROUTE, delLink, dumpAddresses, dumpLinks, ipv4, linkUp, newAddress, newBridge, newDefaultRoute, newVeth } from './rtnetlink';

const hex = (b: Buffer): string => b.toString('hex');
const header = (m: Buffer): { len: number; type: number; flags: number } => ({ len: m.readUInt32LE(0), type: m.readUInt16LE(4), flags: m.readUInt16LE(6) });
const text = (b: Buffer | undefined): string => (b ? b.subarray(0, b.indexOf(0)).toString() : '');

describe('netlink encoding', () => {
  test('an attribute is length, type, payload padded to 4 bytes (the length does not count the padding)', () => {
    assert.equal(hex(stringAttr(3, 'lo')), '070003006c6f0000');
    assert.equal(hex(u32Attr(10, 5)), '08000a0005000000');
    assert.equal(hex(attr(1, Buffer.alloc(0))), '04000100');
    assert.equal(hex(nestedAttr(18, [stringAttr(1, 'veth')])), '10001200' + '09000100' + '7665746800000000');
    assert.equal(nestedAttr(1, [], true).readUInt16LE(2), 0x8001);
  });

  test('a message is nlmsghdr, the family header padded, the attributes; its length counts them all', () => {
    const m = message(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, Buffer.from([1, 2, 3]), [u32Attr(4, 1500)], 9);
    assert.equal(hex(m), '1c000000' + '1000' + '0500' + '09000000' + '00000000' + '01020300' + '08000400' + 'dc050000');
  });

  test('the kernel\'s answers: an ack is NLMSG_ERROR with 0 or -errno; a truncated tail is left out', () => {
    const ack = (seq: number, err: number): Buffer => {
      const b = message(NLMSG_ERROR, 0, Buffer.alloc(20), [], seq);
      b.writeInt32LE(err, 16);
      return b;
    };
    const two = Buffer.concat([ack(1, 0), ack(2, -17), Buffer.from([40, 0, 0, 0, 2, 0])]);
    const msgs = parseMessages(two);
    assert.deepEqual(msgs.map((m) => [m.type, m.seq, ackErrno(m)]), [[NLMSG_ERROR, 1, 0], [NLMSG_ERROR, 2, 17]]);
    assert.equal(ackErrno({ type: RTM_NEWLINK, flags: 0, seq: 1, payload: Buffer.alloc(16) }), undefined);
    assert.deepEqual([...parseAttrs(Buffer.concat([stringAttr(3, 'eth0'), u32Attr(0x8000 | 19, 7)])).keys()], [3, 19]);
  });

  test('an extended ack\'s explanation: after the echoed request (whole, or its header when capped), or after a failed dump\'s errno', () => {
    const request = message(RTM_NEWADDR, NLM_F_REQUEST | NLM_F_ACK, Buffer.alloc(8), [u32Attr(2, 1)], 4);
    const explanation = stringAttr(1, 'ipv4: Invalid prefix length');
    const refusal = (flags: number, echoed: Buffer): ReturnType<typeof parseMessages>[number] => {
      const errno = Buffer.alloc(4);
      errno.writeInt32LE(-22);
      return parseMessages(message(NLMSG_ERROR, flags, Buffer.concat([errno, echoed]), [explanation], 4))[0];
    };
    assert.equal(ackMessage(refusal(0x200, request)), 'ipv4: Invalid prefix length');
    assert.equal(ackMessage(refusal(0x300, request.subarray(0, 16))), 'ipv4: Invalid prefix length');
    assert.equal(ackMessage(refusal(0, request)), undefined, 'no NLM_F_ACK_TLVS: no explanation');
    const done = parseMessages(message(NLMSG_DONE, 0x202, Buffer.from([0xea, 0xff, 0xff, 0xff]), [stringAttr(1, 'dump refused')], 4))[0];
    assert.equal(ackMessage(done), 'dump refused');
  });
});

describe('rtnetlink requests', () => {
  test('`ip addr`\'s two dumps: every link (no counters: IFLA_EXT_MASK RTEXT_FILTER_SKIP_STATS), every address of every family', () => {
    const links = dumpLinks();
    assert.deepEqual(header(links.message), { len: 40, type: RTM_GETLINK, flags: NLM_F_REQUEST | NLM_F_DUMP });
    assert.equal(hex(links.message.subarray(16)), '00'.repeat(16) + '08001d0008000000');
    const addrs = dumpAddresses();
    assert.deepEqual(header(addrs.message), { len: 24, type: RTM_GETADDR, flags: NLM_F_REQUEST | NLM_F_DUMP });
    assert.equal(hex(addrs.message.subarray(16)), '00'.repeat(8));
  });

  test('`ip link set lo up`: RTM_NEWLINK by name, IFF_UP in flags and change', () => {
    const r = linkUp('lo');
    assert.equal(r.what, 'RTM_NEWLINK lo up');
    assert.equal(hex(r.message), '28000000100005000000000000000000' + '00000000000000000100000001000000' + '070003006c6f0000');
    assert.equal(r.index, undefined);
  });

  test('`ip link add locker0 type bridge`: create, exclusive, with the kind in IFLA_LINKINFO', () => {
    const r = newBridge('locker0');
    assert.deepEqual(header(r.message), { len: r.message.length, type: RTM_NEWLINK, flags: NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL });
    const attrs = parseAttrs(r.message, 32);
    assert.equal(text(attrs.get(3)), 'locker0');
    assert.equal(text(parseAttrs(attrs.get(18)!).get(1)), 'bridge');
  });

  test('the veth: host end named, on the bridge and up; the peer eth0 born in the namespace of a pid', () => {
    const r = newVeth('lk0123456789', { name: 'locker0', index: 5 }, 'eth0', { pid: 4242 });
    assert.equal(r.what, 'RTM_NEWLINK veth lk0123456789 master locker0 up, peer eth0 netns 4242');
    assert.equal(header(r.message).flags, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
    assert.equal(r.message.readUInt32LE(16 + 8), 1, 'IFF_UP');
    assert.equal(r.message.readUInt32LE(16 + 12), 1, 'change IFF_UP');
    const attrs = parseAttrs(r.message, 32);
    assert.equal(text(attrs.get(3)), 'lk0123456789');
    assert.equal(attrs.get(10)!.readUInt32LE(0), 5, 'IFLA_MASTER');
    const info = parseAttrs(attrs.get(18)!);
    assert.equal(text(info.get(1)), 'veth');
    const peer = parseAttrs(info.get(2)!).get(1)!;
    assert.equal(hex(peer.subarray(0, 16)), '00'.repeat(16), 'the peer starts down');
    const peerAttrs = parseAttrs(peer, 16);
    assert.equal(text(peerAttrs.get(3)), 'eth0');
    assert.equal(peerAttrs.get(19)!.readUInt32LE(0), 4242, 'IFLA_NET_NS_PID');
    assert.equal(peerAttrs.get(28), undefined);
    // A spare's namespace has no process yet: named by the fd that holds it.
    const byFd = newVeth('lk0123456789', { name: 'locker0', index: 5 }, 'eth0', { fd: 37 });
    assert.equal(byFd.what, 'RTM_NEWLINK veth lk0123456789 master locker0 up, peer eth0 netns fd 37');
    const fdPeer = parseAttrs(parseAttrs(parseAttrs(parseAttrs(byFd.message, 32).get(18)!).get(2)!).get(1)!, 16);
    assert.equal(fdPeer.get(28)!.readUInt32LE(0), 37, 'IFLA_NET_NS_FD');
    assert.equal(fdPeer.get(19), undefined);
  });

  test('addresses: local and address the same, scope global; the index given, or filled in inside', () => {
    const host = newAddress('10.88.0.1', 24, { name: 'locker0', index: 5 }, true);
    assert.equal(host.what, 'RTM_NEWADDR 10.88.0.1/24 dev locker0 (replace)');
    assert.deepEqual(header(host.message), { len: 40, type: RTM_NEWADDR, flags: NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE });
    assert.equal(hex(host.message.subarray(16)), '02180000' + '05000000' + '080002000a580001' + '080001000a580001');
    assert.equal(host.index, undefined);
    const inside = newAddress('10.88.0.7', 24, { name: 'eth0' });
    assert.equal(header(inside.message).flags, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
    assert.deepEqual(inside.index, { at: 20, of: 'eth0' });
    assert.equal(inside.message.readUInt32LE(20), 0);
    assert.throws(() => ipv4('10.88.0.256'), /not an IPv4 address/);
  });

  test('the default route: main table, proto boot, via the gateway, its RTA_OIF filled in inside', () => {
    const r = newDefaultRoute('10.88.0.1', 'eth0');
    assert.equal(r.what, 'RTM_NEWROUTE default via 10.88.0.1 dev eth0');
    assert.equal(header(r.message).type, RTM_NEWROUTE);
    assert.equal(hex(r.message.subarray(16, 28)), '02000000fe030001' + '00000000');
    assert.deepEqual(r.index, { at: 40, of: 'eth0' });
    assert.equal(hex(r.message.subarray(36, 44)), '0800040000000000', 'RTA_OIF, its u32 at 40');
    assert.equal(r.message.length, 44);
  });

  test('`ip link del`: RTM_DELLINK by name', () => {
    const r = delLink('lk0123456789');
    assert.equal(header(r.message).type, RTM_DELLINK);
    assert.equal(text(parseAttrs(r.message, 32).get(3)), 'lk0123456789');
  });

  test('Program.netlink: the message and the interface to look up go to the native step, the log row reads as the request', () => {
    const p = new Program().netlink(0, 'NETLINK_ROUTE', newAddress('10.88.0.7', 24, { name: 'eth0' }));
    const [step] = p.steps;
    assert.equal(step.code, OPCODES.indexOf('NETLINK') + 1);
    assert.equal(`${step.name}(${step.args})`, 'sendmsg(NETLINK_ROUTE, RTM_NEWADDR 10.88.0.7/24 dev eth0)');
    assert.deepEqual(step.n.slice(0, 2), [0, 20]);
    assert.equal(step.s[1], 'eth0');
    assert.deepEqual(new Program().netlink(0, 'NETLINK_ROUTE', linkUp('lo')).steps[0].n.slice(0, 2), [0, -1]);
    assert.throws(() => new Program().netlink(0, 'NETLINK_ROUTE', { message: Buffer.alloc(8), what: 'short' }), /16 to 4096 bytes/);
  });
});
