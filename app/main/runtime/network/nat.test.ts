// The container's NAT table over netlink: the bytes (compared with what nft 1.0.6 sends for the
// same script, captured with `nft --debug=mnl -f`), the three forms agreeing, and, as root, nft
// itself as the peer: a table made over netlink lists exactly as one made by `nft -f` from natScript.
// A failed batch leaves nothing, a leftover is replaced, a refusal is one line, and each
// transaction is one syscall-log row. Table names are this run's own (another file may run beside).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import type { PortSpec } from '../../../shared/types';
import { syscallLog, type SyscallEntry } from '../../../../native/syscall-log';
import { addContainerNat, lockerNatTables, natBatch, natListing, natScript, natTable, natRulesLive, removeNatTable, sendNftBatch } from './nat';
import { NLM_F_ACK, parseAttrs } from './netlink';
import { NFPROTO_IPV4, counter, newRule, newSourcePrefixSet, nftType } from './nftables';

const root = process.getuid?.() === 0;
const hasNft = spawnSync('nft', ['--version']).status === 0;
const skip = !root ? 'needs root' : !hasNft ? 'nft is not installed' : false;

const TCP: PortSpec = { hostPort: 8080, containerPort: 80, protocol: 'tcp' };
const UDP_ON_LOOPBACK: PortSpec = { hostIp: '127.0.0.1', hostPort: 53, containerPort: 53, protocol: 'udp' };

