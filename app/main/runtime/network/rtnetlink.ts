// rtnetlink requests (links, addresses, routes): what `ip link add`, `ip addr add` and `ip route add`
// send to the kernel, built here without spawning ip. Each builder returns the message and the
// words the syscall log shows for it. Pure (rtnetlink.test.ts checks the bytes); they are sent by
// NetlinkSocket on the host and by the container's own process (Program.netlink) inside it. The
// dump requests (`ip addr`'s two: every link, every address) are read back by interfaces.ts.
import { NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL, NLM_F_REPLACE, NLM_F_REQUEST, message, nestedAttr, stringAttr, u32Attr, attr } from './netlink';

export const RTM_NEWLINK = 16;
export const RTM_DELLINK = 17;
export const RTM_GETLINK = 18;
export const RTM_NEWADDR = 20;
export const RTM_GETADDR = 22;
export const RTM_NEWROUTE = 24;

const AF_UNSPEC = 0;
const AF_INET = 2;
const IFF_UP = 0x1;

const IFLA_IFNAME = 3;
const IFLA_MASTER = 10;
const IFLA_LINKINFO = 18;
const IFLA_NET_NS_PID = 19;
const IFLA_NET_NS_FD = 28;
const IFLA_EXT_MASK = 29;
/** IFLA_EXT_MASK bit: leave out the link counters (most of each link's bytes; nothing here reads them). */
const RTEXT_FILTER_SKIP_STATS = 1 << 3;
const IFLA_INFO_KIND = 1;
const IFLA_INFO_DATA = 2;
const VETH_INFO_PEER = 1;

const IFA_ADDRESS = 1;
const IFA_LOCAL = 2;

const RTA_OIF = 4;
const RTA_GATEWAY = 5;
const RT_TABLE_MAIN = 254;
/** What `ip route add` marks its routes with (shown as no "proto" at all). */
const RTPROT_BOOT = 3;
const RT_SCOPE_UNIVERSE = 0;
const RTN_UNICAST = 1;

/** A request and how the log shows it, e.g. `RTM_NEWLINK lo up`. */
export interface Request {
  message: Buffer;
  what: string;
  /** For a request made inside a namespace: the byte offset of the u32 that gets the index of interface `of` there. */
  index?: { at: number; of: string };
}

const NEW = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;
const SET = NLM_F_REQUEST | NLM_F_ACK;

/** struct ifinfomsg { u8 family, pad; u16 type; i32 index; u32 flags, change }. */
function ifinfomsg(index = 0, flags = 0, change = 0): Buffer {
  const b = Buffer.alloc(16);
  b.writeUInt8(AF_UNSPEC, 0);
  b.writeInt32LE(index, 4);
  b.writeUInt32LE(flags, 8);
  b.writeUInt32LE(change, 12);
  return b;
}

/** struct ifaddrmsg { u8 family, prefixlen, flags, scope; u32 index }. */
function ifaddrmsg(prefixLength: number, index: number): Buffer {
  return Buffer.from([AF_INET, prefixLength, 0, RT_SCOPE_UNIVERSE, ...u32le(index)]);
}

/** struct rtmsg { u8 family, dst_len, src_len, tos, table, protocol, scope, type; u32 flags }. */
function rtmsg(dstLength: number): Buffer {
  return Buffer.from([AF_INET, dstLength, 0, 0, RT_TABLE_MAIN, RTPROT_BOOT, RT_SCOPE_UNIVERSE, RTN_UNICAST, 0, 0, 0, 0]);
}

function u32le(v: number): number[] {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v >>> 0);
  return [...b];
}

export function ipv4(address: string): Buffer {
  const parts = address.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) throw new Error(`not an IPv4 address: ${address}`);
  return Buffer.from(parts);
}

/** Every link of the namespace (`ip link show`'s dump), without counters. */
export function dumpLinks(): Request {
  return { message: message(RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, ifinfomsg(), [u32Attr(IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS)]), what: 'RTM_GETLINK dump' };
}

/** Every address of every family (`ip addr show`'s dump: IPv4 first, then IPv6, as the kernel walks them). */
export function dumpAddresses(): Request {
  return { message: message(RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP, Buffer.alloc(8)), what: 'RTM_GETADDR dump' };
}

