// A bridged container's whole network, made before the container exists (spare.ts keeps one
// ready): a network namespace with lo and eth0 up, the container's address and default route, the
// veth's host end on the bridge, the NAT table; and its cgroup as a container without limits gets
// it (the device allowlist), opened for its process to join. Run on the namespace thread
// (namespace-thread-worker.ts), the one thread that may enter a new network namespace; what it
// makes is the process's (fds, links, files), so the main thread takes it over as it is.
import { close } from '../../../native/libc';
import { cgroupJoinOf, createCgroup, needsCgroup, openCgroupJoin, removeUnusedCgroup, type CgroupHandle } from './cgroups';
import { syscallLog, type SyscallEntry } from '../../../native/syscall-log';
import { allocateAddress, releaseAddress, SUBNET } from './network/addresses';
import { dumpInterfaces } from './network/interfaces';
import { addContainerNat, natTable, natTableName, removeNatTable } from './network/nat';
import { NETLINK_ROUTE, NetlinkSocket, withNetlink } from './network/netlink';
import type { Request } from './network/rtnetlink';
import { BRIDGE, CONTAINER_IF, InterfaceTaken, bridgedContainerSide, deleteLink, hostSide, hostVethName, linkExists } from './network/setup';

/** A network namespace the namespace thread made and left again. */
export interface NewNetns {
  /** Holds the namespace (nsfs): a link can be born in it, a process can join it (setns). */
  netnsFd: number;
  /** A NETLINK_ROUTE socket made in it: requests on it configure that namespace, from any thread. */
  routeFd: number;
}

export interface SpareMade {
  /** The container id it is made for (its veth, NAT table and lease are named by it). */
  id: string;
  address: string;
  netnsFd: number;
  nat: { table: string; rules: string };
  /** The calls made, for the syscall log of the container that takes it. */
  records: SyscallEntry[];
  /** `locker/<id>` with the device rules and no limits, and what its process joins it through (openCgroupJoin's). */
  cgroup?: { paths: string[]; into?: CgroupHandle; writes: CgroupHandle[] };
}

/** Closes what a spare's cgroup is joined through and removes its directories. */
export function dropSpareCgroup(cg: NonNullable<SpareMade['cgroup']>): void {
  cgroupJoinOf(cg.into, cg.writes).close();
  removeUnusedCgroup(cg.paths);
}

/** The message with the index of the namespace's interface filled in, where the request wants it. */
function withIndex(r: Request, index: number): Buffer {
  if (!r.index) return r.message;
  const m = Buffer.from(r.message);
  m.writeUInt32LE(index, r.index.at);
  return m;
}

/** The cgroup a container without limits gets, opened to be joined; all or nothing. */
function spareCgroup(id: string): SpareMade['cgroup'] {
  const cg = createCgroup(id, {});
  try {
    const { into, writes } = openCgroupJoin(cg.paths);
    return { paths: cg.paths, into, writes };
  } catch (e) {
    removeUnusedCgroup(cg.paths);
    throw e;
  }
}

/**
 * Makes container `id`'s network in a namespace of its own (`newNetns` makes it on the calling
 * thread and comes back). All or nothing: on a failure, what was made is undone and the error thrown.
 */
export function makeSpare(id: string, newNetns: () => NewNetns): SpareMade {
  const records: SyscallEntry[] = [];
  const stop = syscallLog.subscribe((e) => records.push(e));
  const veth = hostVethName(id);
  const table = natTableName(veth);
  let address: string | undefined;
  let ns: NewNetns | undefined;
  try {
    if (linkExists(veth)) throw new InterfaceTaken(veth);
    address = allocateAddress(id, process.pid, true).address;
    const made = (ns = newNetns());
    const inside = NetlinkSocket.adopt(made.routeFd, NETLINK_ROUTE);
    try {
      withNetlink(NETLINK_ROUTE, (nl) => hostSide(nl, veth, { fd: made.netnsFd }));
      const eth0 = dumpInterfaces(inside).find((i) => i.name === CONTAINER_IF);
      if (!eth0) throw new Error(`the veth's peer ${CONTAINER_IF} is not in the new network namespace`);
      for (const r of bridgedContainerSide(address)) inside.request(r.what, withIndex(r, eth0.index));
    } finally {
      inside.close(); // a socket holds its namespace: only the fd may keep it
    }
    const nat = addContainerNat(natTable(table, id, address, BRIDGE, SUBNET, []));
    return { id, address, netnsFd: made.netnsFd, nat, records, cgroup: needsCgroup({}) ? spareCgroup(id) : undefined };
  } catch (e) {
    try {
      removeNatTable(table);
      if (ns && !(e instanceof InterfaceTaken)) deleteLink(veth);
    } finally {
      if (ns) close(ns.netnsFd);
      if (address) releaseAddress(address);
    }
    throw e;
  } finally {
    stop();
  }
}
