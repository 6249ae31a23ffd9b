// A container's network, decided before the clone (planNetwork) and made in two halves while the
// child waits before execve, both through rtnetlink (rtnetlink.ts), no `ip` spawned:
//  - rootful bridge (the default): the parent makes the host bridge locker0 and a veth pair, one end
//    (lk<id>) on the bridge, the other born in the container's network namespace as eth0
//    (setupNetwork); the container's own process then brings lo and eth0 up, puts its address from
//    10.88.0.0/24 on eth0 and a default route via the bridge (its first steps, Program.netlink);
//    outbound NAT and -p in an nftables table of the container's own (nat.ts), ip_forward on while
//    a bridged container runs (forwarding.ts);
//  - rootless bridge: pasta (usermode.ts) when it can run, else loopback only;
//  - --network none: loopback only (the container brings lo up itself: a rootless container's
//    namespace belongs to its user namespace, where it, not the runtime, holds CAP_NET_ADMIN);
//  - no net namespace (--network host): the host's network, nothing to do.
import { existsSync, readdirSync, readFileSync, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { allocateAddress, GATEWAY, handOverAddress, IPS_DIR, leaseAlive, leases, PREFIX_LENGTH, releaseAddress, SUBNET, type Lease } from './addresses';
import { LockerError } from '../errors';
import type { NetworkInfo, NetworkMode, PortSpec, PublishedPort } from '../../../shared/types';
import { addContainerNat, lockerNatTables, natTable, natTableName, removeNatTable } from './nat';
import { ensureForwarding, restoreForwardingIfUnused } from './forwarding';
import { leaseLive, portLeases, releasePorts, reservePorts } from './ports';
import { startPasta, stopPasta, userModeTools } from './usermode';
import { writeHostsAddress } from './etc-files';
import { syscallLog } from '../../../../native/syscall-log';
import { SyscallError } from '../../../../native/errors';
import type { Program } from '../../../../native/program';
import { sharesNamespace } from '../inspect/namespaces';
import { NETLINK_ROUTE, refusedWith, withNetlink, type NetlinkSocket } from './netlink';
import { delLink, linkUp, newAddress, newBridge, newDefaultRoute, newVeth, type NetnsRef, type Request } from './rtnetlink';

export const BRIDGE = 'locker0';
export const CONTAINER_IF = 'eth0';
/** Host-side veth names: lk + the first 10 hex digits of the container id (IFNAMSIZ allows 15). */
export const VETH_PREFIX = 'lk';

export const ROOTLESS_NOTE =
  'rootless containers have loopback only: creating a veth into the host needs root (CAP_NET_ADMIN in the host network namespace)';
export const HOST_NOTE = "shares the host's network (no net namespace)";
export const NONE_NOTE = 'loopback only (--network none)';
export const SPARE_NOTE = 'all of this was made ahead, before Run, by a worker thread of the runtime: a network namespace of its own (unshare), then joined by the container\'s process (setns) instead of made by its clone';

export type { NetworkInfo };

export interface NetworkOptions {
  id: string;
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

/**
 * A container's network as decided before its clone. The address of a bridged container is leased
 * already (held by this process until setupNetwork hands it to the child); teardownNetwork(id)
 * gives everything back when the launch fails.
 */
export interface NetworkPlan {
  readonly options: NetworkOptions;
  readonly kind: 'host' | 'loopback' | 'bridge' | 'pasta';
  readonly lease?: Lease;
  /** The container's own half: netlink requests its process makes first, in its new namespace. */
  readonly inContainer: readonly Request[];
  readonly pasta?: string;
  readonly note?: string;
  /**
   * Made ahead of its container (spare.ts): the network namespace, held by netnsFd, with its veth,
   * address, route and NAT table; the container's process joins it (setns) instead of a new one,
   * and nothing is left to do but hand the lease over to its pid (setupNetwork).
   */
  readonly spare?: { netnsFd: number; nat: { table: string; rules: string } };
}

export function hostVethName(id: string): string {
  const hex = id.toLowerCase().replace(/[^0-9a-f]/g, '');
  if (hex.length < 4) throw new Error(`container id ${JSON.stringify(id)} is not hex; cannot name its veth`);
  return VETH_PREFIX + hex.slice(0, 10);
}

const sysNet = (name: string): string => join('/sys/class/net', name);
export const linkExists = (name: string): boolean => existsSync(sysNet(name));
const isBridge = (name: string): boolean => existsSync(join(sysNet(name), 'bridge'));
/** A host interface of our veth's name that is not ours (a leftover, or made meanwhile). */
export class InterfaceTaken extends LockerError {
  constructor(name: string) {
    super(`the host interface ${name} exists already (a leftover?); remove it with: ip link del ${name}`);
  }
}

/** RTM_DELLINK of a host interface; one that is gone already (its namespace died and took the pair) is fine. */
export function deleteLink(name: string): void {
  if (!linkExists(name)) return;
  const r = delLink(name);
  try {
    withNetlink(NETLINK_ROUTE, (nl) => nl.request(r.what, r.message));
  } catch (e) {
    if (!refusedWith(e, 'ENODEV') || linkExists(name)) throw e;
  }
}

/** Decides the network before the clone: which kind, the address (leased now) and the container's own steps. */
export function planNetwork(opts: NetworkOptions): NetworkPlan {
  if (!opts.ownNetns) return { options: opts, kind: 'host', note: HOST_NOTE, inContainer: [] };
  const ports = opts.ports ?? [];
  if (opts.mode === 'none' || opts.rootless) {
    const usermode = opts.mode !== 'none' && opts.rootless ? userModeTools() : {};
    if (usermode.pasta && !usermode.tunProblem) return { options: opts, kind: 'pasta', pasta: usermode.pasta, inContainer: [] };
    if (ports.length) throw new LockerError(`-p needs a user-mode network without root, and ${usermode.pasta ? `pasta cannot run: ${usermode.tunProblem}` : 'pasta is not installed (apt install passt)'}; or run as root`);
    const note = opts.mode === 'none' ? NONE_NOTE : `${ROOTLESS_NOTE}; ${usermode.pasta ? `pasta cannot run: ${usermode.tunProblem}` : 'install passt (pasta) for outbound network and -p'}`;
    return { options: opts, kind: 'loopback', note, inContainer: [linkUp('lo')] };
  }
  const veth = hostVethName(opts.id);
  if (linkExists(veth)) throw new InterfaceTaken(veth);
  // Held by this process until the child exists (a crash before then leaves a lease the sweep sees as stale).
  const lease = allocateAddress(opts.id, process.pid);
  return {
    options: opts, kind: 'bridge', lease,
    // The veth is there before these run: the child runs them after the parent let it go.
    inContainer: bridgedContainerSide(lease.address),
  };
}

/**
 * A bridged container's own half, in its namespace: lo and eth0 up, its address on eth0, the
 * default route via the bridge. eth0's index is filled in there (Request.index).
 */
export function bridgedContainerSide(address: string): Request[] {
  return [
    linkUp('lo'),
    newAddress(address, PREFIX_LENGTH, { name: CONTAINER_IF }),
    linkUp(CONTAINER_IF),
    newDefaultRoute(GATEWAY, CONTAINER_IF),
  ];
}

/** Adds the container's half of `plan` to its program: the first steps after the parent lets it go. */
export function addContainerSteps(program: Program, plan: NetworkPlan): void {
  for (const r of plan.inContainer) program.netlink(NETLINK_ROUTE, 'NETLINK_ROUTE', r);
}

/**
 * A failed container-side step (a sendmsg(NETLINK_ROUTE, …) of the child) as one line for the
 * person who launched it; undefined for any other error.
 */
export function containerNetworkError(e: unknown): LockerError | undefined {
  if (!(e instanceof SyscallError) || e.syscall !== 'sendmsg' || !e.args.startsWith('NETLINK_ROUTE')) return undefined;
  return new LockerError(e.args.includes('RTM_NEWLINK lo up') ? `cannot bring up the container's loopback interface: ${e.message}` : `cannot set up the container's network: ${e.message}`);
}

/** A failed host-side netlink request as one line for the person who launched the container. */
const hostSideError = (e: unknown): unknown =>
  e instanceof SyscallError && e.syscall === 'sendmsg' ? new LockerError(`cannot set up the container's network: ${e.message}`) : e;

/** What prepareNetwork made ahead of the pid: the container's NAT table, ip_forward, its address in /etc/hosts. */
export interface PreparedNetwork {
  nat: { table: string; rules: string };
  forwardingByLocker: boolean;
}

/**
 * The part of the host's half that needs no pid, made while the clone is made (SpawnOptions
 * whileCloning): ip_forward, the NAT table (its address is leased already), the address in the
 * container's /etc/hosts. Nothing for other kinds, nor with -p: its DNAT rules come once its ports
 * are reserved, which needs the pid. On a failure, what it made is undone.
 */
export function prepareNetwork(plan: NetworkPlan): PreparedNetwork | undefined {
  if (plan.kind !== 'bridge' || (plan.options.ports ?? []).length || plan.spare) return undefined;
  try {
    return natAndForwarding(plan, plan.lease!.address);
  } catch (e) {
    try {
      removeNatTable(natTableName(hostVethName(plan.options.id)));
    } finally {
      releaseAddress(plan.lease!.address);
      restoreForwardingIfUnused();
    }
    throw hostSideError(e);
  }
}

/**
 * What is left of a spare's network once its lease is the container's (so that a runtime putting
 * ip_forward back meanwhile counts it): ip_forward on. /etc/hosts has its address already (etcFiles).
 */
function spareDone(nat: PreparedNetwork['nat']): PreparedNetwork {
  return { nat, forwardingByLocker: ensureForwarding() };
}

function natAndForwarding(plan: NetworkPlan, address: string): PreparedNetwork {
  const opts = plan.options;
  const ports = opts.ports ?? [];
  const forwardingByLocker = ensureForwarding();
  // A 127.x source may leave on locker0 only with route_localnet: the path of -p from the host's own 127.0.0.1.
  if (ports.length) writeSysctl(`/proc/sys/net/ipv4/conf/${BRIDGE}/route_localnet`, '1');
  const nat = addContainerNat(natTable(natTableName(hostVethName(opts.id)), opts.id, address, BRIDGE, SUBNET, ports));
  if (opts.dir) writeHostsAddress(opts.dir, address);
  return { nat, forwardingByLocker };
}

/**
 * The host's half, in beforeContinue after the uid/gid maps are written (pid: the waiting child):
 * the network is ready before the command runs. `prepared`: what prepareNetwork made already. Of a
 * spare's, all that is left: the lease handed to the pid, and ip_forward.
 */
export function setupNetwork(plan: NetworkPlan, pid: number, prepared?: PreparedNetwork): NetworkInfo {
  const opts = plan.options;
  if (plan.kind === 'host') return { mode: 'host', note: HOST_NOTE };
  const veth = hostVethName(opts.id);
  const table = natTableName(veth);
  // Everything below configures "the container's" namespace: never let a wrong pid make that the host's.
  // (A spare's was made before there was a pid; its process may have run and exited by now.)
  if (!plan.spare && sharesNamespace(pid, 'net')) {
    if (prepared) {
      removeNatTable(table);
      restoreForwardingIfUnused();
    }
    throw new Error(`process ${pid} is in the host's network namespace; refusing to configure it`);
  }
  const ports = opts.ports ?? [];
  if (plan.kind === 'pasta') return pastaNetwork(opts, pid, plan.pasta!, ports);
  if (plan.kind === 'loopback') return { mode: 'loopback', note: plan.note };
  const lease = handOverAddress(plan.lease!, pid);
  try {
    reservePorts(opts.id, pid, ports);
    if (!plan.spare) withNetlink(NETLINK_ROUTE, (nl) => hostSide(nl, veth, { pid }));
    const { nat, forwardingByLocker } = prepared ?? (plan.spare ? spareDone(plan.spare.nat) : natAndForwarding(plan, lease.address));
    const published: PublishedPort[] = ports.map((p) => ({ ...p, via: 'dnat' }));
    const hostChanges = [
      `veth ${veth} on bridge ${BRIDGE} (${GATEWAY}/${PREFIX_LENGTH})`,
      `nftables table ip ${table}: masquerade for ${lease.address}${ports.length ? `, DNAT for ${ports.map(portText).join(', ')}` : ''}`,
      forwardingByLocker ? 'net.ipv4.ip_forward=1 (Locker puts the old value back when the last bridged container ends)' : 'net.ipv4.ip_forward was 1 already (left as it was)',
      ...(ports.length ? [`net.ipv4.conf.${BRIDGE}.route_localnet=1 (lets 127.0.0.1:PORT reach the container)`] : []),
      ...(plan.spare ? [SPARE_NOTE] : []),
    ];
    return { mode: 'bridge', address: lease.address, gateway: GATEWAY, bridge: BRIDGE, hostVeth: veth, containerInterface: CONTAINER_IF, published, hostChanges, nat };
  } catch (e) {
    try {
      removeNatTable(table);
      // Only ours: a veth of that name made by someone else since planNetwork looked stays.
      if (!(e instanceof InterfaceTaken)) deleteLink(veth);
      releasePorts(opts.id);
    } finally {
      releaseAddress(lease.address);
      restoreForwardingIfUnused();
    }
    throw hostSideError(e);
  }
}

const portText = (p: PortSpec): string => `${p.hostIp ?? '0.0.0.0'}:${p.hostPort}->${p.containerPort}/${p.protocol}`;

function writeSysctl(path: string, value: string): void {
  writeFileSync(path, value);
  syscallLog.record({ where: 'host', name: 'write', args: `"${path}", "${value}"`, result: value.length, t: Date.now() });
}

// No port locks here (their dir is root's): pasta's own listening sockets hold the ports, and
// checkPublishable finds them in /proc/net before a second launch.
function pastaNetwork(opts: NetworkOptions, pid: number, pasta: string, ports: readonly PortSpec[]): NetworkInfo {
  const helper = startPasta(pasta, pid, ports, opts.dir ?? '/tmp');
  return {
    mode: 'pasta', note: 'user-mode network through pasta: the host\'s addresses on a tap device, no root needed', helper,
    published: ports.map((p) => ({ ...p, via: 'pasta' })),
    hostChanges: [`pasta process ${helper.pid} (exits with the container's network namespace)${ports.length ? `, listening on ${ports.map(portText).join(', ')}` : ''}`],
  };
}

/** The bridge's index (an address names its link by index), or undefined when it is gone. */
function bridgeIndex(): number | undefined {
  try {
    return Number(readFileSync(join(sysNet(BRIDGE), 'ifindex'), 'utf8'));
  } catch {
    return undefined;
  }
}

/**
 * The bridge (made when missing; address and up are idempotent), then the veth pair in one request:
 * its host end on the bridge and up, its peer born in the container's namespace (a process's, or a
 * spare's held by an fd), so it can be called eth0 at once. The kernel makes both ends or neither.
 */
export function hostSide(nl: NetlinkSocket, veth: string, netns: NetnsRef): void {
  const send = (r: Request): void => nl.request(r.what, r.message);
  for (let attempt = 0; ; attempt++) {
    let index: number | undefined;
    let bridgeStep = true;
    try {
      if (!isBridge(BRIDGE)) {
        try {
          send(newBridge(BRIDGE));
        } catch (e) {
          // Made by another launch between our look and our request: that one is as good.
          if (!refusedWith(e, 'EEXIST')) throw e;
          if (linkExists(BRIDGE) && !isBridge(BRIDGE)) throw new LockerError(`the host interface ${BRIDGE} exists and is not a bridge; remove it with: ip link del ${BRIDGE}`);
        }
      }
      index = bridgeIndex();
      if (index === undefined) throw new BridgeGone();
      send(newAddress(GATEWAY, PREFIX_LENGTH, { name: BRIDGE, index }, true));
      send(linkUp(BRIDGE));
      bridgeStep = false;
      try {
        send(newVeth(veth, { name: BRIDGE, index }, CONTAINER_IF, netns));
      } catch (e) {
        throw refusedWith(e, 'EEXIST') ? new InterfaceTaken(veth) : e;
      }
      return;
    } catch (e) {
      // Another process removed (and maybe made again) the bridge between our look and our requests: once more.
      const race = e instanceof BridgeGone || (e instanceof SyscallError && (bridgeStep ? e.code === 'ENODEV' : bridgeIndex() !== index));
      if (attempt >= 2 || !race) throw e instanceof BridgeGone ? new LockerError(`the bridge ${BRIDGE} keeps disappearing while a container is connected to it; is something else removing it?`) : e;
    }
  }
}

class BridgeGone extends Error {}

/**
 * Deletes the host veth (the peer goes with it), the container's nftables table and port locks, and
 * releases the address; ip_forward goes back when no bridged container is left; with the container's
 * dir, its pasta is stopped. Idempotent.
 */
export function teardownNetwork(id: string, dir?: string): void {
  const veth = releaseFirst(id, dir);
  if (veth) deleteLink(veth);
  releaseLease(id);
}

/** How long the kernel gets to take a dead container's veth away with its namespace. */
const VETH_GONE_MS = 1000;

/**
 * teardownNetwork after the container ended, for a caller that need not wait for all of it (the
 * resident CLI server answering its client). What another launch could collide with goes at once:
 * the NAT table (its -p rules) and the port locks. The veth is the kernel's to remove: the
 * container's network namespace died with its last process and takes the pair along, while an
 * RTM_DELLINK now would wait for that (10-20 ms, rtnl). The address lease goes once the veth is
 * gone, and ip_forward is put back then. Resolves when all is released; a veth still there after
 * VETH_GONE_MS (something else holds the namespace) is deleted.
 */
export async function teardownNetworkAfterExit(id: string, dir?: string): Promise<void> {
  const veth = releaseFirst(id, dir);
  if (veth) {
    const end = Date.now() + VETH_GONE_MS;
    while (linkExists(veth) && Date.now() < end) await new Promise((r) => setTimeout(r, 2));
    deleteLink(veth);
  }
  releaseLease(id);
}

/** A teardown's first part: pasta, the NAT table and the port locks. Answers the veth's name (undefined: not a locker id). */
function releaseFirst(id: string, dir?: string): string | undefined {
  if (dir) stopPasta(dir);
  releasePorts(id);
  let veth: string | undefined;
  try {
    veth = hostVethName(id);
  } catch {
    return undefined; // not a locker id: no veth or table of ours
  }
  if (process.getuid?.() === 0) removeNatTable(natTableName(veth));
  return veth;
}

/** A teardown's last part, once the veth is gone: the address lease, then ip_forward when no container holds one. */
function releaseLease(id: string): void {
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
