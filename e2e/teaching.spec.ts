// Teaching on a projector: the layout fits the screen, and the bugs a class trips over stay fixed
// (focus after "+", leaving a terminal and zooming from one, a symlink to a file, an exited
// container shown as exited, an OOM-killed init, a server that stopped).
import { join } from 'node:path';
import type { Locator, Page } from '@playwright/test';
import { expect, runContainer, terminalText, test, typeLine } from './support/fixtures';

const docs = join(__dirname, '..', 'docs');

async function inViewport(page: Page, el: Locator): Promise<void> {
  const box = await el.boundingBox();
  const vp = page.viewportSize()!;
  expect(box, 'drawn').not.toBeNull();
  expect(box!.y, 'top inside the screen').toBeGreaterThanOrEqual(0);
  expect(box!.y + box!.height, 'bottom inside the screen (no scrolling)').toBeLessThanOrEqual(vp.height + 1);
  expect(box!.x + box!.width).toBeLessThanOrEqual(vp.width + 1);
}

/** The terminal's width as its shell sees it (stty asks the pty, which the pane resized to fit). */
async function columns(page: Page, testId: string): Promise<number> {
  await typeLine(page, testId, 'echo cols=$(stty size)');
  let cols = 0;
  await expect.poll(async () => {
    const m = /cols=\d+ (\d+)/.exec((await terminalText(page, testId)).replace(/\n/g, ''));
    cols = m ? Number(m[1]) : 0;
    return cols;
  }).toBeGreaterThan(0);
  return cols;
}