describe('the NAT table as an nft script, a listing and a netlink batch (pure)', () => {
  test('natScript is the human-readable form (what `locker equivalent` shows), placeholders allowed', () => {
    assert.equal(natScript('locker_ID', 'ID', 'ADDR', 'locker0', '10.88.0.0/24', [TCP, UDP_ON_LOOPBACK]), [
      'add table ip locker_ID',
      'delete table ip locker_ID',
      'table ip locker_ID {',
      '  comment "locker container ID"',
      '  chain postrouting {',
      '    type nat hook postrouting priority srcnat; policy accept;',
      '    ip saddr ADDR oifname != "locker0" counter masquerade',
      '    oifname "locker0" ip daddr ADDR ct status dnat ip saddr { 127.0.0.0/8, 10.88.0.0/24 } counter masquerade',
      '  }',
      '  chain prerouting {',
      '    type nat hook prerouting priority -100; policy accept;',
      '    fib daddr type local tcp dport 8080 counter dnat to ADDR:80',
      '    ip daddr 127.0.0.1 udp dport 53 counter dnat to ADDR:53',
      '  }',
      '  chain output {',
      '    type nat hook output priority -100; policy accept;',
      '    fib daddr type local tcp dport 8080 counter dnat to ADDR:80',
      '    ip daddr 127.0.0.1 udp dport 53 counter dnat to ADDR:53',
      '  }',
      '}',
      '',
    ].join('\n'));
    assert.equal(natScript('locker_ID', 'ID', 'ADDR', 'locker0', '10.88.0.0/24', []).split('\n').length, 10, 'no ports: the masquerade chain only');
  });

  test('natListing is what `nft list table` prints for it when just made', () => {
    assert.equal(natListing(natTable('locker_0123456789', 'abc', '10.88.0.5', 'locker0', '10.88.0.0/24', [TCP])), [
      'table ip locker_0123456789 {',
      '\tcomment "locker container abc"',
      '\tchain postrouting {',
      '\t\ttype nat hook postrouting priority srcnat; policy accept;',
      '\t\tip saddr 10.88.0.5 oifname != "locker0" counter packets 0 bytes 0 masquerade',
      '\t\toifname "locker0" ip daddr 10.88.0.5 ct status dnat ip saddr { 10.88.0.0/24, 127.0.0.0/8 } counter packets 0 bytes 0 masquerade',
      '\t}',
      '',
      '\tchain prerouting {',
      '\t\ttype nat hook prerouting priority dstnat; policy accept;',
      '\t\tfib daddr type local tcp dport 8080 counter packets 0 bytes 0 dnat to 10.88.0.5:80',
      '\t}',
      '',
      '\tchain output {',
      '\t\ttype nat hook output priority -100; policy accept;',
      '\t\tfib daddr type local tcp dport 8080 counter packets 0 bytes 0 dnat to 10.88.0.5:80',
      '\t}',
      '}',
      '',
    ].join('\n'));
  });

  test('the batch is the bytes nft sends for the same script (table comment, anonymous set, fib + dnat rule)', () => {
    const messages = natBatch(natTable('locker_test000001', 'abc', '10.88.0.5', 'locker0', '10.88.0.0/24', [TCP, UDP_ON_LOOPBACK])).map((m) => m.message);
    const types = messages.map((m) => m.readUInt16LE(4));
    assert.deepEqual(types, [16, ...[0, 2, 0, 3, 3, 3, 6, 9, 12, 6, 6, 6, 6, 6].map(nftType), 17], 'BEGIN, add+delete+table, 3 chains, rule, set, elements, rules, END');
    for (const m of messages) assert.equal(m.readUInt32LE(0), m.length, 'nlmsg_len is the message');
    assert.ok(messages.slice(1, -1).every((m) => m.readUInt16LE(6) & NLM_F_ACK), 'every message inside asks for an ack');
    const body = (i: number): string => messages[i].subarray(16).toString('hex');
    // nft 1.0.6, `nft --debug=mnl -f` of natScript's output for these inputs (the nfgenmsg and attributes of each message).
    assert.equal(body(3), '02000000160001006c6f636b65725f7465737430303030303100000008000200000000001b00060000156c6f636b657220636f6e7461696e6572206162630000');
    assert.equal(body(8), '02000000160001006c6f636b65725f746573743030303030310000000c0002005f5f73657425640008000300000000070800040000000007080005000000000408000a00000000010c000980080001000000000526000d000004020000000204010000000314000407000000010c00040c00000001040b0000000000');
    assert.equal(body(9), '02000000160001006c6f636b65725f746573743030303030310000000c0002005f5f73657425640008000400000000016c0003801800018008000300000000010c0001800800010000000000100002800c000180080001000a5800001800038008000300000000010c000180080001000a580100100004800c000180080001007f0000001800058008000300000000010c0001800800010080000000');
    assert.equal(body(11), '02000000160001006c6f636b65725f746573743030303030310000000f000200707265726f7574696e670000ac0104802800018008000100666962001c0002800800030000000002080002000000000308000100000000012c00018008000100636d700020000280080001000000000108000200000000000c000380080001000200000024000180090001006d6574610000000014000280080002000000001008000100000000012c00018008000100636d700020000280080001000000000108000200000000000c0003800500010006000000340001800c0001007061796c6f6164002400028008000100000000010800020000000002080003000000000208000400000000022c00018008000100636d700020000280080001000000000108000200000000000c000380060001001f900000140001800c000100636f756e74657200040002802c0001800e000100696d6d6564696174650000001800028008000100000000010c000280080001000a5800052c0001800e000100696d6d6564696174650000001800028008000100000000020c000280060001000050000038000180080001006e6174002c00028008000100000000010800020000000002080003000000000108000500000000020800070000000002');
  });

  test('a set interval is given by its edges: no leading end at 0.0.0.0, no end past 255.255.255.255; overlaps merge', () => {
    const edges = (prefixes: string[]): string[] => {
      const elems = newSourcePrefixSet(NFPROTO_IPV4, 't', prefixes, 1)[1].message;
      const list = parseAttrs(elems, 16 + 4).get(3)!;
      const out: string[] = [];
      for (let off = 0; off < list.length;) {
        const len = list.readUInt16LE(off);
        const e = parseAttrs(list.subarray(off + 4, off + len));
        const key = parseAttrs(e.get(1)!).get(1)!;
        out.push(`${[...key].join('.')}${e.has(3) ? ' end' : ''}`);
        off += (len + 3) & ~3;
      }
      return out;
    };
    assert.deepEqual(edges(['127.0.0.0/8', '10.88.0.0/24']), ['0.0.0.0 end', '10.88.0.0', '10.88.1.0 end', '127.0.0.0', '128.0.0.0 end']);
    assert.deepEqual(edges(['0.0.0.0/8', '240.0.0.0/4']), ['0.0.0.0', '1.0.0.0 end', '240.0.0.0']);
    assert.deepEqual(edges(['10.0.0.0/8', '10.88.0.0/24']), ['0.0.0.0 end', '10.0.0.0', '11.0.0.0 end']);
  });

  test('a placeholder address is refused before anything is sent', () => {
    assert.throws(() => natBatch(natTable('locker_ID', 'ID', 'ADDR', 'locker0', '10.88.0.0/24', [])), /not an IPv4 address: ADDR/);
  });
});

