// The interfaces a process sees (its network namespace) or the host sees, for the side-by-side view:
// what `ip -j -d addr` lists, read as ip reads it, from an RTM_GETLINK and an RTM_GETADDR dump, and
// shaped exactly as parseIpAddrJson shapes ip's own output (interfaces.test.ts compares the two on
// the real kernel). The host's dump is a socket of this thread's (the host's) namespace; a
// container's is a socket made inside its namespace by a worker thread (../namespace-thread.ts), so no
// thread that asks ever enters it. A rootless container's namespace belongs to its user namespace,
// which only a single-threaded process may join: that one is listed by `ip` through nsenter,
// spawned asynchronously. Each answer is kept about a second (the inspection refreshes ask twice).
import { namespaceLink, sharesNamespace } from '../inspect/namespaces';
import { getuid } from '../../../../native/libc';
import { ip } from './ip';
import { NETLINK_ROUTE, NetlinkSocket, parseAttrs, type ReceivedMessage } from './netlink';
import { routeSocketIn } from '../namespace-thread';
import { RTM_NEWADDR, RTM_NEWLINK, dumpAddresses, dumpLinks } from './rtnetlink';
import type { InterfaceAddress, NetworkInterface } from '../../../shared/types';

export type { InterfaceAddress, NetworkInterface };

interface IpAddrJson {
  ifindex: number;
  ifname: string;
  flags?: string[];
  mtu?: number;
  operstate?: string;
  link_type?: string;
  address?: string;
  master?: string;
  link_index?: number;
  link_netnsid?: number;
  linkinfo?: { info_kind?: string };
  addr_info?: Array<{ family?: string; local?: string; prefixlen?: number; scope?: string }>;
}

export function parseIpAddrJson(text: string): NetworkInterface[] {
  const raw = JSON.parse(text || '[]') as IpAddrJson[];
  return raw.map((l) => ({
    name: l.ifname,
    index: l.ifindex,
    state: l.operstate ?? 'UNKNOWN',
    up: (l.flags ?? []).includes('UP'),
    mac: l.address ?? '',
    mtu: l.mtu ?? 0,
    kind: l.linkinfo?.info_kind ?? (l.link_type === 'loopback' ? 'loopback' : undefined),
    master: l.master,
    peerIndex: l.link_index,
    peerInOtherNamespace: l.link_index !== undefined ? l.link_netnsid !== undefined : undefined,
    addresses: (l.addr_info ?? [])
      .filter((a) => (a.family === 'inet' || a.family === 'inet6') && a.local)
      .map((a) => ({ family: a.family as 'inet' | 'inet6', address: a.local!, prefixLength: a.prefixlen ?? 0, scope: a.scope })),
  }));
}

const IFLA_ADDRESS = 1;
const IFLA_IFNAME = 3;
const IFLA_MTU = 4;
const IFLA_LINK = 5;
const IFLA_MASTER = 10;
const IFLA_OPERSTATE = 16;
const IFLA_LINKINFO = 18;
const IFLA_LINK_NETNSID = 37;
const IFLA_INFO_KIND = 1;
const IFA_ADDRESS = 1;
const IFA_LOCAL = 2;
const AF_INET = 2;
const AF_INET6 = 10;
const IFF_UP = 0x1;
/** ifi_type values whose hardware address is an IP address (ip's ll_addr_n2a prints them so). */
const ARPHRD_TUNNEL = 768;
const ARPHRD_TUNNEL6 = 769;
const ARPHRD_LOOPBACK = 772;
const ARPHRD_SIT = 776;
const ARPHRD_IPGRE = 778;
const ARPHRD_IP6GRE = 823;

/** RFC 2863 operational states, as ip names them (IF_OPER_*). */
const OPER_STATES = ['UNKNOWN', 'NOTPRESENT', 'DOWN', 'LOWERLAYERDOWN', 'TESTING', 'DORMANT', 'UP'];
/** Route scopes as iproute2's default rt_scopes names them; others are shown as their number. */
const SCOPES: Record<number, string> = { 0: 'global', 200: 'site', 253: 'link', 254: 'host', 255: 'nowhere' };

