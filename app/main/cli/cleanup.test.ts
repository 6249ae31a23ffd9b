// `locker cleanup` removes the remains of exited containers and keeps running ones.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
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

test('a partial import of a dead CLI is listed by --dry-run (and kept), then removed', () => {
  const images = join(sb.dataDir, 'images');
  // The name carries its creator: pid 4194305 is above the kernel's highest possible pid.
  const partial = '.partial-tar-v2-0123456789abcdef-p4194305s1-AbCdEf';
  mkdirSync(join(images, partial, 'rootfs'), { recursive: true });
  const dry = sb.run(['cleanup', '--dry-run']);
  assert.equal(dry.status, 0, dry.stderr);
  assert.match(dry.stdout, new RegExp(`would remove partial import ${partial}`));
  assert.ok(existsSync(join(images, partial)), 'a dry run removes nothing');
  const r = sb.run(['cleanup']);
  assert.match(r.stdout, new RegExp(`removed partial import ${partial}`));
  assert.ok(!existsSync(join(images, partial)));
});
