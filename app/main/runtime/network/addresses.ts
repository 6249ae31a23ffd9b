// Address allocation on the locker bridge's subnet, safe across processes: an address is taken by
// hard-linking a lock file (which already holds its owner) to /run/locker/net/ips/<address>.
// link(2) fails with EEXIST when another process was first, so no two containers share an address.
import { linkSync, mkdirSync, readdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { processStartTime } from '../records';
import { LockerError } from '../errors';

export const SUBNET = '10.88.0.0/24';
export const PREFIX = '10.88.0.';
export const PREFIX_LENGTH = 24;
export const GATEWAY = `${PREFIX}1`;
export const FIRST_HOST = 2;
export const LAST_HOST = 254;

/** Where the address locks live (tmpfs: a reboot frees them all). */
export const RUN_DIR = process.env.LOCKER_NET_RUN_DIR || '/run/locker/net';
export const IPS_DIR = join(RUN_DIR, 'ips');

export interface Lease {
  address: string;
  id: string;
  /** Host PID of the container's init and its start time: lets anyone tell a stale lease after a crash. */
  pid: number;
  pidStartTime: string;
  /**
   * Held for a container not started yet, by the runtime that made its network ahead (spare.ts):
   * no container uses the address, so it keeps no host setting on (ip_forward) and its veth is no leak.
   */
  spare?: boolean;
}

/** Takes the lowest free address for container `id` (`spare`: for a network made ahead of it). */
export function allocateAddress(id: string, pid: number, spare = false): Lease {
  mkdirSync(IPS_DIR, { recursive: true, mode: 0o755 });
  const lease = { id, pid, pidStartTime: processStartTime(pid) ?? '', ...(spare ? { spare: true } : {}) };
  const tmp = join(IPS_DIR, `.new-${id}-${randomBytes(4).toString('hex')}`);
  writeFileSync(tmp, JSON.stringify(lease) + '\n', { flag: 'wx', mode: 0o644 });
  try {
    const taken = new Set(readdirSync(IPS_DIR));
    for (let n = FIRST_HOST; n <= LAST_HOST; n++) {
      const address = PREFIX + n;
      if (taken.has(address)) continue;
      try {
        linkSync(tmp, join(IPS_DIR, address));
        return { address, ...lease };
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
    }
  } finally {
    unlinkSync(tmp);
  }
  throw new LockerError(`no free address left in ${SUBNET} (${LAST_HOST - FIRST_HOST + 1} containers are networked); stop some containers`);
}

/**
 * Gives a lease to another process (the container, once cloned, taking over from the runtime that
 * leased its address before the clone): written beside and renamed over, so the address is never free.
 */
export function handOverAddress(lease: Lease, pid: number): Lease {
  // A spare's lease becomes its container's: spare no more.
  const next: Lease = { address: lease.address, id: lease.id, pid, pidStartTime: processStartTime(pid) ?? '' };
  const tmp = join(IPS_DIR, `.new-${lease.id}-${randomBytes(4).toString('hex')}`);
  writeFileSync(tmp, JSON.stringify({ id: next.id, pid: next.pid, pidStartTime: next.pidStartTime }) + '\n', { flag: 'wx', mode: 0o644 });
  try {
    renameSync(tmp, join(IPS_DIR, lease.address));
  } catch (e) {
    unlinkSync(tmp);
    throw e;
  }
  return next;
}

/** Every lease on record. Unreadable or half-written files come back with id ''. */
export function leases(): Lease[] {
  let names: string[];
  try {
    names = readdirSync(IPS_DIR);
  } catch {
    return [];
  }
  const out: Lease[] = [];
  for (const address of names) {
    if (address.startsWith('.')) continue;
    try {
      const l = JSON.parse(readFileSync(join(IPS_DIR, address), 'utf8')) as Omit<Lease, 'address'>;
      out.push({ address, id: String(l.id ?? ''), pid: Number(l.pid ?? 0), pidStartTime: String(l.pidStartTime ?? ''), ...(l.spare === true ? { spare: true } : {}) });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue; // released meanwhile
      out.push({ address, id: '', pid: 0, pidStartTime: '' });
    }
  }
  return out;
}

export function releaseAddress(address: string): void {
  try {
    unlinkSync(join(IPS_DIR, address));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}

/** The leases of containers (a spare network's address is held for none yet). */
export const containerLeases = (): Lease[] => leases().filter((l) => !l.spare);

/** Whether the lease's process still runs (same PID and start time). */
export function leaseAlive(l: Lease): boolean {
  return l.pid > 0 && l.pidStartTime !== '' && processStartTime(l.pid) === l.pidStartTime;
}
