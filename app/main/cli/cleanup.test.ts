// `locker cleanup` removes the remains of exited containers and keeps running ones.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { sandbox, startCli, until } from '../testing/harness';

const sb = sandbox();
after(() => sb.cleanup());

test('cleanup removes exited containers and keeps the running one', async () => {
  const kept = sb.run(['run', '--keep', '--name', 'done', '--', 'true']);
  assert.equal(kept.status, 0, kept.stderr);
  const running = startCli(sb, ['run', '--name', 'alive', '--', 'sh', '-c', 'echo up; exec sleep 30']);
  try {
    await until(() => running.output().includes('up'));
    const list = JSON.parse(sb.run(['ps', '--json']).stdout) as Array<{ id: string; name: string }>;
    const done = list.find((c) => c.name === 'done')!;
    const alive = list.find((c) => c.name === 'alive')!;
    assert.match(sb.run(['cleanup', '--dry-run']).stdout, new RegExp(`would check container ${done.id}`));
    assert.ok(existsSync(join(sb.dataDir, 'containers', done.id)), 'a dry run removes nothing');
    const r = sb.run(['cleanup']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`removed container ${done.id}`));
    assert.match(r.stdout, new RegExp(`kept container ${alive.id}: running`));
    assert.ok(!existsSync(join(sb.dataDir, 'containers', done.id)));
    assert.ok(existsSync(join(sb.dataDir, 'containers', alive.id)));
  } finally {
    sb.run(['stop', '-t', '0', 'alive']);
    await running.done;
  }
});
