// A rootful bridged container's NAT: one nftables table of its own, `ip locker_<veth hex>`, holding
//  - masquerade for what the container sends out of the host (not to locker0): outbound network;
//  - DNAT for each -p, in prerouting (from other machines and other containers) and output (from
//    the host itself, 127.0.0.1 included: locker0's route_localnet lets a 127.x source leave on it);
//  - masquerade for published traffic that arrives from 127.0.0.0/8 or the bridge (hairpin), so the
//    reply comes back through the host.
// Every rule has a counter (nat chains see the first packet of each connection): `nft list table`
// shows what was used, and a lesson's natUsed rule reads it.
// One table per container makes removal exact: `delete table` takes every rule with it, and never
// touches a rule of anyone else (no handles, no flush).
// The table is described once (natTable) and given three ways: as an nft script (natScript, what
// `locker equivalent` shows), as `nft list table` prints it (natListing, what inspect shows), and as
// one nf_tables netlink batch (natBatch, what Locker sends: no nft process on the launch path);
// inspect reads the live counters with one GETRULE dump (natRulesLive), no nft process either.
import { SyscallError } from '../../../../native/errors';
import { describeErrno } from '../../../../native/libc';
import { LockerError } from '../errors';
import type { PortSpec } from '../../../shared/types';
import { NETLINK_NETFILTER, NetlinkSocket } from './netlink';
import {
  ANONYMOUS_SET, NFPROTO_IPV4, batch, batchWords, be16, bitwise, cmp, counter, ctStatus, delTable, dnatFromRegisters, fibDaddrType, getTables, hostU32,
  getRules, ifname, immediate, lookup, masq, meta, newBaseChain, newRule, newSourcePrefixSet, newTable, payload, prefixRange, ruleCounters, tableNames, REG1, REG2,
  type Expr, type Hook, type NftMessage,
} from './nftables';
import { ipv4 } from './rtnetlink';

export const NAT_TABLE_PREFIX = 'locker_';
const FAMILY = 'ip';

export function natTableName(veth: string): string {
  return NAT_TABLE_PREFIX + veth.replace(/^lk/, '');
}

/** One test of a rule, in nft's words and as kernel expressions. */
type Match =
  | { kind: 'ip'; field: 'saddr' | 'daddr'; address: string }
  | { kind: 'oifname'; op: 'eq' | 'neq'; name: string }
  | { kind: 'ctStatusDnat' }
  | { kind: 'saddrIn'; prefixes: string[] }
  | { kind: 'fibDaddrLocal' }
  | { kind: 'dport'; protocol: 'tcp' | 'udp'; port: number };
type Action = { kind: 'masquerade' } | { kind: 'dnat'; address: string; port: number };
interface NatRule { matches: Match[]; action: Action }
interface NatChain { hook: Hook; priority: number; rules: NatRule[] }
/** The container's table: what natScript, natListing and natBatch each give in their own form. */
export interface NatTable { name: string; comment: string; chains: NatChain[] }

/** The container's table (pure; addresses are not parsed here: `locker equivalent` passes placeholders). */
export function natTable(table: string, id: string, address: string, bridge: string, subnet: string, ports: readonly PortSpec[]): NatTable {
  const postrouting: NatRule[] = [{ matches: [{ kind: 'ip', field: 'saddr', address }, { kind: 'oifname', op: 'neq', name: bridge }], action: { kind: 'masquerade' } }];
  if (ports.length) {
    postrouting.push({
      matches: [{ kind: 'oifname', op: 'eq', name: bridge }, { kind: 'ip', field: 'daddr', address }, { kind: 'ctStatusDnat' }, { kind: 'saddrIn', prefixes: ['127.0.0.0/8', subnet] }],
      action: { kind: 'masquerade' },
    });
  }
  const dnat = ports.map((p): NatRule => ({
    matches: [p.hostIp ? { kind: 'ip', field: 'daddr', address: p.hostIp } : { kind: 'fibDaddrLocal' }, { kind: 'dport', protocol: p.protocol, port: p.hostPort }],
    action: { kind: 'dnat', address, port: p.containerPort },
  }));
  // -100 is dstnat's value; nft names it in prerouting only.
  const chains: NatChain[] = [{ hook: 'postrouting', priority: 100, rules: postrouting }];
  if (ports.length) chains.push({ hook: 'prerouting', priority: -100, rules: dnat }, { hook: 'output', priority: -100, rules: dnat });
  return { name: table, comment: `locker container ${id}`, chains };
}

/** nft's words for a match; `listed`: as `nft list` prints it (a set's elements ascending). */
function matchText(m: Match, listed: boolean): string {
  switch (m.kind) {
    case 'ip': return `ip ${m.field} ${m.address}`;
    case 'oifname': return `oifname ${m.op === 'neq' ? '!= ' : ''}"${m.name}"`;
    case 'ctStatusDnat': return 'ct status dnat';
    case 'saddrIn': return `ip saddr { ${(listed ? [...m.prefixes].sort((a, b) => prefixRange(a)[0] - prefixRange(b)[0]) : m.prefixes).join(', ')} }`;
    case 'fibDaddrLocal': return 'fib daddr type local';
    case 'dport': return `${m.protocol} dport ${m.port}`;
  }
}