/** `ip link add NAME type bridge`. */
export function newBridge(name: string): Request {
  return { message: message(RTM_NEWLINK, NEW, ifinfomsg(), [stringAttr(IFLA_IFNAME, name), nestedAttr(IFLA_LINKINFO, [stringAttr(IFLA_INFO_KIND, 'bridge')])]), what: `RTM_NEWLINK bridge ${name}` };
}

/** A network namespace a new link is born in: a process's (IFLA_NET_NS_PID) or an open nsfs fd's (IFLA_NET_NS_FD). */
export type NetnsRef = { pid: number } | { fd: number };

/**
 * `ip link add NAME master MASTER up type veth peer name PEER netns PID` in one request: the kernel
 * makes both ends or neither, and the peer is born in the network namespace `netns` names (a
 * process's, or one held by an fd: a spare made before its container, spare.ts).
 */
export function newVeth(name: string, master: { name: string; index: number }, peer: string, netns: NetnsRef): Request {
  const where = 'pid' in netns ? u32Attr(IFLA_NET_NS_PID, netns.pid) : u32Attr(IFLA_NET_NS_FD, netns.fd);
  const peerInfo = Buffer.concat([ifinfomsg(), stringAttr(IFLA_IFNAME, peer), where]);
  const linkinfo = nestedAttr(IFLA_LINKINFO, [stringAttr(IFLA_INFO_KIND, 'veth'), nestedAttr(IFLA_INFO_DATA, [attr(VETH_INFO_PEER, peerInfo)])]);
  return {
    message: message(RTM_NEWLINK, NEW, ifinfomsg(0, IFF_UP, IFF_UP), [stringAttr(IFLA_IFNAME, name), u32Attr(IFLA_MASTER, master.index), linkinfo]),
    what: `RTM_NEWLINK veth ${name} master ${master.name} up, peer ${peer} netns ${'pid' in netns ? netns.pid : `fd ${netns.fd}`}`,
  };
}

/** `ip link set NAME up`, the link named (no index needed: the kernel looks the name up). */
export function linkUp(name: string): Request {
  return { message: message(RTM_NEWLINK, SET, ifinfomsg(0, IFF_UP, IFF_UP), [stringAttr(IFLA_IFNAME, name)]), what: `RTM_NEWLINK ${name} up` };
}

/** `ip link del NAME`. */
export function delLink(name: string): Request {
  return { message: message(RTM_DELLINK, SET, ifinfomsg(), [stringAttr(IFLA_IFNAME, name)]), what: `RTM_DELLINK ${name}` };
}

/**
 * `ip addr add ADDRESS/PREFIX dev DEV` (`replace`: `ip addr replace`, which keeps one that is there).
 * An address names its link by index: `index` gives it on the host; inside a namespace the index is
 * filled in there (Request.index).
 */
export function newAddress(address: string, prefixLength: number, dev: { name: string; index?: number }, replace = false): Request {
  const m = message(RTM_NEWADDR, replace ? NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE : NEW, ifaddrmsg(prefixLength, dev.index ?? 0),
    [attr(IFA_LOCAL, ipv4(address)), attr(IFA_ADDRESS, ipv4(address))]);
  return { message: m, what: `RTM_NEWADDR ${address}/${prefixLength} dev ${dev.name}${replace ? ' (replace)' : ''}`, ...(dev.index === undefined ? { index: { at: 16 + 4, of: dev.name } } : {}) };
}

/** `ip route add default via GATEWAY dev DEV`, made inside the namespace: DEV's index is filled in there. */
export function newDefaultRoute(gateway: string, dev: string): Request {
  const m = message(RTM_NEWROUTE, NEW, rtmsg(0), [attr(RTA_GATEWAY, ipv4(gateway)), u32Attr(RTA_OIF, 0)]);
  // nlmsghdr (16) + rtmsg (12) + RTA_GATEWAY (8) + the RTA_OIF header (4): its u32.
  return { message: m, what: `RTM_NEWROUTE default via ${gateway} dev ${dev}`, index: { at: 16 + 12 + 8 + 4, of: dev } };
}
