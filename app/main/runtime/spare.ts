// What the next container holds on the host, kept ready (Runtime option spareNetwork: the app's
// runtime): what costs a launch the most after its mounts (the veth pair, the addresses and route,
// the NAT table; 2-3 ms of netlink), its cgroup and its pty are made ahead, the network and the
// cgroup by the namespace thread, in a network namespace of its own, while nobody waits. A launch
// that takes it has its process join that namespace (setns) instead of making one with its clone,
// and a new spare is made behind it.
//
// What a spare holds on the host is this process's: the namespace lives on its fd (the veth goes
// with the namespace when the process dies, however it dies); its address lease names this process
// and is marked spare (no ip_forward is held for it, its veth is no leak); a crash leaves the lease
// and the NAT table to the next recovery's sweep, as a crashed launch leaves them. On a clean exit
// all of it is removed. Root only, the default bridge only (no -p, no user namespace).
import { close } from '../../../native/libc';
import { syscallLog } from '../../../native/syscall-log';
import { randomContainerId } from './ids';
import { makeSpareNetwork } from './namespace-thread';
import { releaseAddress } from './network/addresses';
import { natTableName, removeNatTable } from './network/nat';
import { deleteLink, hostVethName, type NetworkOptions, type NetworkPlan } from './network/setup';
import { dropSpareCgroup, type SpareMade } from './spare-make';
import { openPty, type PtyEnds } from './terminal';
import { PreCloned } from '../../../native/spawn';
import { STARTED_AHEAD_FLAGS, spareStart } from './plan';

/** A spare as this thread keeps it: what the namespace thread made, and a pty opened here (its reader is this thread's). */
export interface Spare extends SpareMade {
  pty?: PtyEnds;
  /**
   * The container's process itself, cloned already (spareStart): in the cgroup and network
   * namespace, holding the pty's slave and nothing else, waiting for the rest of its program.
   */
  process?: PreCloned;
}

let ready: Spare | undefined;
let making: Promise<void> | undefined;
let releaseOnExit = false;

/** Starts making a spare unless one is ready or being made. Never throws: a failure leaves the next launch to make its own. */
export function keepSpareReady(): void {
  if (ready || making || process.getuid?.() !== 0) return;
  making = makeSpareNetwork(randomContainerId())
    .then((s) => {
      const pty = sparePty();
      ready = { ...s, pty, process: pty && preClone(s, pty) };
      if (!releaseOnExit) {
        releaseOnExit = true;
        process.on('exit', releaseSpare);
      }
    })
    .catch(() => {
      // e.g. no bridge or nf_tables here: the launch's own network setup says why, with its context
    })
    .finally(() => {
      making = undefined;
    });
}

/** Resolves once no spare is being made (tests, and a caller that wants the next launch to find one). */
export async function spareSettled(): Promise<boolean> {
  await making;
  return ready !== undefined;
}

/** The ready spare's container id, if one is ready. */
export const spareId = (): string | undefined => ready?.id;
/** The host pid of the ready spare's process, cloned ahead, if it has one. */
export const spareProcessPid = (): number | undefined => ready?.process?.pid;

/** Takes the ready spare when `usable(its id)`; one that is not (the id taken meanwhile) is removed. */
export function takeSpare(usable: (id: string) => boolean): Spare | undefined {
  const s = ready;
  ready = undefined;
  if (s && !usable(s.id)) {
    discard(s);
    return undefined;
  }
  return s;
}

/** Removes the ready spare, if any: its NAT table, its veth (and so its namespace), its cgroup, its lease. */
export function releaseSpare(): void {
  const s = ready;
  ready = undefined;
  if (s) discard(s);
}

/** A spare taken but not used (the launch failed before it began): ready again, or removed when another is. */
export function returnSpare(s: Spare): void {
  if (ready) discard(s);
  else ready = s;
}

/** A pty for the next container's terminal (resized to its size when taken), or none when one cannot be had now. */
function sparePty(): PtyEnds | undefined {
  try {
    return openPty(80, 24);
  } catch {
    return undefined;
  }
}

/** The container's process, cloned ahead; none when it cannot be had (the spare is no less good). */
function preClone(s: SpareMade, pty: PtyEnds): PreCloned | undefined {
  try {
    return new PreCloned(STARTED_AHEAD_FLAGS, ({ report, load }) => spareStart({ cgroupFiles: s.cgroup?.writes ?? [], netnsFd: s.netnsFd, keep: [report, load, pty.slaveFd] }), s.cgroup?.into);
  } catch {
    return undefined;
  }
}

function discard(s: Spare): void {
  // First the process: it is in the cgroup, which can go only once it is empty.
  s.process?.close();
  s.pty?.handle.close();
  try {
    const veth = hostVethName(s.id);
    removeNatTable(natTableName(veth));
    deleteLink(veth);
    if (s.cgroup) dropSpareCgroup(s.cgroup);
  } finally {
    close(s.netnsFd);
    releaseAddress(s.address);
  }
}

/**
 * A taken spare as the launch's network plan, and the thread's calls in the syscall log (under the
 * caller's container context). Its address goes into /etc/hosts with the rest (etcFiles); the
 * lease to the pid and ip_forward are setupNetwork's, while the child makes its mounts. The plan's
 * netnsFd is the caller's to close once the container joined it.
 */
export function spareNetworkPlan(s: Spare, opts: NetworkOptions): NetworkPlan {
  for (const r of s.records) syscallLog.record(r);
  return {
    options: opts, kind: 'bridge', inContainer: [],
    lease: { address: s.address, id: s.id, pid: process.pid, pidStartTime: '', spare: true },
    spare: { netnsFd: s.netnsFd, nat: s.nat },
  };
}
