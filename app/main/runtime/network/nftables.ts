// nf_tables messages over netlink (NETLINK_NETFILTER): what `nft` sends to the kernel, built here
// without spawning nft. A change is one batch (NFNL_MSG_BATCH_BEGIN … END): the kernel applies all
// of it or, when one message is refused, none of it. Expressions are the kernel's own VM
// instructions (payload/meta/ct load into a register, cmp/lookup test it, nat/masq act), encoded
// with the attributes `nft --debug=netlink,mnl` shows. Pure (nftables.test.ts checks the bytes);
// nat.ts builds its table from these and sends them through netlink.ts.
import { NLM_F_ACK, NLM_F_APPEND, NLM_F_CREATE, NLM_F_REQUEST, attr, message, nestedAttr, parseAttrs, stringAttr, u32beAttr, type ReceivedMessage } from './netlink';
import { ipv4 } from './rtnetlink';

const NFNL_SUBSYS_NFTABLES = 10;
const NFNL_MSG_BATCH_BEGIN = 16;
const NFNL_MSG_BATCH_END = 17;
export const NFT_MSG_NEWTABLE = 0;
const NFT_MSG_GETTABLE = 1;
const NFT_MSG_DELTABLE = 2;
const NFT_MSG_NEWCHAIN = 3;
const NFT_MSG_NEWRULE = 6;
const NFT_MSG_GETRULE = 7;
const NFT_MSG_NEWSET = 9;
const NFT_MSG_NEWSETELEM = 12;
/** Message type of an nf_tables message: subsystem in the high byte. */
export const nftType = (msg: number): number => (NFNL_SUBSYS_NFTABLES << 8) | msg;

const AF_UNSPEC = 0;
export const NFPROTO_IPV4 = 2;
const NLM_F_DUMP = 0x300;

// Attributes (linux/netfilter/nf_tables.h).
const NFTA_TABLE_NAME = 1;
const NFTA_TABLE_FLAGS = 2;
const NFTA_TABLE_USERDATA = 6;
const NFTA_CHAIN_TABLE = 1;
const NFTA_CHAIN_NAME = 3;
const NFTA_CHAIN_HOOK = 4;
const NFTA_CHAIN_POLICY = 5;
const NFTA_CHAIN_TYPE = 7;
const NFTA_HOOK_HOOKNUM = 1;
const NFTA_HOOK_PRIORITY = 2;
const NFTA_RULE_TABLE = 1;
const NFTA_RULE_CHAIN = 2;
const NFTA_RULE_EXPRESSIONS = 4;
const NFTA_LIST_ELEM = 1;
const NFTA_EXPR_NAME = 1;
const NFTA_EXPR_DATA = 2;
const NFTA_DATA_VALUE = 1;
const NFTA_COUNTER_BYTES = 1;
const NFTA_COUNTER_PACKETS = 2;
const NFTA_SET_TABLE = 1;
const NFTA_SET_NAME = 2;
const NFTA_SET_FLAGS = 3;
const NFTA_SET_KEY_TYPE = 4;
const NFTA_SET_KEY_LEN = 5;
const NFTA_SET_DESC = 9;
const NFTA_SET_ID = 10;
const NFTA_SET_USERDATA = 13;
const NFTA_SET_DESC_SIZE = 1;
const NFTA_SET_ELEM_LIST_TABLE = 1;
const NFTA_SET_ELEM_LIST_SET = 2;
const NFTA_SET_ELEM_LIST_ELEMENTS = 3;
const NFTA_SET_ELEM_LIST_SET_ID = 4;
const NFTA_SET_ELEM_KEY = 1;
const NFTA_SET_ELEM_FLAGS = 3;

export const NF_INET_HOOKS = { prerouting: 0, input: 1, forward: 2, output: 3, postrouting: 4 } as const;
export type Hook = keyof typeof NF_INET_HOOKS;
const NF_ACCEPT = 1;
/** The 16-byte register nft loads into and tests from (NFT_REG_1). */
const REG1 = 1;
const REG2 = 2;

/** A request and how the log shows it, e.g. `newtable ip locker_0123456789`. */
export interface NftMessage {
  message: Buffer;
  what: string;
}

/** struct nfgenmsg { u8 family; u8 version; be16 res_id }. */
function nfgenmsg(family: number, resId = 0): Buffer {
  const b = Buffer.from([family, 0, 0, 0]);
  b.writeUInt16BE(resId, 2);
  return b;
}

