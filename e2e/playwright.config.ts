// Two targets, same specs: web mode in Debian's chromium (always), and the Electron app through
// Playwright's _electron (skipped, with the reason printed, where the Electron binary is missing).
import { defineConfig } from '@playwright/test';
import { electronStatus } from './support/electron';

const electron = electronStatus();
if ('missing' in electron) console.log(`e2e: skipping the Electron target: ${electron.missing}`);

export default defineConfig({
  testDir: '.',
  testMatch: '*.spec.ts',
  outputDir: 'results',
  // the specs share one machine's containers and host shells; keep them in order
  workers: 1,
  fullyParallel: false,
  timeout: 60_000,
  expect: { timeout: 10_000 },
  globalTimeout: 5 * 60_000,
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
