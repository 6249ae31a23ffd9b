// The syscall log `locker oci` keeps for each container it launched (create, start, every exec:
// <root>/<id>/syscalls.jsonl), read back for the app: a container podman runs through Locker, or
// any engine's through bin/locker-runtime, shows the calls that made it, as Locker's own do.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SyscallRecord } from '../../shared/api';
import { defaultRoot, initAlive, loadState, SYSCALL_LOG } from './state';

/** Where `locker oci` state dirs are: the default root (root's and this user's), and every user's under /run/user. */
function roots(): string[] {
  const out = new Set(['/run/locker-oci', defaultRoot()]);
  try {
    for (const uid of readdirSync('/run/user')) out.add(join('/run/user', uid, 'locker-oci'));
  } catch {
    // no /run/user
  }
  return [...out];
}

/** The log of container `id` whose init is `pid` (the same process: pid and start time), or undefined when locker oci did not launch it. */
export function ociSyscallRecords(id: string, pid: number): SyscallRecord[] | undefined {
  for (const root of roots()) {
    let state;
    try {
      state = loadState(root, id);
    } catch {
      continue;
    }
    if (state.pid !== pid || !initAlive(state)) continue;
    let text: string;
    try {
      text = readFileSync(join(root, id, SYSCALL_LOG), 'utf8');
    } catch {
      return [];
    }
    return text.split('\n').filter(Boolean).map((line, i) => {
      const e = JSON.parse(line) as { where: 'host' | 'child'; name: string; args: string; result: number; errno?: string; t: number; inferred?: 'eof' };
      const rec: SyscallRecord = { seq: i + 1, where: e.where, name: e.name, args: e.args, result: String(e.result), t: e.t };
      if (e.errno) rec.errno = e.errno;
      if (e.inferred) rec.inferred = e.inferred;
      return rec;
    });
  }
  return undefined;
}