function ruleText(r: NatRule, listed: boolean): string {
  const action = r.action.kind === 'masquerade' ? 'masquerade' : `dnat to ${r.action.address}:${r.action.port}`;
  return [...r.matches.map((m) => matchText(m, listed)), listed ? 'counter packets 0 bytes 0' : 'counter', action].join(' ');
}

/** The chain's priority as nft names it: srcnat and dstnat where those are the standard values. */
function priorityText(c: NatChain, listed: boolean): string {
  if (c.hook === 'postrouting' && c.priority === 100) return 'srcnat';
  if (listed && c.hook === 'prerouting' && c.priority === -100) return 'dstnat';
  return String(c.priority);
}

/** The table as an nft script (pure: shown in tests and `locker equivalent`). */
export function natScript(table: string, id: string, address: string, bridge: string, subnet: string, ports: readonly PortSpec[]): string {
  const t = natTable(table, id, address, bridge, subnet, ports);
  const lines = [
    // add + delete first: a leftover table of the same name (a crash) is replaced, in the same transaction.
    `add table ${FAMILY} ${t.name}`,
    `delete table ${FAMILY} ${t.name}`,
    `table ${FAMILY} ${t.name} {`,
    `  comment "${t.comment}"`,
  ];
  for (const c of t.chains) {
    lines.push(`  chain ${c.hook} {`, `    type nat hook ${c.hook} priority ${priorityText(c, false)}; policy accept;`, ...c.rules.map((r) => `    ${ruleText(r, false)}`), '  }');
  }
  lines.push('}');
  return lines.join('\n') + '\n';
}

/** The table as `nft list table ip NAME` prints it when just made (every counter at 0). */
export function natListing(t: NatTable): string {
  const chains = t.chains.map((c) => [
    `\tchain ${c.hook} {`, `\t\ttype nat hook ${c.hook} priority ${priorityText(c, true)}; policy accept;`, ...c.rules.map((r) => `\t\t${ruleText(r, true)}`), '\t}',
  ].join('\n'));
  return `table ${FAMILY} ${t.name} {\n\tcomment "${t.comment}"\n${chains.join('\n\n')}\n}\n`;
}

const IPPROTO = { tcp: 6, udp: 17 } as const;
/** The id the batch gives the anonymous set, for the rule that looks it up. */
const SET_ID = 1;
const RTN_LOCAL = 2;
const IPS_DST_NAT = 0x20;
const IP_SADDR_OFFSET = 12;
const IP_DADDR_OFFSET = 16;
const TH_DPORT_OFFSET = 2;

function matchExprs(m: Match): Expr[] {
  switch (m.kind) {
    case 'ip': return [payload('network', m.field === 'saddr' ? IP_SADDR_OFFSET : IP_DADDR_OFFSET, 4), cmp('eq', ipv4(m.address))];
    case 'oifname': return [meta('oifname'), cmp(m.op, ifname(m.name))];
    case 'ctStatusDnat': return [ctStatus(), bitwise(hostU32(IPS_DST_NAT), hostU32(0)), cmp('neq', hostU32(0))];
    case 'saddrIn': return [payload('network', IP_SADDR_OFFSET, 4), lookup(ANONYMOUS_SET, SET_ID)];
    case 'fibDaddrLocal': return [fibDaddrType(), cmp('eq', hostU32(RTN_LOCAL))];
    case 'dport': return [meta('l4proto'), cmp('eq', Buffer.from([IPPROTO[m.protocol]])), payload('transport', TH_DPORT_OFFSET, 2), cmp('eq', be16(m.port))];
  }
}

function ruleExprs(r: NatRule): Expr[] {
  const action = r.action.kind === 'masquerade' ? [masq()] : [immediate(REG1, ipv4(r.action.address)), immediate(REG2, be16(r.action.port)), ...dnatFromRegisters()];
  return [...r.matches.flatMap(matchExprs), counter(), ...action];
}

/**
 * The table as one nf_tables batch, as nft sends natScript: add + delete (a leftover of the same
 * name goes, in the same transaction), the table with its comment, each chain, then its rules (an
 * anonymous set right before the rule that looks it up).
 */
export function natBatch(t: NatTable): NftMessage[] {
  const messages: NftMessage[] = [newTable(NFPROTO_IPV4, t.name), delTable(NFPROTO_IPV4, t.name), newTable(NFPROTO_IPV4, t.name, t.comment)];
  for (const c of t.chains) messages.push(newBaseChain(NFPROTO_IPV4, t.name, c.hook, c.priority, 'nat'));
  for (const c of t.chains) {
    for (const r of c.rules) {
      const set = r.matches.find((m) => m.kind === 'saddrIn');
      if (set?.kind === 'saddrIn') messages.push(...newSourcePrefixSet(NFPROTO_IPV4, t.name, set.prefixes, SET_ID));
      messages.push(newRule(NFPROTO_IPV4, t.name, c.hook, ruleExprs(r), ruleText(r, false)));
    }
  }
  return batch(messages);
}

