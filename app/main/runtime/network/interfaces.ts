// The interfaces a process sees (its network namespace) or the host sees, for the side-by-side view:
// `ip -j -d addr`, through nsenter for a container, cached for about a second.
import { namespaceLink, sharesNamespace } from '../inspect/namespaces';
import { getuid } from '../../../../native/libc';
import { ip } from './ip';
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

const CACHE_MS = 1000;
const cache = new Map<string, { at: number; netns: string; value: NetworkInterface[] }>();

/** Interfaces of the host (`'host'`) or of the network namespace process `pid` is in. */
export function interfaces(pid: number | 'host', maxAgeMs = CACHE_MS): NetworkInterface[] {
  const netns = namespaceLink(pid === 'host' ? 'self' : pid, 'net');
  const key = String(pid);
  const hit = cache.get(key);
  const now = Date.now();
  if (hit && hit.netns === netns && now - hit.at < maxAgeMs) return hit.value;
  let out: string;
  if (pid === 'host' || netns === namespaceLink('self', 'net')) {
    out = ip(['-j', '-d', 'addr']);
  } else {
    // Root may enter any namespace; a rootless owner has rights only from inside its user namespace.
    const userns = getuid() !== 0 && !sharesNamespace(pid, 'user');
    out = ip(['-j', '-d', 'addr'], { pid, userns });
  }
  const value = parseIpAddrJson(out);
  cache.set(key, { at: now, netns, value });
  if (cache.size > 64) for (const [k, v] of cache) if (now - v.at >= maxAgeMs) cache.delete(k);
  return value;
}
