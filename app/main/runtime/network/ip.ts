// Runs iproute2's `ip` on the host or inside a process's network namespace (through nsenter), one
// spawn per call: a whole configuration goes in as an `ip -batch -` script.
import { spawnSync } from 'node:child_process';
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

/** `ip ARGS` (with `script` on stdin, for `-batch -`), in the namespace `where` names. Returns stdout. */
export function ip(args: string[], where: Where = {}, script?: string): string {
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
  return runLogged(file, argv, `${file === ipPath ? 'ip' : 'nsenter'} ${argv.join(' ')}`, script);
}

/** One spawn of a host tool, its execve in the syscall log; IpError names the command and its stderr. */
function runLogged(file: string, argv: string[], shown: string, script?: string): string {
  // A guard against a hung tool, not a speed limit: under emulation (the VM lane's TCG guest) one run can take seconds.
  const r = spawnSync(file, argv, { input: script ?? '', encoding: 'utf8', timeout: IP_TIMEOUT_MS, env: { PATH: process.env.PATH ?? '', LC_ALL: 'C' } });
  if (syscallLog.active) {
    syscallLog.record({
      where: 'host', name: 'execve', args: script ? `${shown} <<< ${JSON.stringify(script.trim().split('\n').join('; '))}` : shown,
      result: r.status ?? -1, errno: r.status === 0 ? undefined : (r.error as NodeJS.ErrnoException | undefined)?.code, t: Date.now(),
    });
  }
  if (r.error) throw new IpError(shown, String(r.error.message), null);
  if (r.status !== 0) throw new IpError(shown, r.stderr, r.status);
  return r.stdout;
}
