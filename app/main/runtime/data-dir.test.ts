// ensureWritableDir: a file in the way is still one clear line now that an EEXIST from its mkdir (a
// directory another process made meanwhile) is accepted. That race itself has no test: its window
// is microseconds, and 40 processes at once did not hit it here.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ensureWritableDir } from './data-dir';

const work = mkdtempSync(join(tmpdir(), 'locker-datadir-'));
after(() => rmSync(work, { recursive: true, force: true }));

test('a file where the dir should be is still refused in one line', () => {
  const file = join(work, 'a-file');
  writeFileSync(file, '');
  assert.throws(() => ensureWritableDir(join(file, 'sub')), /a-file is not a directory/);
  assert.throws(() => ensureWritableDir(file), /a-file is not a directory/);
});
