// Processes started with exec join the container later; inspection still pairs them with their
// container PIDs, and the process table stays right when cached command lines go stale.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { sandbox } from '../testing/harness';
import { Runtime } from './runtime';

const sb = sandbox();
after(() => sb.cleanup());

test('an exec process shows in the container tree with its own container PID', async () => {
  const rt = new Runtime({ dataDir: sb.dataDir, autoRemove: true });
  const c = await rt.run({ command: ['sleep', '30'] });
  try {
    const e = await rt.exec(c.info.id, ['sh', '-c', 'exec sleep 29']);
    let procs = (await rt.inspect(c.info.id)).containerProcesses;
    for (let i = 0; i < 100 && !procs.some((p) => p.cmdline === 'sleep 29'); i++) {
      await new Promise((r) => setTimeout(r, 10));
      procs = (await rt.inspect(c.info.id)).containerProcesses;
    }
    assert.deepEqual(procs.map((p) => [p.containerPid, p.cmdline]).sort(), [[1, 'sleep 30'], [2, 'sleep 29']]);
    assert.equal(procs.find((p) => p.containerPid === 2)?.pid, e.pid);
    e.kill(9);
    await e.exited;
    assert.deepEqual((await rt.inspect(c.info.id)).containerProcesses.map((p) => p.containerPid), [1]);
  } finally {
    await rt.stop(c.info.id, 0);
  }
});
