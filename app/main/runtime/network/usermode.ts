// Rootless networking: a user-mode network stack in the host's namespace, with a tap device in the
// container's. pasta (package passt) joins the container's user and network namespaces (it needs no
// privilege: the caller owns them), copies the host's addresses and routes onto the tap, and
// carries -p as its own listening sockets on the host. It runs in the background (its pid in the
// container's dir, pasta.pid) until stopPasta ends it with the container: pasta quits by itself
// only for a namespace bound to a file, not for a PID target. slirp4netns is detected and reported by `locker doctor`, but Locker drives pasta only
// (slirp4netns needs an API socket per container for -p and a process to stop it).
import { accessSync, constants, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { syscallLog } from '../../../../native/syscall-log';
import { LockerError } from '../errors';
import type { PortSpec } from '../../../shared/types';
import { tool } from './ip';

export const TUN = '/dev/net/tun';

export interface UserModeTools {
  pasta?: string;
  slirp4netns?: string;
  /** /dev/net/tun opens for this user (both tools need it); else why not. */
  tunProblem?: string;
}

function find(name: string): string | undefined {
  try {
    return tool(name, name === 'pasta' ? 'passt' : name);
  } catch {
    return undefined;
  }
}

export function userModeTools(): UserModeTools {
  let tunProblem: string | undefined;
  try {
    accessSync(TUN, constants.R_OK | constants.W_OK);
  } catch (e) {
    tunProblem = (e as NodeJS.ErrnoException).code === 'ENOENT'
      ? `${TUN} does not exist (modprobe tun)`
      : `${TUN} is not readable and writable by uid ${process.getuid?.()} (Debian's default is mode 0666: chmod 0666 ${TUN})`;
  }
  return { pasta: find('pasta'), slirp4netns: find('slirp4netns'), tunProblem };
}

/** What a rootless container's network will be, in one line (doctor, the UI). */
export function rootlessNetworkSummary(t: UserModeTools = userModeTools()): string {
  if (t.pasta && !t.tunProblem) return `rootless containers get outbound network and -p through pasta (${t.pasta})`;
  if (t.pasta) return `rootless containers have loopback only: pasta is installed but ${t.tunProblem}`;
  return `rootless containers have loopback only: install passt (pasta) for outbound network and -p${t.slirp4netns ? ' (slirp4netns is installed, but Locker drives pasta)' : ''}`;
}

/** pasta's arguments for container `pid`: no inbound port but the published ones, no way to the host's loopback. */
export function pastaArgs(pid: number, ports: readonly PortSpec[], pidFile: string): string[] {
  const spec = (proto: 'tcp' | 'udp'): string => {
    const list = ports.filter((p) => p.protocol === proto).map((p) => `${p.hostIp ? `${p.hostIp}/` : ''}${p.hostPort}:${p.containerPort}`);
    return list.length ? list.join(',') : 'none';
  };
  return ['--config-net', '--quiet', '--no-map-gw', '-t', spec('tcp'), '-u', spec('udp'), '-T', 'none', '-U', 'none', '--pid', pidFile, String(pid)];
}

/** Starts pasta for the waiting child (it forks to the background once the tap is up). */
export function startPasta(pastaPath: string, pid: number, ports: readonly PortSpec[], dir: string): { pid: number; command: string } {
  const pidFile = join(dir, 'pasta.pid');
  const args = pastaArgs(pid, ports, pidFile);
  const command = `pasta ${args.join(' ')}`;
  const r = spawnSync(pastaPath, args, { encoding: 'utf8', timeout: 60_000, env: { PATH: process.env.PATH ?? '', LC_ALL: 'C' } });
  syscallLog.record({ where: 'host', name: 'execve', args: command, result: r.status ?? -1, t: Date.now() });
  if (r.status !== 0) {
    const why = (r.stderr || r.error?.message || `exit status ${r.status}`).split('\n').filter((l) => l && !l.startsWith('Failed to send')).join('; ');
    throw new LockerError(`pasta could not connect the container: ${why.slice(0, 200)}`);
  }
  let helperPid = 0;
  try {
    helperPid = Number(readFileSync(pidFile, 'utf8').trim());
  } catch {
    /* pasta wrote no pid file */
  }
  return { pid: helperPid, command };
}

/** Ends the container's pasta (named by its pid file, and only if that pid still runs that pasta). */
export function stopPasta(dir: string): number | undefined {
  const pidFile = join(dir, 'pasta.pid');
  let pid: number;
  try {
    pid = Number(readFileSync(pidFile, 'utf8').trim());
  } catch {
    return undefined;
  }
  let ours = false;
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    ours = /pasta/.test(argv[0]) && argv.includes(pidFile);
  } catch {
    /* gone */
  }
  if (ours) {
    try {
      process.kill(pid, 'SIGTERM');
      syscallLog.record({ where: 'host', name: 'kill', args: `${pid}, SIGTERM`, result: 0, t: Date.now() });
    } catch {
      /* exited meanwhile */
    }
  }
  rmSync(pidFile, { force: true });
  return ours ? pid : undefined;
}
