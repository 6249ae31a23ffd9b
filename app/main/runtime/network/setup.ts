// A container's network, made by the parent while the child waits before execve:
//  - rootful: a veth pair, one end (lk<id>) on the host bridge locker0, the other created directly
//    in the container's network namespace as eth0, with an address from 10.88.0.0/24 and a default
//    route via the bridge (no NAT, no forwarding: only this machine is reachable);
//  - rootless: loopback only (a veth in the host needs CAP_NET_ADMIN in the host's namespace);
//  - no net namespace: the host's network, nothing to do.
import { existsSync, readdirSync, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { allocateAddress, GATEWAY, IPS_DIR, leaseAlive, leases, PREFIX_LENGTH, releaseAddress } from './addresses';
import { IpError, ip } from './ip';
import { LockerError } from '../errors';
import type { NetworkInfo } from '../../../shared/types';
import { sharesNamespace } from '../inspect/namespaces';

export const BRIDGE = 'locker0';
export const CONTAINER_IF = 'eth0';
/** Host-side veth names: lk + the first 10 hex digits of the container id (IFNAMSIZ allows 15). */
export const VETH_PREFIX = 'lk';

export const ROOTLESS_NOTE =
  'rootless containers have loopback only: creating a veth into the host needs root (CAP_NET_ADMIN in the host network namespace)';
export const HOST_NOTE = "shares the host's network (no net namespace)";

export type { NetworkInfo };

export interface SetupOptions {
  id: string;
  /** Host PID of the waiting child. */
  pid: number;
  rootless: boolean;
  /** The child has a network namespace of its own. */
  ownNetns: boolean;
}

export function hostVethName(id: string): string {
  const hex = id.toLowerCase().replace(/[^0-9a-f]/g, '');
  if (hex.length < 4) throw new Error(`container id ${JSON.stringify(id)} is not hex; cannot name its veth`);
  return VETH_PREFIX + hex.slice(0, 10);
}

const sysNet = (name: string): string => join('/sys/class/net', name);
const linkExists = (name: string): boolean => existsSync(sysNet(name));

function deleteLink(name: string): void {
  if (!linkExists(name)) return;
  try {
    ip(['link', 'del', name]);
  } catch (e) {
    // Gone meanwhile (its namespace died and took the pair with it): fine.
    if (!(e instanceof IpError) || linkExists(name)) throw e;
  }
}

/** Runs in beforeContinue, after the uid/gid maps are written: the network is ready before the command runs. */
export function setupNetwork(opts: SetupOptions): NetworkInfo {
  if (!opts.ownNetns) return { mode: 'host', note: HOST_NOTE };
  // Everything below configures "the container's" namespace: never let a wrong pid make that the host's.
  if (sharesNamespace(opts.pid, 'net')) throw new Error(`process ${opts.pid} is in the host's network namespace; refusing to configure it`);
  if (opts.rootless) {
    try {
      ip(['link', 'set', 'lo', 'up'], { pid: opts.pid, userns: true });
    } catch (e) {
      throw new LockerError(`cannot bring up the container's loopback interface: ${(e as Error).message}`);
    }
    return { mode: 'loopback', note: ROOTLESS_NOTE };
  }
  const veth = hostVethName(opts.id);
  if (linkExists(veth)) throw new LockerError(`the host interface ${veth} exists already (a leftover?); remove it with: ip link del ${veth}`);
  const lease = allocateAddress(opts.id, opts.pid);
  try {
    hostSide(veth, opts.pid);
    ip(['-batch', '-'], { pid: opts.pid }, [
      'link set lo up',
      `addr add ${lease.address}/${PREFIX_LENGTH} dev ${CONTAINER_IF}`,
      `link set ${CONTAINER_IF} up`,
      `route add default via ${GATEWAY} dev ${CONTAINER_IF}`,
    ].join('\n') + '\n');
  } catch (e) {
    try {
      deleteLink(veth);
    } finally {
      releaseAddress(lease.address);
    }
    throw e instanceof IpError ? new LockerError(`cannot set up the container's network: ${e.message}`) : e;
  }
  return { mode: 'bridge', address: lease.address, gateway: GATEWAY, bridge: BRIDGE, hostVeth: veth, containerInterface: CONTAINER_IF };
}

/** Bridge (made when missing; address and up are idempotent) and the veth pair, in one `ip -batch`. */
function hostSide(veth: string, pid: number): void {
  for (let attempt = 0; ; attempt++) {
    const lines: string[] = [];
    if (!existsSync(join(sysNet(BRIDGE), 'bridge'))) lines.push(`link add ${BRIDGE} type bridge`);
    lines.push(
      `addr replace ${GATEWAY}/${PREFIX_LENGTH} dev ${BRIDGE}`,
      `link set ${BRIDGE} up`,
      // The peer is born in the container's namespace, so it can be called eth0 at once.
      `link add ${veth} type veth peer name ${CONTAINER_IF} netns ${pid}`,
      `link set ${veth} master ${BRIDGE} up`,
    );
    try {
      ip(['-batch', '-'], {}, lines.join('\n') + '\n');
      return;
    } catch (e) {
      // Another process made (or removed) the bridge between our look and our batch: once more.
      // Batch errors name the failing line number; lines before the veth's only touch the bridge.
      if (attempt >= 2 || !(e instanceof IpError) || !bridgeRace(e.stderr, lines.length - 1)) throw e;
      deleteLink(veth);
    }
  }
}

/** Whether `ip -batch` failed on a bridge line (before line `vethLine`) or on a missing bridge. */
function bridgeRace(stderr: string, vethLine: number): boolean {
  const line = Number(/Command failed -:(\d+)/.exec(stderr)?.[1] ?? 0);
  return (line > 0 && line < vethLine) || stderr.includes(`"${BRIDGE}"`);
}

/** Deletes the host veth (the peer goes with it) and releases the address. Idempotent; a no-op for loopback/host. */
export function teardownNetwork(id: string): void {
  let veth: string | undefined;
  try {
    veth = hostVethName(id);
  } catch {
    /* not a locker id: nothing of ours */
  }
  if (veth) deleteLink(veth);
  for (const l of leases()) if (l.id === id) releaseAddress(l.address);
}

/**
 * Cleans up after crashed runtimes: leases whose process is gone (and that `isAlive`, when given,
 * does not vouch for), their veths, and locker veths with no lease. Returns what was removed.
 */
export function sweepStaleNetwork(isAlive?: (id: string) => boolean): { veths: string[]; addresses: string[] } {
  const removed = { veths: [] as string[], addresses: [] as string[] };
  // Veths first, then leases: a veth is made only after its lease, so one seen here has its lease below.
  const veths = lockerVeths();
  const all = leases();
  const live = new Set<string>();
  for (const l of all) {
    const stale = l.id === '' ? ageMs(join(IPS_DIR, l.address)) > 60_000 : !leaseAlive(l) && !isAlive?.(l.id);
    if (!stale) {
      if (l.id) live.add(hostVethName(l.id));
      continue;
    }
    if (l.id) {
      const v = hostVethName(l.id);
      if (linkExists(v)) {
        deleteLink(v);
        removed.veths.push(v);
      }
    }
    releaseAddress(l.address);
    removed.addresses.push(l.address);
  }
  for (const v of veths) {
    if (live.has(v) || removed.veths.includes(v) || !linkExists(v)) continue;
    deleteLink(v);
    removed.veths.push(v);
  }
  // Temp files of an allocation that crashed mid-way.
  try {
    for (const f of readdirSync(IPS_DIR)) if (f.startsWith('.new-') && ageMs(join(IPS_DIR, f)) > 60_000) unlinkSync(join(IPS_DIR, f));
  } catch {
    /* no dir yet */
  }
  return removed;
}

function ageMs(path: string): number {
  try {
    return Date.now() - statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}

/** Host interfaces named like our veths: lk + 10 hex digits (the naming is ours alone). */
export function lockerVeths(): string[] {
  try {
    return readdirSync('/sys/class/net').filter((n) => /^lk[0-9a-f]{10}$/.test(n));
  } catch {
    return [];
  }
}

/**
 * Removes the bridge when no port and no lease remain (uninstall, tests). Containers do not remove
 * it on teardown: it is cheap, and a concurrent launch would otherwise race its removal.
 */
export function removeBridgeIfUnused(): boolean {
  if (!linkExists(BRIDGE)) return false;
  let ports: string[] = [];
  try {
    ports = readdirSync(join(sysNet(BRIDGE), 'brif'));
  } catch {
    /* not a bridge */
  }
  if (ports.length > 0 || leases().length > 0) return false;
  deleteLink(BRIDGE);
  return true;
}
