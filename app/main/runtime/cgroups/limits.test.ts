import test from 'node:test';
import assert from 'node:assert/strict';
import { formatBytes, hasLimits, parseCpus, parseLimits, parseMemory, parsePidsLimit, v1CpuQuota, v2CpuMax } from './limits';

test('memory sizes parse to bytes', () => {
  assert.equal(parseMemory('64m'), 64 * 1024 * 1024);
  assert.equal(parseMemory('64M'), 64 * 1024 * 1024);
  assert.equal(parseMemory('64mb'), 64 * 1024 * 1024);
  assert.equal(parseMemory('1g'), 1024 ** 3);
  assert.equal(parseMemory('1GiB'), 1024 ** 3);
  assert.equal(parseMemory('8192k'), 8 * 1024 * 1024);
  assert.equal(parseMemory('1.5g'), 1.5 * 1024 ** 3);
  assert.equal(parseMemory('10485760'), 10485760);
  assert.equal(parseMemory(10485760), 10485760);
  assert.equal(parseMemory(' 32m '), 32 * 1024 * 1024);
});

test('bad memory values name the flag and the fix in one line', () => {
  for (const bad of ['abc', '', '64x', '-1m', 'm', '1.2.3g']) {
    assert.throws(() => parseMemory(bad), (e: Error) => {
      assert.match(e.message, /^--memory ".*": .*64m or 1g/);
      assert.ok(!e.message.includes('\n'));
      return true;
    });
  }
  assert.throws(() => parseMemory('512k'), { message: /^--memory "512k": the minimum is 6m/ });
  assert.throws(() => parseMemory('99999999999t'), /too large/);
});

test('cpus parse and map to cpu.max / cfs quota', () => {
  assert.equal(parseCpus('0.5', 4), 0.5);
  assert.equal(parseCpus('2', 4), 2);
  assert.equal(parseCpus('.25', 4), 0.25);
  assert.equal(v2CpuMax(0.5), '50000 100000');
  assert.deepEqual(v1CpuQuota(0.5), { quotaUs: 50000, periodUs: 100000 });
  assert.equal(v2CpuMax(1.5), '150000 100000');
  assert.equal(v2CpuMax(0.01), '1000 100000');
  assert.throws(() => parseCpus('half', 4), { message: /^--cpus "half": expected a number of CPUs like 0.5 or 2$/ });
  assert.throws(() => parseCpus('0', 4), { message: /^--cpus "0": must be between 0.01 and 4/ });
  assert.throws(() => parseCpus('8', 4), { message: /^--cpus "8": must be between 0.01 and 4/ });
  assert.throws(() => parseCpus('-1', 4), { message: /^--cpus "-1": expected/ });
});

test('pids-limit is an integer ≥ 1', () => {
  assert.equal(parsePidsLimit('20'), 20);
  assert.equal(parsePidsLimit(1), 1);
  for (const bad of ['0', '-5', '2.5', 'lots', '']) {
    assert.throws(() => parsePidsLimit(bad), { message: /^--pids-limit ".*": expected a whole number of processes, at least 1/ });
  }
});

test('parseLimits parses the flags that are set', () => {
  assert.deepEqual(parseLimits({}), {});
  assert.deepEqual(parseLimits({ memory: '', cpus: ' ', pidsLimit: undefined }), {});
  assert.deepEqual(parseLimits({ memory: '64m', cpus: '0.5', pidsLimit: '20' }, 4), {
    memory: 64 * 1024 * 1024,
    cpus: 0.5,
    pidsLimit: 20,
  });
  assert.equal(hasLimits({}), false);
  assert.equal(hasLimits({ pidsLimit: 3 }), true);
  assert.throws(() => parseLimits({ cpus: 'x' }, 4), { message: /^--cpus/ });
});

test('formatBytes', () => {
  assert.equal(formatBytes(64 * 1024 * 1024), '64m');
  assert.equal(formatBytes(1024 ** 3), '1g');
  assert.equal(formatBytes(512 * 1024), '512k');
  assert.equal(formatBytes(1000), '1000');
});
