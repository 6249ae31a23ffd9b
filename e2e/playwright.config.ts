// Two targets, same specs: web mode in Debian's chromium (always), and the Electron app through
// Playwright's _electron (skipped, with the reason printed, where the Electron binary is missing).
import { defineConfig } from '@playwright/test';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { electronStatus } from './support/electron';

// The e2e's containers and images live in a data dir of its own, never the user's
// ~/.local/share/locker: made once by the runner (workers inherit the variable) and removed at its exit.
if (!process.env.LOCKER_DATA_DIR) {
  const dir = mkdtempSync(join(tmpdir(), 'locker-e2e-'));
  chmodSync(dir, 0o755);
  process.env.LOCKER_DATA_DIR = dir;
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
}

// The host shell pane is the user's interactive bash, which reads ~/.bashrc: the e2e gives it a home
// of its own, so the machine's root customisations are not under test (this machine kind's runs
// `pyenv init`, which waits up to a minute on a lock that a shell killed mid-rehash leaves behind).
if (!process.env.LOCKER_E2E_HOME) {
  const home = mkdtempSync(join(tmpdir(), 'locker-e2e-home-'));
  process.env.LOCKER_E2E_HOME = home;
  process.env.HOME = home;
  process.on('exit', () => rmSync(home, { recursive: true, force: true }));
}

const electron = electronStatus();
if ('missing' in electron) console.log(`e2e: skipping the Electron target: ${electron.missing}`);

export default defineConfig({
  testDir: '.',
  testMatch: '*.spec.ts',
  // Its own results dir per run when asked (two runs at once would overwrite each other's traces).
  outputDir: process.env.LOCKER_E2E_RESULTS ?? 'results',
  // the specs share one machine's containers and host shells; keep them in order
  workers: 1,
  fullyParallel: false,
  timeout: 60_000,
  expect: { timeout: 10_000 },
  // A bound for a hung run, not a speed target: on a loaded 2-core machine the suite takes minutes.
  globalTimeout: 20 * 60_000,
  reporter: [['list']],
  use: {
    viewport: { width: 1600, height: 1000 },
    launchOptions: {
      executablePath: process.env.LOCKER_CHROMIUM ?? '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'],
    },
    trace: 'retain-on-failure',
  },
  projects: [
    { name: 'web', use: { browserName: 'chromium' } },
    { name: 'electron' },
  ],
});
