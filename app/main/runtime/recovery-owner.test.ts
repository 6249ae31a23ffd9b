// Recovery and a container dir whose owner file is being written (empty between truncate and
// write): it must not count as orphaned, or a concurrent `run -d` loses its dir mid-setup.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { OWNER_FILE } from './records';
import { recover } from './recovery';

const data = mkdtempSync(join(tmpdir(), 'locker-recovery-owner-'));
after(() => rmSync(data, { recursive: true, force: true }));

test('a fresh dir with an empty or garbled owner file is left alone; one of a dead owner goes', async () => {
  const dir = (id: string): string => join(data, 'containers', id);
  for (const [id, owner] of [['aaaaaaaaaaaa', ''], ['bbbbbbbbbbbb', 'x y'], ['cccccccccccc', '999999999 1']]) {
    mkdirSync(dir(id), { recursive: true });
    writeFileSync(join(dir(id), OWNER_FILE), owner);
  }
  const report = await recover(data);
  assert.equal(existsSync(dir('aaaaaaaaaaaa')), true, 'empty owner file: being written');
  assert.equal(existsSync(dir('bbbbbbbbbbbb')), true, 'garbled owner file: no owner known, young');
  assert.equal(existsSync(dir('cccccccccccc')), false, 'a pid that cannot exist: orphaned');
  assert.deepEqual(report.removedDirs, ['cccccccccccc']);
});