const NEW = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE;

/** A batch: BEGIN, the messages, END (BEGIN and END name the subsystem; the kernel acks each message inside). */
export function batch(messages: readonly NftMessage[]): NftMessage[] {
  const edge = (type: number): NftMessage => ({ message: message(type, NLM_F_REQUEST, nfgenmsg(AF_UNSPEC, NFNL_SUBSYS_NFTABLES)), what: '' });
  return [edge(NFNL_MSG_BATCH_BEGIN), ...messages, edge(NFNL_MSG_BATCH_END)];
}

/** The log's words for a batch: `batch: newtable ip t, newchain postrouting, …`. */
export const batchWords = (messages: readonly NftMessage[]): string => `batch: ${messages.map((m) => m.what).filter(Boolean).join(', ')}`;

/**
 * nftables' userdata, as nft stores comments and set details: TLVs of { u8 type; u8 length; value }.
 * (NFTNL_UDATA_TABLE_COMMENT is type 0.)
 */
function udata(entries: readonly [number, Buffer][]): Buffer {
  return Buffer.concat(entries.map(([type, value]) => Buffer.concat([Buffer.from([type, value.length]), value])));
}
const udataU32 = (v: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v);
  return b;
};
const cstring = (s: string): Buffer => Buffer.from(s + '\0', 'utf8');

/** `add table ip NAME` (with `comment "…"` when given): CREATE without EXCL, so one that is there is fine. */
export function newTable(family: number, name: string, comment?: string): NftMessage {
  const attrs = [stringAttr(NFTA_TABLE_NAME, name), u32beAttr(NFTA_TABLE_FLAGS, 0)];
  if (comment !== undefined) attrs.push(attr(NFTA_TABLE_USERDATA, udata([[0, cstring(comment)]])));
  return { message: message(nftType(NFT_MSG_NEWTABLE), NEW, nfgenmsg(family), attrs), what: `newtable ${familyName(family)} ${name}` };
}

/** `delete table ip NAME` (every chain, rule and set in it goes with it). */
export function delTable(family: number, name: string): NftMessage {
  return { message: message(nftType(NFT_MSG_DELTABLE), NLM_F_REQUEST | NLM_F_ACK, nfgenmsg(family), [stringAttr(NFTA_TABLE_NAME, name)]), what: `deltable ${familyName(family)} ${name}` };
}

/** `list tables ip`: a dump request, answered with one NEWTABLE message per table. */
export function getTables(family: number): NftMessage {
  return { message: message(nftType(NFT_MSG_GETTABLE), NLM_F_REQUEST | NLM_F_DUMP, nfgenmsg(family)), what: `gettable ${familyName(family)} (dump)` };
}

/** The table names of a GETTABLE dump's answers. */
export function tableNames(answers: readonly ReceivedMessage[]): string[] {
  return answers.filter((m) => m.type === nftType(NFT_MSG_NEWTABLE)).map((m) => {
    const name = parseAttrs(m.payload, 4).get(NFTA_TABLE_NAME);
    return name ? name.subarray(0, name.indexOf(0) < 0 ? name.length : name.indexOf(0)).toString('utf8') : '';
  }).filter(Boolean);
}

/** `list table`'s rules over netlink: a GETRULE dump of one table (no nft process). */
export function getRules(family: number, table: string): NftMessage {
  return { message: message(nftType(NFT_MSG_GETRULE), NLM_F_REQUEST | NLM_F_DUMP, nfgenmsg(family), [stringAttr(NFTA_RULE_TABLE, table)]), what: `getrule ${familyName(family)} ${table} (dump)` };
}

/** Every attribute in order (parseAttrs keeps the last of a type; a list repeats NFTA_LIST_ELEM). */
function attrList(buf: Buffer): Array<[number, Buffer]> {
  const out: Array<[number, Buffer]> = [];
  for (let off = 0; off + 4 <= buf.length;) {
    const len = buf.readUInt16LE(off);
    if (len < 4 || off + len > buf.length) break;
    out.push([buf.readUInt16LE(off + 2) & 0x3fff, buf.subarray(off + 4, off + len)]);
    off += (len + 3) & ~3;
  }
  return out;
}

const cString = (b: Buffer | undefined): string => (b ? b.subarray(0, b.indexOf(0) < 0 ? b.length : b.indexOf(0)).toString('utf8') : '');

