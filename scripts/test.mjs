// `npm test`: every compiled *.test.js under build/ with Node's test runner (unit and kernel tests),
// then the Playwright end-to-end suite (web mode in Debian's chromium; Electron where its binary exists).
// Arguments filter the unit test files by path and skip the e2e suite.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
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
// Test files share the host's locker0 bridge and run two at a time: none may remove it while
// another launches onto it, so it is removed here, once all are done, when this run created it.
const bridgeExisted = existsSync('/sys/class/net/locker0');
const unit = spawnSync(process.execPath, ['--test', '--test-reporter=spec', '--test-concurrency=2', ...files], { stdio: 'inherit' });
if (!bridgeExisted && existsSync('build/app/main/runtime/network/setup.js')) {
  createRequire(import.meta.url)('../build/app/main/runtime/network/setup.js').removeBridgeIfUnused();
}
if (unit.status !== 0) process.exit(unit.status ?? 1);
if (only.length > 0 || process.env.LOCKER_E2E === '0') process.exit(0);

const e2e = spawnSync('npx', ['playwright', 'test', '-c', 'e2e/playwright.config.ts'], { stdio: 'inherit' });
process.exit(e2e.status ?? 1);