const text = (b: Buffer): string => {
  const end = b.indexOf(0);
  return b.subarray(0, end < 0 ? b.length : end).toString('utf8');
};

/** An IPv4 or IPv6 address as inet_ntop writes it (glibc: the longest run of zero groups as ::, IPv4 tails of mapped addresses). */
export function formatAddress(b: Buffer): string {
  if (b.length === 4) return [...b].join('.');
  const words = Array.from({ length: 8 }, (_, i) => b.readUInt16BE(i * 2));
  let best = { base: -1, len: 0 };
  let cur = { base: -1, len: 0 };
  for (let i = 0; i < 8; i++) {
    if (words[i] === 0) cur = cur.base === -1 ? { base: i, len: 1 } : { base: cur.base, len: cur.len + 1 };
    else if (cur.base !== -1) {
      if (best.base === -1 || cur.len > best.len) best = cur;
      cur = { base: -1, len: 0 };
    }
  }
  if (cur.base !== -1 && (best.base === -1 || cur.len > best.len)) best = cur;
  if (best.len < 2) best = { base: -1, len: 0 };
  let out = '';
  for (let i = 0; i < 8; i++) {
    if (best.base !== -1 && i >= best.base && i < best.base + best.len) {
      if (i === best.base) out += ':';
      continue;
    }
    if (i !== 0) out += ':';
    if (i === 6 && best.base === 0 && (best.len === 6 || (best.len === 5 && words[5] === 0xffff))) {
      out += [...b.subarray(12)].join('.');
      return out;
    }
    out += words[i].toString(16);
  }
  if (best.base !== -1 && best.base + best.len === 8) out += ':';
  return out;
}

/** A link's hardware address as ip shows it: colon-separated hex, or an IP address for IP tunnels. */
function formatHardwareAddress(b: Buffer, type: number): string {
  if (b.length === 4 && (type === ARPHRD_TUNNEL || type === ARPHRD_SIT || type === ARPHRD_IPGRE)) return formatAddress(b);
  if (b.length === 16 && (type === ARPHRD_TUNNEL6 || type === ARPHRD_IP6GRE)) return formatAddress(b);
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');
}

/** The addresses of an RTM_GETADDR dump, by interface index, in the dump's order (IPv4, then IPv6). */
function addressesByIndex(messages: readonly ReceivedMessage[]): Map<number, InterfaceAddress[]> {
  const out = new Map<number, InterfaceAddress[]>();
  for (const m of messages) {
    if (m.type !== RTM_NEWADDR || m.payload.length < 8) continue;
    const family = m.payload[0];
    if (family !== AF_INET && family !== AF_INET6) continue;
    const attrs = parseAttrs(m.payload, 8);
    // ip shows IFA_LOCAL (the address itself; IFA_ADDRESS is the peer's on point-to-point links), else IFA_ADDRESS
    const local = attrs.get(IFA_LOCAL) ?? attrs.get(IFA_ADDRESS);
    if (!local || local.length !== (family === AF_INET ? 4 : 16)) continue;
    const scope = m.payload[3];
    const index = m.payload.readUInt32LE(4);
    const list = out.get(index) ?? [];
    list.push({ family: family === AF_INET ? 'inet' : 'inet6', address: formatAddress(local), prefixLength: m.payload[1], scope: SCOPES[scope] ?? String(scope) });
    out.set(index, list);
  }
  return out;
}

/**
 * The interfaces of one namespace from its RTM_GETLINK and RTM_GETADDR dumps, exactly as
 * parseIpAddrJson reads `ip -j -d addr` (same fields, same order, same absent ones). Pure.
 */
