// A before/after comparison of hostState must see a leaked container: a process in namespaces of
// its own whose parent is gone (reparented to PID 1), which is no child of the test process.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { hostState, sandbox, until } from './harness';
import { descendants } from './processes';

test('hostState.children sees an orphaned process in its own namespaces, and sees it go', async () => {
  const sb = sandbox();
  let pids: string[] = [];
  try {
    const before = hostState(sb.dataDir);
    // what a leaked container looks like: new namespaces, the starter gone, parent PID 1
    const r = spawnSync('sh', ['-c', `setsid unshare --fork --pid --uts --mount-proc sleep 30 </dev/null >/dev/null 2>&1 &`]);
    assert.equal(r.status, 0);
    const leaked = await until(() => hostState(sb.dataDir).children.find((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, 'utf8').startsWith('unshare');
      } catch {
        return false;
      }
    }), 5000);
    assert.notDeepEqual(hostState(sb.dataDir).children, before.children, 'the leak is seen');
    pids = [leaked, ...descendants(leaked)];
    // the sleep first: once unshare is gone it would be an orphan in its own PID namespace too
    for (const p of pids.reverse()) process.kill(Number(p), 'SIGKILL');
    await until(() => hostState(sb.dataDir).children.join() === before.children.join(), 5000);
  } finally {
    for (const p of pids) {
      try {
        process.kill(Number(p), 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    sb.cleanup();
  }
});
