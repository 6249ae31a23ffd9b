// Host tools by absolute path (tool()), and iproute2's `ip` for what rtnetlink cannot reach from
// here: networking is configured over rtnetlink (setup.ts) and interfaces are listed by a dump
// (interfaces.ts); only a rootless container's interfaces are still listed by `ip`, entered through
// nsenter (its net namespace belongs to its user namespace, which only a single-threaded process can
// join). The spawn is asynchronous: it never holds up the thread that asks.
import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { syscallLog } from '../../../../native/syscall-log';
import { LockerError } from '../errors';

const IP_TIMEOUT_MS = 60_000;

const SEARCH = ['/usr/sbin', '/sbin', '/usr/bin', '/bin'];
const found = new Map<string, string>();

/** Absolute path of a tool: the sbin dirs first (a non-root PATH often lacks them), then PATH. */
export function tool(name: string, pkg: string): string {
  const cached = found.get(name);
  if (cached) return cached;
  for (const dir of [...SEARCH, ...(process.env.PATH ?? '').split(delimiter).filter(Boolean)]) {
    const p = join(dir, name);
    try {
      accessSync(p, constants.X_OK);
      found.set(name, p);
      return p;
    } catch {
      /* next */
    }
  }
  throw new LockerError(`\`${name}\` was not found; container networking needs it (apt install ${pkg})`);
}

export interface Where {
  /** Run inside the network namespace of this process; omitted: the host's. */
  pid?: number;
  /** Join the process's user namespace first (a rootless owner has no rights over the net namespace otherwise). */
  userns?: boolean;
}

export class IpError extends Error {
  constructor(readonly command: string, readonly stderr: string, readonly status: number | null) {
    super(`${command} failed: ${stderr.trim() || `exit status ${status}`}`);
    this.name = 'IpError';
  }
}

/** `ip ARGS`, in the namespace `where` names, without waiting on this thread. Resolves to stdout. */
export function ip(args: string[], where: Where = {}): Promise<string> {
  const ipPath = tool('ip', 'iproute2');
  let file = ipPath;
  let argv = args;
  if (where.pid !== undefined) {
    file = tool('nsenter', 'util-linux');
    const ns = where.userns
      // --preserve-credentials: the mapped uid stays (root inside); nsenter's own setgroups/setuid would be refused.
      ? [`--user=/proc/${where.pid}/ns/user`, `--net=/proc/${where.pid}/ns/net`, '--preserve-credentials']
      : [`--net=/proc/${where.pid}/ns/net`];
    argv = [...ns, '--', ipPath, ...args];
  }
  return runLogged(file, argv, `${file === ipPath ? 'ip' : 'nsenter'} ${argv.join(' ')}`);
}

/** One spawn of a host tool, its execve in the syscall log when it ends; IpError names the command and its stderr. */
function runLogged(file: string, argv: string[], shown: string): Promise<string> {
  return new Promise((resolve, reject) => {
    // A guard against a hung tool, not a speed limit: under emulation (the VM lane's TCG guest) one run can take seconds.
    execFile(file, argv, { encoding: 'utf8', timeout: IP_TIMEOUT_MS, maxBuffer: 64 << 20, env: { PATH: process.env.PATH ?? '', LC_ALL: 'C' } }, (error, stdout, stderr) => {
      const status = error ? (typeof error.code === 'number' ? error.code : null) : 0;
      if (syscallLog.active) {
        syscallLog.record({
          where: 'host', name: 'execve', args: shown, result: status ?? -1,
          errno: status === 0 ? undefined : typeof error?.code === 'string' ? error.code : undefined, t: Date.now(),
        });
      }
      if (!error) resolve(stdout);
      else reject(new IpError(shown, status === null ? error.message : stderr, status));
    });
  });
}
