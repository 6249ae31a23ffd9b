// Run as a child process by fork-step.test.ts: many fork() steps (setns into a PID namespace, then
// fork) while another thread allocates. A fork step that takes glibc's malloc locks can find one
// held by that thread at clone time and hang forever; the parent test catches that by a timeout.
import { closeSync, openSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { CLONE } from '../constants';
import { reapBlocking } from '../libc';
import { Program } from '../program';
import { spawnProcess } from '../spawn';

const rounds = Number(process.argv[2] ?? 150);
const busy = new Worker(
  "const fs = require('fs'); for (;;) for (const p of fs.readdirSync('/proc')) { try { Buffer.from(fs.readFileSync('/proc/' + p + '/stat')); } catch {} }",
  { eval: true },
);
const holder = spawnProcess({ flags: CLONE.NEWPID, program: new Program().execve('/bin/sleep', ['sleep', '60'], []) });
const pidns = openSync(`/proc/${holder.pid}/ns/pid`, 'r');
try {
  for (let i = 0; i < rounds; i++) {
    const s = spawnProcess({ flags: 0, program: new Program().setns(pidns, CLONE.NEWPID).fork().execve('/bin/true', ['true'], []) });
    if (reapBlocking(s.pid) !== 0) throw new Error(`round ${i}: the forked /bin/true failed`);
  }
  process.stdout.write(`ok ${rounds}\n`);
} finally {
  closeSync(pidns);
  process.kill(holder.pid, 'SIGKILL');
  reapBlocking(holder.pid);
  void busy.terminate();
}
