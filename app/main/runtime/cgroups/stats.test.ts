import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { emptyStats, parseFlatKeyed, parseLimitValue, readKey, readNumber } from './stats';

test('limit values: max, numbers, v1 unlimited', () => {
  assert.equal(parseLimitValue('max\n'), null);
  assert.equal(parseLimitValue('-1'), null);
  assert.equal(parseLimitValue('20\n'), 20);
  assert.equal(parseLimitValue('9223372036854771712\n'), null);
  assert.equal(parseLimitValue('33554432'), 33554432);
  assert.throws(() => parseLimitValue('what'), /unexpected cgroup value/);
});

test('flat-keyed files', () => {
  const m = parseFlatKeyed('usage_usec 61236048\nuser_usec 38013173\nnr_throttled 4\n\n');
  assert.equal(m.get('usage_usec'), 61236048);
  assert.equal(m.get('nr_throttled'), 4);
  assert.equal(m.get('missing'), undefined);
  const oom = parseFlatKeyed('oom_kill_disable 0\nunder_oom 0\noom_kill 2\n');
  assert.equal(oom.get('oom_kill'), 2);
});

test('missing files read as null', () => {
  const dir = mkdtempSync(join(tmpdir(), 'locker-stats-'));
  try {
    writeFileSync(join(dir, 'pids.max'), 'max\n');
    writeFileSync(join(dir, 'cpu.stat'), 'nr_throttled 7\n');
    assert.equal(readNumber(join(dir, 'pids.max')), null);
    assert.equal(readNumber(join(dir, 'nope')), null);
    assert.equal(readKey(join(dir, 'cpu.stat'), 'nr_throttled'), 7);
    assert.equal(readKey(join(dir, 'cpu.stat'), 'throttled_usec'), null);
    assert.equal(readKey(join(dir, 'nope'), 'x'), null);
    assert.equal(emptyStats().memoryEvents.oomKill, null);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