// One NETLINK_NETFILTER socket per process, kept open: closing one after a commit waits for the
// kernel to finish freeing that commit's objects (an RCU grace period, milliseconds), which would
// land on the launch path; at exit it costs nothing anyone waits for.
let socket: NetlinkSocket | undefined;
/** Runs fn with the process's nf_tables socket; a socket that failed is closed, the next call opens another. */
function withNfSocket<T>(fn: (nl: NetlinkSocket) => T): T {
  const nl = (socket ??= NetlinkSocket.open(NETLINK_NETFILTER));
  try {
    return fn(nl);
  } catch (e) {
    if (!(e instanceof SyscallError) || e.syscall !== 'sendmsg') {
      socket = undefined;
      nl.close();
    }
    throw e;
  }
}

/** Sends one batch (all of it or nothing); the kernel's refusal is a SyscallError of sendmsg. */
export function sendNftBatch(messages: readonly NftMessage[]): void {
  withNfSocket((nl) => nl.request(batchWords(messages), ...messages.map((m) => m.message)));
}

/** Sends one batch; a refusal is one line naming what the kernel said and the likely fix. */
function sendBatch(messages: readonly NftMessage[], doing: string): void {
  try {
    sendNftBatch(messages);
  } catch (e) {
    if (e instanceof SyscallError) throw new LockerError(`cannot ${doing} (nftables over netlink): ${e.code} (${describeErrno(e.errno)})${fixFor(e.code)}`);
    throw e;
  }
}

function fixFor(code: string): string {
  switch (code) {
    case 'EPERM': return '; it needs root (CAP_NET_ADMIN in the host network namespace)';
    case 'EPROTONOSUPPORT': return '; the kernel has no nfnetlink: modprobe nfnetlink';
    case 'EOPNOTSUPP': case 'ENOENT': return '; the kernel lacks nf_tables NAT: modprobe nf_tables nft_chain_nat nft_masq nft_fib_ipv4';
    default: return '';
  }
}

/**
 * Makes the container's table in one transaction (all or nothing); answers its name and its rules as
 * `nft list table` prints them when just made (inspect reads live counters with natRulesNow).
 */
export function addContainerNat(t: NatTable): { table: string; rules: string } {
  sendBatch(natBatch(t), "add the container's NAT rules");
  return { table: `${FAMILY} ${t.name}`, rules: natListing(t) };
}

/** Deletes one of our tables; a missing one is fine (idempotent). Returns whether it was there. */
export function removeNatTable(table: string): boolean {
  const messages = batch([delTable(NFPROTO_IPV4, table)]);
  try {
    sendNftBatch(messages);
    return true;
  } catch (e) {
    if (e instanceof SyscallError && e.code === 'ENOENT') return false;
    // Refused (no nf_tables, no right) while the table is not there: nothing to remove.
    if (lockerNatTables().includes(table)) throw e;
    return false;
  }
}

/** Our tables on the host: `ip locker_<10 hex>` (the naming is ours alone). Empty without nf_tables. */
export function lockerNatTables(): string[] {
  let names: string[];
  try {
    const request = getTables(NFPROTO_IPV4);
    names = tableNames(withNfSocket((nl) => nl.dump(request.what, request.message)));
  } catch {
    return [];
  }
  const ours = new RegExp(`^${NAT_TABLE_PREFIX}[0-9a-f]{10}$`);
  return names.filter((n) => ours.test(n));
}

/**
 * The table as `nft list table` prints it now, from its listing when made (addContainerNat's
 * `rules`) with each rule's counter as the kernel has it: one netlink dump, no nft process (inspect
 * reads it at every refresh). undefined when the table is gone or cannot be read.
 */
export function natRulesLive(table: string, listing: string): string | undefined {
  const [family, name] = table.split(' ');
  if (family !== FAMILY || !name) return undefined;
  let rules;
  try {
    const request = getRules(NFPROTO_IPV4, name);
    rules = ruleCounters(withNfSocket((nl) => nl.dump(request.what, request.message)));
  } catch {
    return undefined;
  }
  if (rules.length === 0) return undefined;
  const byChain = new Map<string, typeof rules>();
  for (const r of rules) byChain.set(r.chain, [...(byChain.get(r.chain) ?? []), r]);
  let chain = '';
  return listing.split('\n').map((line) => {
    const c = /^\tchain (\S+) \{$/.exec(line);
    if (c) chain = c[1];
    if (!/counter packets \d+ bytes \d+/.test(line)) return line;
    const live = byChain.get(chain)?.shift();
    return live?.packets === undefined ? line : line.replace(/counter packets \d+ bytes \d+/, `counter packets ${live.packets} bytes ${live.bytes}`);
  }).join('\n');
}
