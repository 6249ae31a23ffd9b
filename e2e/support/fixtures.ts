// `app` is the Locker window for the current target: a page on a real web-mode server (real
// runtime, real containers), opened at the URL web mode prints (http://127.0.0.1:PORT/#token=…),
// or the Electron app's first window.
import { test as base, expect, _electron, type Page } from '@playwright/test';
import { join } from 'node:path';
import type { ContainerRuntime } from '../../app/main/runtime/handles';
import type { WebServer } from '../../app/main/web/start';
import { ELECTRON_MAIN, ROOT, electronStatus } from './electron';

interface Worker {
  web: { server: WebServer; runtime: ContainerRuntime } | null;
}

/** What `locker ui --web` printed, and what a client needs to reach its socket. */
export type WebInfo = Pick<WebServer, 'url' | 'origin' | 'wsUrl' | 'token'> & { port: number };

export const test = base.extend<{ app: Page; webUrl: string; webInfo: WebInfo }, Worker>({
  web: [
    async ({}, use, workerInfo) => {
      if (workerInfo.project.name !== 'web') return use(null);
      const { loadRuntime } = require(join(ROOT, 'build/app/main/api/runtime-loader.js')) as typeof import('../../app/main/api/runtime-loader');
      const { startWeb } = require(join(ROOT, 'build/app/main/web/start.js')) as typeof import('../../app/main/web/start');
      const runtime = loadRuntime();
      const server = await startWeb({ runtime });
      await use({ server, runtime });
      await server.close();
      for (const c of runtime.list()) await runtime.remove(c.id, true).catch(() => {});
    },
    { scope: 'worker' },
  ],
  webUrl: async ({ web }, use, testInfo) => {
    testInfo.skip(!web, 'web mode only');
    await use(web!.server.url);
  },
  webInfo: async ({ web }, use, testInfo) => {
    testInfo.skip(!web, 'web mode only');
    const { url, origin, wsUrl, token } = web!.server;
    await use({ url, origin, wsUrl, token, port: Number(new URL(origin).port) });
  },
  app: async ({ web, browser }, use, testInfo) => {
    if (testInfo.project.name === 'electron') {
      const status = electronStatus();
      testInfo.skip('missing' in status, 'missing' in status ? `Electron target: ${status.missing}` : '');
      const electronApp = await _electron.launch({ executablePath: (status as { path: string }).path, args: [ELECTRON_MAIN] });
      const win = await electronApp.firstWindow();
      await use(win);
      await electronApp.close();
      return;
    }
    const before = new Set(web!.runtime.list().map((c) => c.id));
    // a context of its own (fresh storage), which may hold more tabs of the same origin
    const context = await browser.newContext();
    const page = await context.newPage();
    page.on('pageerror', (e) => console.log(`page error: ${e.message}`));
    try {
      await page.goto(web!.server.url);
      await use(page);
      await context.close();
    } finally {
      // leave the machine as we found it, even when the browser side failed
      for (const c of web!.runtime.list()) if (!before.has(c.id)) await web!.runtime.remove(c.id, true).catch(() => {});
    }
  },
});

export { expect };

export async function terminalText(page: Page, testId: string): Promise<string> {
  // xterm stops drawing a terminal scrolled out of view (an IntersectionObserver pauses its
  // renderer): read it as a user would, on screen (clicks further down the page scroll it away).
  const pane = page.getByTestId(testId);
  await pane.scrollIntoViewIfNeeded();
  return pane.locator('.xterm-rows').innerText();
}

/** Types a line into one terminal pane (click focuses xterm's hidden textarea). */
export async function typeLine(page: Page, testId: string, line: string): Promise<void> {
  await page.getByTestId(testId).click();
  await page.keyboard.type(line);
  await page.keyboard.press('Enter');
}

export async function runContainer(page: Page): Promise<string> {
  const before = await page.getByTestId('container-row').count();
  await page.getByTestId('launch-run').click();
  await expect(page.getByTestId('container-row')).toHaveCount(before + 1);
  await expect(page.getByTestId('terminal-container')).toBeVisible();
  // a shell prompt ends in "# " (root); wait for it before typing
  await expect.poll(() => terminalText(page, 'terminal-container')).toMatch(/[#$] ?\s*$/m);
  return (await page.getByTestId('selected-container').innerText()).trim();
}
