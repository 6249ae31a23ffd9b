// Builds a rootfs holding only /bin/sysprobe, a static C helper (sysprobe.c beside this file) that
// makes the syscalls the seccomp profile decides: the default rootfs has no tool that calls
// keyctl, userfaultfd, io_uring_setup or bpf. Needs a C compiler with static libc (cc -static).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from './harness';

export function buildSysprobeRootfs(dir: string): string {
  const root = join(dir, 'sysprobe-rootfs');
  for (const d of ['bin', 'proc', 'dev', 'sys', 'tmp', 'root']) mkdirSync(join(root, d), { recursive: true });
  const src = join(REPO, 'app', 'main', 'testing', 'sysprobe.c');
  const cc = spawnSync('cc', ['-static', '-O1', '-pthread', '-o', join(root, 'bin', 'sysprobe'), src], { encoding: 'utf8' });
  assert.equal(cc.status, 0, `the seccomp tests need a C compiler with static libc (cc -static; Debian: gcc libc6-dev): ${cc.stderr ?? cc.error}`);
  spawnSync('chmod', ['-R', 'a+rX', dir]);
  return root;
}

/** sysprobe's name=value lines as a map. */
export function probeResults(stdout: string): Record<string, string> {
  return Object.fromEntries(stdout.split('\n').filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
}
