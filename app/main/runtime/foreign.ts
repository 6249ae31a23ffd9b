// Containers Locker did not make (runc, crun, podman, docker, nspawn, LXC, bwrap…), as the app and
// the CLI show them: found by discovery, described like Locker's own, and never changed except by
// an explicit exec (setns into it). Their engine is named so nobody mistakes them for ours.
import { readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { NAMESPACES, type ContainerInfo, type Namespace } from '../../shared/types';
import { hostLayout, parseProcCgroup, type CgroupLayout } from './cgroups';
import { discoverContainers, findDiscovered, type DiscoveredContainer } from './discover';
import { processStartTime } from './records';
import { readProcFile, readProcText } from './inspect/proc-read';
import { LockerError } from './errors';
import type { ExecTarget } from './exec';

/** Locker's own running containers by init PID, so discovery names them from their records. */
export function lockerRecords(list: ContainerInfo[]): Map<number, { id: string; name: string }> {
  return new Map(list.filter((c) => c.state === 'running').map((c) => [c.pid, { id: c.id, name: c.name }]));
}

/** Every container on the machine that is not one of `own`. */
export function foreignContainers(own: ContainerInfo[]): DiscoveredContainer[] {
  const ids = new Set(own.map((c) => c.id));
  return discoverContainers(lockerRecords(own)).filter((c) => !(c.engine === 'locker' && ids.has(c.id)));
}

export function findForeign(ref: string, own: ContainerInfo[]): DiscoveredContainer | undefined {
  return findDiscovered(foreignContainers(own), ref);
}

const BOOT_MS = Date.now() - Number(readProcText('/proc/uptime')?.split(' ')[0] ?? 0) * 1000;
const CLK_TCK = 100;

/** A foreign container in the shape of Locker's ContainerInfo, with its engine named. */
export function foreignInfo(d: DiscoveredContainer): ContainerInfo {
  const ticks = Number(processStartTime(d.pid) ?? 0);
  let hostname = '';
  try {
    hostname = readProcText(`/proc/${d.pid}/root/etc/hostname`)?.trim() ?? '';
  } catch {
    // unreadable: the inspection shows the UTS name anyway
  }
  return {
    id: d.id, name: d.name, command: d.command.split(' '), hostname, state: 'running', pid: d.pid,
    namespaces: d.own.filter((n): n is Namespace => (NAMESPACES as readonly string[]).includes(n)),
    rootfs: `${d.engine} container`, rootless: d.uid !== 0, tty: false, createdAt: BOOT_MS + (ticks * 1000) / CLK_TCK,
    engine: d.engine, engineSource: d.source,
  };
}

/** The cgroup directories (every hierarchy) a process is in, as host paths. */
export function processCgroupPaths(pid: number, layout: CgroupLayout = hostLayout()): string[] {
  const pc = parseProcCgroup(readProcText(`/proc/${pid}/cgroup`) ?? '');
  const out = new Set<string>();
  if (pc.v2 !== undefined && layout.v2Root) out.add(join(layout.v2Root, pc.v2));
  for (const [c, root] of Object.entries(layout.v1Roots)) {
    const path = pc.v1[c];
    if (root && path !== undefined) out.add(join(root, path));
  }
  return [...out];
}

/** The environment of a process (what an exec into its container starts with). */
function environOf(pid: number): string[] {
  const raw = readProcFile(`/proc/${pid}/environ`);
  return raw ? raw.toString('utf8').split('\0').filter(Boolean) : [];
}

/**
 * What `exec` needs to enter a foreign container: its init's namespaces, root, cgroups and
 * environment; it starts in / (the init's cwd cannot be named from outside its root). The process gets Locker's own defaults (capabilities, no_new_privs, seccomp), not
 * the engine's, which Locker cannot read back from the kernel in full.
 */
export function foreignExecTarget(d: DiscoveredContainer): ExecTarget {
  try {
    readlinkSync(`/proc/${d.pid}/root`);
  } catch {
    throw new LockerError(`cannot look into ${d.engine} container ${d.name} (PID ${d.pid}): only its owner (uid ${d.uid}) or root can exec into it`);
  }
  return { id: d.id, name: `${d.engine} container ${d.name}`, pid: d.pid, workdir: '/', env: environOf(d.pid), rootless: d.uid !== 0, cgroupPaths: processCgroupPaths(d.pid) };
}