const made = new Set<string>();
/** A table name of this run's own: `locker_` + 10 hex (lockerNatTables lists those) or another prefix. */
function tableName(prefix = 'lknattest_'): string {
  const name = prefix + randomBytes(5).toString('hex');
  made.add(name);
  return name;
}
const nft = (args: string[], input?: string): ReturnType<typeof spawnSync> => spawnSync('nft', args, { encoding: 'utf8', input, timeout: 30000 });
function listed(table: string): string {
  const r = nft(['list', 'table', 'ip', table]);
  assert.equal(r.status, 0, `nft list table ip ${table}: ${r.stderr}`);
  return String(r.stdout);
}
const tableGone = (table: string): boolean => nft(['list', 'table', 'ip', table]).status !== 0;

after(() => {
  for (const t of made) nft(['delete', 'table', 'ip', t]);
});

describe('nf_tables over netlink, nft itself as the peer (root)', { skip }, () => {
  const cases: [string, PortSpec[]][] = [
    ['no ports', []],
    ['a TCP port', [TCP]],
    ['a UDP port on 127.0.0.1', [UDP_ON_LOOPBACK]],
    ['TCP and UDP, with and without a host address', [TCP, UDP_ON_LOOPBACK, { hostIp: '10.1.2.3', hostPort: 9000, containerPort: 9001, protocol: 'tcp' }]],
  ];
  for (const [what, ports] of cases) {
    test(`${what}: the table made over netlink lists as the one nft makes from natScript, and as natListing renders it`, () => {
      const ours = tableName();
      const reference = tableName();
      const t = natTable(ours, 'c0ffee', '10.88.0.7', 'locker0', '10.88.0.0/24', ports);
      const added = addContainerNat(t);
      assert.deepEqual(added, { table: `ip ${ours}`, rules: natListing(t) });
      const r = nft(['-f', '-'], natScript(reference, 'c0ffee', '10.88.0.7', 'locker0', '10.88.0.0/24', ports));
      assert.equal(r.status, 0, String(r.stderr));
      assert.equal(listed(ours).replaceAll(ours, 'NAME'), listed(reference).replaceAll(reference, 'NAME'));
      assert.equal(listed(ours), added.rules);
      // Its live listing over netlink (a GETRULE dump, counters from the kernel) is nft's own.
      assert.equal(natRulesLive(added.table, added.rules), listed(ours));
      assert.equal(removeNatTable(ours), true);
      assert.equal(natRulesLive(added.table, added.rules), undefined, 'a table that is gone lists as nothing');
      assert.ok(tableGone(ours));
      assert.equal(removeNatTable(ours), false, 'a missing table is fine');
    });
  }

  test('lockerNatTables lists our tables (a GETTABLE dump) and not others', () => {
    const ours = tableName('locker_');
    const other = tableName();
    addContainerNat(natTable(ours, 'c0ffee', '10.88.0.7', 'locker0', '10.88.0.0/24', []));
    addContainerNat(natTable(other, 'c0ffee', '10.88.0.7', 'locker0', '10.88.0.0/24', []));
    const tables = lockerNatTables();
    assert.ok(tables.includes(ours));
    assert.ok(!tables.includes(other));
    removeNatTable(ours);
    removeNatTable(other);
    assert.ok(!lockerNatTables().includes(ours));
  });

  test('a leftover table of the same name is replaced in the same transaction', () => {
    const ours = tableName();
    assert.equal(nft(['-f', '-'], `table ip ${ours} {\n  chain junk {\n    counter\n  }\n}\n`).status, 0);
    const t = natTable(ours, 'c0ffee', '10.88.0.7', 'locker0', '10.88.0.0/24', [TCP]);
    addContainerNat(t);
    assert.equal(listed(ours), natListing(t));
    removeNatTable(ours);
  });

  test('a batch the kernel refuses in its last message leaves nothing: no new table, the leftover untouched', () => {
    const refused = (t: ReturnType<typeof natTable>): void => {
      const messages = natBatch(t);
      messages.splice(messages.length - 1, 0, newRule(NFPROTO_IPV4, t.name, 'no-such-chain', [counter()], 'counter'));
      assert.throws(() => sendNftBatch(messages), /ENOENT/);
    };
    const fresh = tableName();
    refused(natTable(fresh, 'c0ffee', '10.88.0.7', 'locker0', '10.88.0.0/24', [TCP]));
    assert.ok(tableGone(fresh), 'no table was made');
    const leftover = tableName();
    assert.equal(nft(['-f', '-'], `table ip ${leftover} {\n  chain junk {\n    counter\n  }\n}\n`).status, 0);
    const before = listed(leftover);
    refused(natTable(leftover, 'c0ffee', '10.88.0.7', 'locker0', '10.88.0.0/24', [TCP]));
    assert.equal(listed(leftover), before, 'its add + delete were undone with the rest');
    removeNatTable(leftover);
  });

  test('without CAP_NET_ADMIN: one line naming EPERM and the fix, and no table', () => {
    const ours = tableName();
    const nat = join(__dirname, 'nat.js');
    const script = `try { require(${JSON.stringify(nat)}).addContainerNat(require(${JSON.stringify(nat)}).natTable(${JSON.stringify(ours)}, 'c0ffee', '10.88.0.7', 'locker0', '10.88.0.0/24', [])) } catch (e) { process.stderr.write(e.message + '\\n'); process.exit(3) }`;
    const r = spawnSync('setpriv', ['--bounding-set=-net_admin', process.execPath, '-e', script], { encoding: 'utf8', timeout: 30000 });
    assert.equal(r.status, 3, r.stderr);
    assert.equal(r.stderr, "cannot add the container's NAT rules (nftables over netlink): EPERM (Operation not permitted); it needs root (CAP_NET_ADMIN in the host network namespace)\n");
    assert.ok(tableGone(ours));
  });

  test('each transaction is one readable syscall-log row', () => {
    const ours = tableName('locker_');
    const rows: SyscallEntry[] = [];
    const stop = syscallLog.subscribe((e) => rows.push(e));
    try {
      addContainerNat(natTable(ours, 'c0ffee', '10.88.0.7', 'locker0', '10.88.0.0/24', [TCP]));
      lockerNatTables();
      removeNatTable(ours);
    } finally {
      stop();
    }
    const sent = rows.filter((e) => e.name === 'sendmsg').map((e) => `${e.args} = ${e.errno ?? (Number(e.result) > 0 ? 'ok' : e.result)}`);
    assert.equal(sent.length, 3, sent.join('\n'));
    assert.ok(sent[0].startsWith(`NETLINK_NETFILTER, batch: newtable ip ${ours}, deltable ip ${ours}, newtable ip ${ours}, newchain postrouting (nat, priority 100), newchain prerouting (nat, priority -100), newchain output (nat, priority -100), newrule postrouting ip saddr 10.88.0.7 oifname != "locker0" counter masquerade, newset { 127.0.0.0/8, 10.88.0.0/24 }`), sent[0]);
    assert.ok(sent[0].endsWith('newrule output fib daddr type local tcp dport 8080 counter dnat to 10.88.0.7:80 = ok'), sent[0]);
    assert.equal(sent[1], 'NETLINK_NETFILTER, gettable ip (dump) = ok');
    assert.equal(sent[2], `NETLINK_NETFILTER, batch: deltable ip ${ours} = ok`);
  });
});