/** Each rule of a GETRULE dump's answers, in the kernel's order: its chain and its counter's values. */
export function ruleCounters(answers: readonly ReceivedMessage[]): Array<{ chain: string; packets: bigint; bytes: bigint } | { chain: string; packets?: undefined; bytes?: undefined }> {
  return answers.filter((m) => m.type === nftType(NFT_MSG_NEWRULE)).map((m) => {
    const attrs = parseAttrs(m.payload, 4);
    const chain = cString(attrs.get(NFTA_RULE_CHAIN));
    for (const [type, elem] of attrList(attrs.get(NFTA_RULE_EXPRESSIONS) ?? Buffer.alloc(0))) {
      if (type !== NFTA_LIST_ELEM) continue;
      const expr = parseAttrs(elem);
      if (cString(expr.get(NFTA_EXPR_NAME)) !== 'counter') continue;
      const data = parseAttrs(expr.get(NFTA_EXPR_DATA) ?? Buffer.alloc(0));
      const u64 = (b: Buffer | undefined): bigint => (b && b.length >= 8 ? b.readBigUInt64BE(0) : 0n);
      return { chain, packets: u64(data.get(NFTA_COUNTER_PACKETS)), bytes: u64(data.get(NFTA_COUNTER_BYTES)) };
    }
    return { chain };
  });
}

/** A base chain: `chain NAME { type TYPE hook HOOK priority PRIORITY; policy accept; }` (named after its hook). */
export function newBaseChain(family: number, table: string, hook: Hook, priority: number, type: 'nat' | 'filter'): NftMessage {
  const prio = Buffer.alloc(4);
  prio.writeInt32BE(priority);
  const attrs = [
    stringAttr(NFTA_CHAIN_TABLE, table), stringAttr(NFTA_CHAIN_NAME, hook), stringAttr(NFTA_CHAIN_TYPE, type), u32beAttr(NFTA_CHAIN_POLICY, NF_ACCEPT),
    nestedAttr(NFTA_CHAIN_HOOK, [u32beAttr(NFTA_HOOK_HOOKNUM, NF_INET_HOOKS[hook]), attr(NFTA_HOOK_PRIORITY, prio)], true),
  ];
  return { message: message(nftType(NFT_MSG_NEWCHAIN), NEW, nfgenmsg(family), attrs), what: `newchain ${hook} (${type}, priority ${priority})` };
}

/** One expression: { name, data }. */
export interface Expr {
  name: string;
  data: Buffer[];
}

/** `add rule … CHAIN EXPRS`, appended at the chain's end. */
export function newRule(family: number, table: string, chain: string, exprs: readonly Expr[], words: string): NftMessage {
  const list = exprs.map((e) => nestedAttr(NFTA_LIST_ELEM, [stringAttr(NFTA_EXPR_NAME, e.name), nestedAttr(NFTA_EXPR_DATA, e.data, true)], true));
  const attrs = [stringAttr(NFTA_RULE_TABLE, table), stringAttr(NFTA_RULE_CHAIN, chain), nestedAttr(NFTA_RULE_EXPRESSIONS, list, true)];
  return { message: message(nftType(NFT_MSG_NEWRULE), NEW | NLM_F_APPEND, nfgenmsg(family), attrs), what: `newrule ${chain} ${words}` };
}

const dataValue = (type: number, value: Buffer): Buffer => nestedAttr(type, [attr(NFTA_DATA_VALUE, value)], true);

