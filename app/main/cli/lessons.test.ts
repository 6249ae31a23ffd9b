import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { sandbox } from '../testing/harness';

const sb = sandbox();
const dir = mkdtempSync(join(tmpdir(), 'locker-lessons-cli-'));
after(() => {
  sb.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

test('the bundled lessons check clean', () => {
  const r = sb.run(['lessons', 'check']);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /^ok {2}01-classic\.json: .+ \(\d+ steps\)$/m);
});

test('a broken lesson file is named with the field and the fix, and the exit is 1', () => {
  writeFileSync(join(dir, 'broken.json'), JSON.stringify({ id: 'x', title: 'X', steps: [{ id: 's', title: 'S', explain: 'e', preset: { namespaces: ['pdi'] }, lookFor: 'l', verify: [{ namespaceSeparate: 'uts' }] }] }));
  const r = sb.run(['lessons', 'check', dir]);
  assert.equal(r.status, 1);
  assert.match(r.stdout, /^bad broken\.json: .*namespaces\[0\].*/m);
});
