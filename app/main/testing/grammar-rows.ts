// The grammar's table of inputs, shared by its unit test and the check that the CLI, the API
// validator, the launch form and the lesson loader agree on every row.
import { MAX_PIDS } from '../../shared/grammar';

const M = 1024 ** 2;

/** [input, value or /problem/] */
export type Row<T> = [string, T | RegExp];

export const MEMORY_ROWS: Row<number>[] = [
  ['64m', 64 * M], ['64M', 64 * M], ['1g', 1024 * M], ['1.5g', 1536 * M], ['8192k', 8 * M], ['1GiB', 1024 * M], ['.5g', 512 * M], ['10485760', 10 * M],
  ['4k', /the minimum is 6m/], ['0', /the minimum is 6m/], ['5m', /the minimum is 6m/],
  ['-1', /expected a size like 64m/], ['abc', /expected a size like 64m/], ['1e3', /expected a size/], ['', /expected a size/], ['64x', /expected a size/], ['1.2.3g', /expected a size/],
  ['99999999999t', /too large/],
];

export const CPUS_ROWS = (ncpu: number): Row<number>[] => [
  ['.5', 0.5], ['0.5', 0.5], ['1', 1], [String(ncpu), ncpu], ['0.01', 0.01],
  ['0', /between 0\.01 and/], ['0.001', /between 0\.01/], [String(ncpu + 1), new RegExp(`between 0\\.01 and ${ncpu} `)],
  ['-1', /expected a number of CPUs like 0\.5/], ['1e3', /expected a number of CPUs/], ['abc', /expected a number/], ['', /expected/], ['0x1', /expected/],
];

export const PIDS_ROWS: Row<number>[] = [
  ['5', 5], ['20', 20], [String(MAX_PIDS), MAX_PIDS],
  ['0', /at least 1/], ['-1', /at least 1/], ['2.5', /whole number/], ['abc', /whole number/], ['1e3', /whole number/],
  [String(MAX_PIDS + 1), /at most 4194304/], ['99999999999999999999999', /at most/],
];

export const HOSTNAME_ROWS: Row<string>[] = [
  ['demo', 'demo'], ['demo-1.example', 'demo-1.example'], ['a'.repeat(63), 'a'.repeat(63)],
  ['', /empty/], ['bad_name', /use letters, digits and inner '-'/], ['-lead', /inner '-'/], ['has space', /invalid hostname/], ['a..b', /invalid hostname/],
  ['a'.repeat(65), /65 bytes; the kernel allows at most 64/], [`${'a'.repeat(40)}.${'b'.repeat(30)}`, /71 bytes/], ['x\0y', /NUL/],
];