/** Where payload reads from. */
export const PAYLOAD_BASE = { network: 1, transport: 2 } as const;
/** payload load LEN bytes @ BASE header + OFFSET => reg 1. */
export function payload(base: keyof typeof PAYLOAD_BASE, offset: number, len: number): Expr {
  return { name: 'payload', data: [u32beAttr(1 /* DREG */, REG1), u32beAttr(2 /* BASE */, PAYLOAD_BASE[base]), u32beAttr(3 /* OFFSET */, offset), u32beAttr(4 /* LEN */, len)] };
}
/** cmp eq|neq reg 1 VALUE. */
export function cmp(op: 'eq' | 'neq', value: Buffer): Expr {
  return { name: 'cmp', data: [u32beAttr(1 /* SREG */, REG1), u32beAttr(2 /* OP */, op === 'eq' ? 0 : 1), dataValue(3 /* DATA */, value)] };
}
export const META_KEY = { l4proto: 16, oifname: 7 } as const;
/** meta load KEY => reg 1. */
export function meta(key: keyof typeof META_KEY): Expr {
  return { name: 'meta', data: [u32beAttr(2 /* KEY */, META_KEY[key]), u32beAttr(1 /* DREG */, REG1)] };
}
const NFT_CT_STATUS = 2;
/** ct load status => reg 1. */
export function ctStatus(): Expr {
  return { name: 'ct', data: [u32beAttr(2 /* KEY */, NFT_CT_STATUS), u32beAttr(1 /* DREG */, REG1)] };
}
/** reg 1 = (reg 1 & MASK) ^ XOR, over the mask's length. */
export function bitwise(mask: Buffer, xor: Buffer): Expr {
  return { name: 'bitwise', data: [u32beAttr(1 /* SREG */, REG1), u32beAttr(2 /* DREG */, REG1), u32beAttr(3 /* LEN */, mask.length), dataValue(4 /* MASK */, mask), dataValue(5 /* XOR */, xor)] };
}
/** lookup reg 1 in the set made in the same batch under `id`. */
export function lookup(set: string, id: number): Expr {
  return { name: 'lookup', data: [u32beAttr(2 /* SREG */, REG1), stringAttr(1 /* SET */, set), u32beAttr(4 /* SET_ID */, id)] };
}
const NFT_FIB_RESULT_ADDRTYPE = 3;
const NFTA_FIB_F_DADDR = 2;
/** fib daddr type => reg 1 (the route type of the destination: RTN_LOCAL for the host's own addresses). */
export function fibDaddrType(): Expr {
  return { name: 'fib', data: [u32beAttr(3 /* FLAGS */, NFTA_FIB_F_DADDR), u32beAttr(2 /* RESULT */, NFT_FIB_RESULT_ADDRTYPE), u32beAttr(1 /* DREG */, REG1)] };
}
export const counter = (): Expr => ({ name: 'counter', data: [] });
export const masq = (): Expr => ({ name: 'masq', data: [] });
/** immediate reg N VALUE. */
export function immediate(reg: number, value: Buffer): Expr {
  return { name: 'immediate', data: [u32beAttr(1 /* DREG */, reg), dataValue(2 /* DATA */, value)] };
}
const NFT_NAT_DNAT = 1;
const NF_NAT_RANGE_PROTO_SPECIFIED = 2;
/** dnat to reg 1 (address) : reg 2 (port), as the two immediates before it load them. */
export function dnatFromRegisters(): Expr[] {
  return [{ name: 'nat', data: [u32beAttr(1 /* TYPE */, NFT_NAT_DNAT), u32beAttr(2 /* FAMILY */, NFPROTO_IPV4), u32beAttr(3 /* REG_ADDR_MIN */, REG1), u32beAttr(5 /* REG_PROTO_MIN */, REG2), u32beAttr(7 /* FLAGS */, NF_NAT_RANGE_PROTO_SPECIFIED)] }];
}
export { REG1, REG2 };

/** The host-endian u32 cmp value of a small kernel enum (fib's RTN_LOCAL, ct's status bits). */
export const hostU32 = (v: number): Buffer => udataU32(v);
/** A port in network byte order (2 bytes, as th dport is). */
export function be16(v: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(v);
  return b;
}
/** An interface name as meta oifname loads it: NUL-padded to IFNAMSIZ. */
export function ifname(name: string): Buffer {
  const b = Buffer.alloc(16);
  if (b.write(name, 'utf8') > 15) throw new Error(`interface name too long (at most 15 bytes): ${name}`);
  return b;
}

// An anonymous interval set of IPv4 prefixes (`ip saddr { 127.0.0.0/8, 10.88.0.0/24 }`).
const NFT_SET_ANONYMOUS = 0x1;
const NFT_SET_CONSTANT = 0x2;
const NFT_SET_INTERVAL = 0x4;
const NFT_SET_ELEM_INTERVAL_END = 0x1;
/** nft's datatype id of ipv4_addr (the set's key type, which `nft list` prints by). */
const TYPE_IPADDR = 7;
// The set's userdata as nft writes it: key byte order big-endian, merge adjacent elements, and the
// key's `typeof` (a payload expression: ip header, field saddr) in nft's own numbering.
const NFTNL_UDATA_SET_KEYBYTEORDER = 0;
const NFTNL_UDATA_SET_MERGE_ELEMENTS = 2;
const NFTNL_UDATA_SET_KEY_TYPEOF = 3;
const BYTEORDER_BIG_ENDIAN = 2;
const NFT_EXPR_PAYLOAD = 7;
const PROTO_DESC_IP = 12;
const IPHDR_SADDR = 11;
export const ANONYMOUS_SET = '__set%d';