export function interfacesFromDump(links: readonly ReceivedMessage[], addresses: readonly ReceivedMessage[]): NetworkInterface[] {
  const rows = links.filter((m) => m.type === RTM_NEWLINK && m.payload.length >= 16).map((m) => ({
    type: m.payload.readUInt16LE(2), index: m.payload.readInt32LE(4), flags: m.payload.readUInt32LE(8), attrs: parseAttrs(m.payload, 16),
  }));
  const names = new Map<number, string>();
  for (const r of rows) {
    const name = r.attrs.get(IFLA_IFNAME);
    if (name) names.set(r.index, text(name));
  }
  const byIndex = addressesByIndex(addresses);
  return rows.map(({ type, index, flags, attrs }) => {
    const u32 = (a: number): number | undefined => (attrs.get(a)?.length ?? 0) >= 4 ? attrs.get(a)!.readUInt32LE(0) : undefined;
    const operstate = attrs.get(IFLA_OPERSTATE)?.[0];
    const linkinfo = attrs.get(IFLA_LINKINFO);
    const kindAttr = linkinfo && parseAttrs(linkinfo).get(IFLA_INFO_KIND);
    const hw = attrs.get(IFLA_ADDRESS);
    const master = u32(IFLA_MASTER);
    // ip names the link by index only when it is in another namespace (IFLA_LINK_NETNSID), by name otherwise
    const link = u32(IFLA_LINK);
    const peerIndex = link && attrs.has(IFLA_LINK_NETNSID) ? link : undefined;
    return {
      name: names.get(index) ?? '',
      index,
      state: (operstate !== undefined ? OPER_STATES[operstate] : undefined) ?? 'UNKNOWN',
      up: (flags & IFF_UP) !== 0,
      mac: hw && hw.length > 0 ? formatHardwareAddress(hw, type) : '',
      mtu: u32(IFLA_MTU) ?? 0,
      kind: kindAttr ? text(kindAttr) : type === ARPHRD_LOOPBACK ? 'loopback' : undefined,
      master: master === undefined ? undefined : master === 0 ? '*' : (names.get(master) ?? `if${master}`),
      peerIndex,
      peerInOtherNamespace: peerIndex !== undefined ? true : undefined,
      addresses: byIndex.get(index) ?? [],
    };
  });
}

/** Both dumps on one socket (the namespace it was made in). */
export function dumpInterfaces(nl: NetlinkSocket): NetworkInterface[] {
  const links = dumpLinks();
  const addrs = dumpAddresses();
  return interfacesFromDump(nl.dump(links.what, links.message), nl.dump(addrs.what, addrs.message));
}

async function read(pid: number | 'host', sameAsHost: boolean): Promise<NetworkInterface[]> {
  if (pid === 'host' || sameAsHost) {
    const nl = NetlinkSocket.open(NETLINK_ROUTE);
    try {
      return dumpInterfaces(nl);
    } finally {
      nl.close();
    }
  }
  // Root may enter any namespace; a rootless owner has rights only from inside its user namespace.
  if (getuid() !== 0 && !sharesNamespace(pid, 'user')) return parseIpAddrJson(await ip(['-j', '-d', 'addr'], { pid, userns: true }));
  const nl = await routeSocketIn(pid);
  try {
    return dumpInterfaces(nl);
  } finally {
    nl.close();
  }
}

const CACHE_MS = 1000;
/** The answers being read or read lately, by pid; an answer counts for the namespace it was read from. */
const cache = new Map<string, { at: number; netns: string; value: Promise<NetworkInterface[]> }>();

/**
 * Interfaces of the host (`'host'`) or of the network namespace process `pid` is in, read at most
 * `maxAgeMs` ago (asking again while one is being read shares it). Never blocks on a spawn; the
 * dumps themselves are a few non-waiting syscalls.
 */
export function interfaces(pid: number | 'host', maxAgeMs = CACHE_MS): Promise<NetworkInterface[]> {
  let netns: string;
  try {
    netns = namespaceLink(pid === 'host' ? 'self' : pid, 'net');
  } catch (e) {
    return Promise.reject(e);
  }
  const key = String(pid);
  const hit = cache.get(key);
  const now = Date.now();
  if (hit && hit.netns === netns && now - hit.at < maxAgeMs) return hit.value;
  const value = read(pid, pid !== 'host' && netns === namespaceLink('self', 'net'));
  const entry = { at: now, netns, value };
  cache.set(key, entry);
  // a failure is not kept: the next ask tries again
  value.catch(() => {
    if (cache.get(key) === entry) cache.delete(key);
  });
  if (cache.size > 64) for (const [k, v] of cache) if (now - v.at >= maxAgeMs) cache.delete(k);
  return value;
}
