import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isGone, readProcFile, readProcText } from './proc-read';

test('reads a file whole, across several reads', (t) => {
  assert.equal(readProcText('/proc/self/cmdline'), readFileSync('/proc/self/cmdline', 'utf8'));
  const dir = mkdtempSync(join(tmpdir(), 'inspect-read-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const big = Buffer.alloc(200_000, 'ab');
  writeFileSync(join(dir, 'big'), big);
  assert.deepEqual(readProcFile(join(dir, 'big')), big);
});

test('null once the process is gone; other errors are thrown', () => {
  assert.equal(readProcFile('/proc/1073741823/stat'), null);
  assert.equal(isGone(Object.assign(new Error('x'), { code: 'ESRCH' })), true);
  assert.equal(isGone(Object.assign(new Error('x'), { code: 'EACCES' })), false);
  assert.throws(() => readProcFile('/proc/self/cmdline/x'), /ENOTDIR/);
});
