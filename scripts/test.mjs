// Runs every compiled *.test.js under build/ with node's test runner (the unit and kernel tests),
// then the Playwright end-to-end suite when LOCKER_E2E is not "0".
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

function find(dir, out = []) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) find(p, out);
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out;
}

const only = process.argv.slice(2);
const files = find('build').filter((f) => !f.startsWith(join('build', 'e2e')) && (only.length === 0 || only.some((o) => f.includes(o))));
const unit = spawnSync(process.execPath, ['--test', '--test-reporter=spec', '--test-concurrency=2', ...files], { stdio: 'inherit' });
if (unit.status !== 0) process.exit(unit.status ?? 1);
