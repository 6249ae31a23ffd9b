// A container's network, made by the parent while the child waits before execve:
//  - rootful bridge (the default): a veth pair, one end (lk<id>) on the host bridge locker0, the
//    other created directly in the container's network namespace as eth0, with an address from
//    10.88.0.0/24 and a default route via the bridge; outbound NAT and -p in an nftables table of
//    the container's own (nat.ts), ip_forward on while a bridged container runs (forwarding.ts);
//  - rootless bridge: pasta (usermode.ts) when it can run, else loopback only;
//  - --network none: loopback only;
//  - no net namespace (--network host): the host's network, nothing to do.
import { existsSync, readdirSync, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { allocateAddress, GATEWAY, IPS_DIR, leaseAlive, leases, PREFIX_LENGTH, releaseAddress, SUBNET } from './addresses';
import { IpError, ip } from './ip';
import { LockerError } from '../errors';
import type { NetworkInfo, NetworkMode, PortSpec, PublishedPort } from '../../../shared/types';
import { addContainerNat, lockerNatTables, natScript, natTableName, removeNatTable } from './nat';
import { ensureForwarding, restoreForwardingIfUnused } from './forwarding';
import { leaseLive, portLeases, releasePorts, reservePorts } from './ports';
import { startPasta, stopPasta, userModeTools } from './usermode';
import { writeHostsAddress } from './etc-files';
import { syscallLog } from '../../../../native/syscall-log';
import { sharesNamespace } from '../inspect/namespaces';

export const BRIDGE = 'locker0';
export const CONTAINER_IF = 'eth0';
/** Host-side veth names: lk + the first 10 hex digits of the container id (IFNAMSIZ allows 15). */
export const VETH_PREFIX = 'lk';

export const ROOTLESS_NOTE =
  'rootless containers have loopback only: creating a veth into the host needs root (CAP_NET_ADMIN in the host network namespace)';
export const HOST_NOTE = "shares the host's network (no net namespace)";
export const NONE_NOTE = 'loopback only (--network none)';

export type { NetworkInfo };

export interface SetupOptions {
  id: string;
  /** Host PID of the waiting child. */
  pid: number;
  rootless: boolean;
  /** The child has a network namespace of its own. */
  ownNetns: boolean;
  /** --network (bridge when omitted); host means no net namespace, so ownNetns is false. */
  mode?: NetworkMode;
  /** -p, checked already (spec.ts, ports.checkPublishable). */
  ports?: readonly PortSpec[];
  /** The container's dir: its /etc/hosts gets the address there, pasta's pid file goes there. */
  dir?: string;
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
  const ports = opts.ports ?? [];
  if (opts.mode === 'none' || opts.rootless) {
    const usermode = opts.mode !== 'none' && opts.rootless ? userModeTools() : {};
    if (usermode.pasta && !usermode.tunProblem) return pastaNetwork(opts, usermode.pasta, ports);
    if (ports.length) throw new LockerError(`-p needs a user-mode network without root, and ${usermode.pasta ? `pasta cannot run: ${usermode.tunProblem}` : 'pasta is not installed (apt install passt)'}; or run as root`);
    try {
      ip(['link', 'set', 'lo', 'up'], { pid: opts.pid, userns: opts.rootless });
    } catch (e) {
      throw new LockerError(`cannot bring up the container's loopback interface: ${(e as Error).message}`);
    }
    const note = opts.mode === 'none' ? NONE_NOTE : `${ROOTLESS_NOTE}; ${usermode.pasta ? `pasta cannot run: ${usermode.tunProblem}` : 'install passt (pasta) for outbound network and -p'}`;
    return { mode: 'loopback', note };
  }
  const veth = hostVethName(opts.id);
  if (linkExists(veth)) throw new LockerError(`the host interface ${veth} exists already (a leftover?); remove it with: ip link del ${veth}`);
  const lease = allocateAddress(opts.id, opts.pid);
  const table = natTableName(veth);
  try {
    reservePorts(opts.id, opts.pid, ports);
    hostSide(veth, opts.pid);
    ip(['-batch', '-'], { pid: opts.pid }, [
      'link set lo up',
      `addr add ${lease.address}/${PREFIX_LENGTH} dev ${CONTAINER_IF}`,
      `link set ${CONTAINER_IF} up`,
      `route add default via ${GATEWAY} dev ${CONTAINER_IF}`,
    ].join('\n') + '\n');
    const forwardingByLocker = ensureForwarding();
    // A 127.x source may leave on locker0 only with route_localnet: the path of -p from the host's own 127.0.0.1.
    if (ports.length) writeSysctl(`/proc/sys/net/ipv4/conf/${BRIDGE}/route_localnet`, '1');
    const nat = addContainerNat(table, natScript(table, opts.id, lease.address, BRIDGE, SUBNET, ports));
    if (opts.dir) writeHostsAddress(opts.dir, lease.address);
    const published: PublishedPort[] = ports.map((p) => ({ ...p, via: 'dnat' }));
    const hostChanges = [
      `veth ${veth} on bridge ${BRIDGE} (${GATEWAY}/${PREFIX_LENGTH})`,
      `nftables table ip ${table}: masquerade for ${lease.address}${ports.length ? `, DNAT for ${ports.map(portText).join(', ')}` : ''}`,
      forwardingByLocker ? 'net.ipv4.ip_forward=1 (Locker puts the old value back when the last bridged container ends)' : 'net.ipv4.ip_forward was 1 already (left as it was)',
      ...(ports.length ? [`net.ipv4.conf.${BRIDGE}.route_localnet=1 (lets 127.0.0.1:PORT reach the container)`] : []),
    ];
    return { mode: 'bridge', address: lease.address, gateway: GATEWAY, bridge: BRIDGE, hostVeth: veth, containerInterface: CONTAINER_IF, published, hostChanges, nat };
  } catch (e) {
    try {
      removeNatTable(table);
      deleteLink(veth);
      releasePorts(opts.id);
    } finally {
      releaseAddress(lease.address);
      restoreForwardingIfUnused();
    }
    throw e instanceof IpError ? new LockerError(`cannot set up the container's network: ${e.message}`) : e;
  }
}

const portText = (p: PortSpec): string => `${p.hostIp ?? '0.0.0.0'}:${p.hostPort}->${p.containerPort}/${p.protocol}`;

function writeSysctl(path: string, value: string): void {
  writeFileSync(path, value);
  syscallLog.record({ where: 'host', name: 'write', args: `"${path}", "${value}"`, result: value.length, t: Date.now() });
}

// No port locks here (their dir is root's): pasta's own listening sockets hold the ports, and
// checkPublishable finds them in /proc/net before a second launch.
function pastaNetwork(opts: SetupOptions, pasta: string, ports: readonly PortSpec[]): NetworkInfo {
  const helper = startPasta(pasta, opts.pid, ports, opts.dir ?? '/tmp');
  return {
    mode: 'pasta', note: 'user-mode network through pasta: the host\'s addresses on a tap device, no root needed', helper,
    published: ports.map((p) => ({ ...p, via: 'pasta' })),
    hostChanges: [`pasta process ${helper.pid} (exits with the container's network namespace)${ports.length ? `, listening on ${ports.map(portText).join(', ')}` : ''}`],
  };
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

/**
 * Deletes the host veth (the peer goes with it), the container's nftables table and port locks, and
 * releases the address; ip_forward goes back when no bridged container is left; with the container's
 * dir, its pasta is stopped. Idempotent.
 */
export function teardownNetwork(id: string, dir?: string): void {
  if (dir) stopPasta(dir);
  let veth: string | undefined;
  try {
    veth = hostVethName(id);
  } catch {
    /* not a locker id: nothing of ours */
  }
  if (veth) deleteLink(veth);
  if (veth && process.getuid?.() === 0) removeNatTable(natTableName(veth));
  releasePorts(id);
  for (const l of leases()) if (l.id === id) releaseAddress(l.address);
  if (process.getuid?.() === 0) restoreForwardingIfUnused();
}

/**
 * Cleans up after crashed runtimes: leases whose process is gone (and that `isAlive`, when given,
 * does not vouch for), their veths, and locker veths with no lease. Returns what was removed.
 */
export function sweepStaleNetwork(isAlive?: (id: string) => boolean): { veths: string[]; addresses: string[]; tables: string[]; ports: string[]; ipForward?: string } {
  const removed = { veths: [] as string[], addresses: [] as string[], tables: [] as string[], ports: [] as string[], ipForward: undefined as string | undefined };
  // Tables before leases, like veths: a table is made only after its lease.
  const tables = process.getuid?.() === 0 ? lockerNatTables() : [];
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
  for (const t of tables) {
    if (live.has(`lk${t.slice(t.indexOf('_') + 1)}`)) continue;
    if (removeNatTable(t)) removed.tables.push(t);
  }
  for (const l of portLeases()) {
    if (leaseLive(l) || isAlive?.(l.id)) continue;
    removed.ports.push(...releasePorts(l.id));
  }
  if (process.getuid?.() === 0) removed.ipForward = restoreForwardingIfUnused();
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
