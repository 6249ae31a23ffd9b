import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';

test('fork steps never hang on a lock another thread held at clone time', () => {
  const r = spawnSync(process.execPath, [join(__dirname, 'testing', 'fork-stress.js'), '150'], { encoding: 'utf8', timeout: 60_000, killSignal: 'SIGKILL' });
  assert.equal(r.signal, null, 'the stress run hung and was killed');
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'ok 150');
});