/** A prefix as [first address, one past the last] (numbers; the end may be 2^32). */
export function prefixRange(prefix: string): [number, number] {
  const [address, bitsText = '32'] = prefix.split('/');
  const bits = Number(bitsText);
  if (!Number.isInteger(bits) || bits < 0 || bits > 32) throw new Error(`not an IPv4 prefix: ${prefix}`);
  const size = 2 ** (32 - bits);
  const start = Math.floor(ipv4(address).readUInt32BE(0) / size) * size;
  return [start, start + size];
}

/**
 * NEWSET + NEWSETELEM for an anonymous set of the source addresses in `prefixes`, referred to in the
 * same batch by `id`. Intervals are given as their edges, ascending: a start key, then an end key
 * flagged INTERVAL_END (one past the last address), led by an end at 0.0.0.0 when the first range
 * does not start there, as nft sends them.
 */
export function newSourcePrefixSet(family: number, table: string, prefixes: readonly string[], id: number): NftMessage[] {
  const ranges = prefixes.map(prefixRange).sort((a, b) => a[0] - b[0]);
  const merged: [number, number][] = [];
  for (const r of ranges) {
    const last = merged[merged.length - 1];
    if (last && r[0] <= last[1]) last[1] = Math.max(last[1], r[1]);
    else merged.push([...r]);
  }
  const key = (n: number): Buffer => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n);
    return b;
  };
  const edges: { at: number; end: boolean }[] = [];
  if (merged[0] && merged[0][0] !== 0) edges.push({ at: 0, end: true });
  for (const [start, end] of merged) {
    edges.push({ at: start, end: false });
    if (end < 2 ** 32) edges.push({ at: end, end: true });
  }
  const typeofSaddr = udata([[0, udataU32(NFT_EXPR_PAYLOAD)], [1, udata([[0, udataU32(PROTO_DESC_IP)], [1, udataU32(IPHDR_SADDR)]])]]);
  const setUserdata = udata([[NFTNL_UDATA_SET_KEYBYTEORDER, udataU32(BYTEORDER_BIG_ENDIAN)], [NFTNL_UDATA_SET_MERGE_ELEMENTS, udataU32(1)], [NFTNL_UDATA_SET_KEY_TYPEOF, typeofSaddr]]);
  const set = message(nftType(NFT_MSG_NEWSET), NEW, nfgenmsg(family), [
    stringAttr(NFTA_SET_TABLE, table), stringAttr(NFTA_SET_NAME, ANONYMOUS_SET),
    u32beAttr(NFTA_SET_FLAGS, NFT_SET_ANONYMOUS | NFT_SET_CONSTANT | NFT_SET_INTERVAL), u32beAttr(NFTA_SET_KEY_TYPE, TYPE_IPADDR), u32beAttr(NFTA_SET_KEY_LEN, 4),
    u32beAttr(NFTA_SET_ID, id), nestedAttr(NFTA_SET_DESC, [u32beAttr(NFTA_SET_DESC_SIZE, edges.length)], true), attr(NFTA_SET_USERDATA, setUserdata),
  ]);
  // Numbered 1, 2, … as libnftnl numbers them (the kernel reads any type here; NFTA_LIST_ELEM is 1).
  const elements = edges.map((e, i) => nestedAttr(NFTA_LIST_ELEM + i, [
    ...(e.end ? [u32beAttr(NFTA_SET_ELEM_FLAGS, NFT_SET_ELEM_INTERVAL_END)] : []),
    dataValue(NFTA_SET_ELEM_KEY, key(e.at)),
  ], true));
  const elems = message(nftType(NFT_MSG_NEWSETELEM), NEW, nfgenmsg(family), [
    stringAttr(NFTA_SET_ELEM_LIST_TABLE, table), stringAttr(NFTA_SET_ELEM_LIST_SET, ANONYMOUS_SET), u32beAttr(NFTA_SET_ELEM_LIST_SET_ID, id),
    nestedAttr(NFTA_SET_ELEM_LIST_ELEMENTS, elements, true),
  ]);
  return [
    { message: set, what: `newset { ${prefixes.join(', ')} }` },
    { message: elems, what: `newsetelem ${edges.length} edges` },
  ];
}

function familyName(family: number): string {
  return family === NFPROTO_IPV4 ? 'ip' : `family ${family}`;
}