test.describe('at 1920×1080', () => {
  test.use({ viewport: { width: 1920, height: 1080 } });

  test('default view: Run and, after one run, the namespace table above the fold; lesson text ≥ 14px', async ({ app: page }) => {
    await inViewport(page, page.getByTestId('toolbar-run'));
    await page.getByTestId('toolbar-run').click();
    await expect(page.getByTestId('terminal-container')).toBeVisible();
    await inViewport(page, page.getByTestId('namespace-table'));
    const px = await page.getByTestId('lesson-current').locator('.explain').evaluate((el) => parseFloat(getComputedStyle(el).fontSize));
    expect(px).toBeGreaterThanOrEqual(14);
  });

  test('projector mode: no sidebar, larger text, both terminals aligned and the namespace table on one screen', async ({ app: page, webUrl }) => {
    const u = new URL(webUrl);
    u.searchParams.set('projector', '1');
    await page.goto(u.toString());
    await expect(page.getByTestId('projector-toggle')).toBeChecked();
    await expect(page.getByTestId('launch-panel')).toBeHidden();
    expect(Number((await page.getByTestId('font-size').innerText()).replace('px', ''))).toBeGreaterThanOrEqual(20);
    await page.getByTestId('toolbar-run').click();
    await expect(page.getByTestId('terminal-container')).toBeVisible();
    await expect.poll(() => terminalText(page, 'terminal-container')).toMatch(/[#$] /);
    for (const id of ['terminal-host', 'terminal-container', 'namespace-table', 'fs-host', 'fs-container']) await inViewport(page, page.getByTestId(id));
    const [h, c] = [await page.getByTestId('terminal-host').boundingBox(), await page.getByTestId('terminal-container').boundingBox()];
    expect(Math.abs(h!.y - c!.y), 'the two terminals start at the same height').toBeLessThanOrEqual(2);
    expect(Math.abs(h!.height - c!.height)).toBeLessThanOrEqual(2);
    // the lesson is a click away
    await page.getByTestId('sidebar-toggle').click();
    await expect(page.getByTestId('lesson-panel')).toBeVisible();
    await page.getByTestId('lesson-step-1').click();
    await page.getByTestId('sidebar-toggle').click();
    await page.screenshot({ path: join(docs, 'projector.png') });
  });

  test('the screenshot for the README: a lesson open beside a running container', async ({ app: page }) => {
    await page.getByTestId('lesson-step-3').click();
    await runContainer(page);
    await page.getByTestId('lesson-cmd-0').click();
    await expect(page.getByTestId('lesson-verified')).toBeVisible();
    await page.screenshot({ path: join(docs, 'screenshot.png') });
  });
});

test.describe('at 1280×720 with 24px text', () => {
  test.use({ viewport: { width: 1280, height: 720 } });

  test('terminals keep at least 40 columns (panes stack) and syscall rows grow with the font', async ({ app: page }) => {
    while (Number((await page.getByTestId('font-size').innerText()).replace('px', '')) < 24) await page.getByTestId('font-larger').click();
    await runContainer(page);
    await page.screenshot({ path: '/tmp/mine/small.png' });
    expect(await columns(page, 'terminal-host')).toBeGreaterThanOrEqual(40);
    expect(await columns(page, 'terminal-container')).toBeGreaterThanOrEqual(40);
    await page.getByTestId('tools-tab-syscalls').click();
    const row = page.getByTestId('syscall-row').first();
    await expect(row).toBeVisible();
    // the row is at least as tall as its text needs: descenders and underscores are not cut
    const fits = await row.evaluate((el) => el.getBoundingClientRect().height >= parseFloat(getComputedStyle(el).fontSize) * 1.4);
    expect(fits).toBe(true);
  });
});

test('"+" gives the keyboard to the new shell; Esc then Tab leaves a terminal; Ctrl +/-/0 zoom from inside one', async ({ app: page }) => {
  await runContainer(page);
  await page.getByTestId('term-add').click();
  await expect(page.getByTestId('term-tab-1')).toBeVisible();
  await expect.poll(() => terminalText(page, 'terminal-container')).toMatch(/[#$] /);
  await page.keyboard.type('echo typed-into-exec');
  await page.keyboard.press('Enter');
  await expect.poll(() => terminalText(page, 'terminal-container')).toContain('typed-into-exec');
  await expect(page.locator('[data-testid^="term-tab-"]')).toHaveCount(2); // typing opened no more shells
  // zoom from inside the terminal
  const size = async () => Number((await page.getByTestId('font-size').innerText()).replace('px', ''));
  const before = await size();
  await page.keyboard.press('Control+=');
  await expect.poll(size).toBe(before + 1);
  await page.keyboard.press('Control+-');
  await expect.poll(size).toBe(before);
  await page.keyboard.press('Control+0');
  await expect.poll(size).toBe(15);
  // Esc, then Tab: the focus leaves the terminal
  await page.keyboard.press('Escape');
  await page.keyboard.press('Tab');
  const inTerminal = await page.evaluate(() => !!document.activeElement?.closest('.terminal'));
  expect(inTerminal).toBe(false);
  // and a plain Tab inside a terminal still completes in the shell
  await page.getByTestId('terminal-container').click();
  await page.keyboard.press('Tab');
  expect(await page.evaluate(() => !!document.activeElement?.closest('.terminal'))).toBe(true);
});

test('a symlink to a file shows the file, not an error over a stale listing', async ({ app: page }) => {
  await runContainer(page);
  await typeLine(page, 'terminal-container', 'echo hello > /tmp/target && ln -s /tmp/target /tmp/link && echo made');
  await expect.poll(() => terminalText(page, 'terminal-container')).toMatch(/^made/m);
  const fs = page.getByTestId('fs-container');
  await fs.locator('[data-name="tmp"]').click();
  await expect(page.getByTestId('fs-path-container')).toHaveText('/tmp');
  await fs.locator('[data-name="link"]').click();
  await expect(page.getByTestId('fs-info-container')).toContainText('/tmp/link → /tmp/target: a file, 6 B');
  await expect(page.getByTestId('fs-path-container')).toHaveText('/tmp');
  await expect(fs.locator('.error')).toHaveCount(0);
});

test('an exited container is shown as exited; an OOM-killed init gets a banner and keeps its gauges', async ({ app: page }) => {
  await page.getByTestId('launch-memory').fill('16m');
  // the shell itself grows past the limit: the kernel kills the container's init
  await page.getByTestId('launch-command').fill(`/bin/sh -c "sleep 2; x=$(head -c 64m /dev/zero | tr '\\0' a); echo never"`);
  await page.getByTestId('launch-run').click();
  await expect(page.getByTestId('cgroup-gauges')).toBeVisible();
  await expect(page.getByTestId('oom-banner')).toBeVisible({ timeout: 20_000 });
  await expect(page.getByTestId('container-exit-banner')).toContainText(/exited 137 \(SIGKILL\) — OOM killed/);
  await expect(page.getByTestId('cgroup-gauges')).toHaveAttribute('data-ended', 'true');
  await expect(page.getByTestId('gauge-memory')).toHaveAttribute('data-max', String(16 * 1024 * 1024));
  await expect(page.getByTestId('container-details')).toHaveAttribute('data-ended', 'true');
  await expect(page.getByTestId('ended-note')).toContainText('these namespaces are gone');
});

test('when the server stops, the page says disconnected and terminals refuse typing visibly', async ({ browser }) => {
  test.slow(); // waits for a host shell's first prompt (below)
  const { join: pjoin } = await import('node:path');
  const root = pjoin(__dirname, '..');
  // a server of its own: stopping the shared one would end the other tests
  const { loadRuntime } = require(pjoin(root, 'build/app/main/api/runtime-loader.js')) as typeof import('../app/main/api/runtime-loader');
  const { startWeb } = require(pjoin(root, 'build/app/main/web/start.js')) as typeof import('../app/main/web/start');
  const server = await startWeb({ runtime: loadRuntime() });
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    await page.goto(server.url);
    // The host shell is the user's interactive bash: its ~/.bashrc may take seconds (pyenv init on a loaded machine took 12 s).
    await expect.poll(() => terminalText(page, 'terminal-host'), { timeout: 45_000 }).toMatch(/[#$] /);
    await expect(page.getByTestId('disconnected')).toHaveCount(0);
    await server.close();
    await expect(page.getByTestId('disconnected')).toBeVisible();
    await expect(page.getByTestId('disconnected')).toContainText('Disconnected');
    await typeLine(page, 'terminal-host', 'echo lost');
    await expect.poll(() => terminalText(page, 'terminal-host')).toContain('disconnected from Locker: typing goes nowhere');
  } finally {
    await context.close();
    await server.close().catch(() => {});
  }
});
