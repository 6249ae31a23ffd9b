import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import type { Page } from '@playwright/test';
import { expect, runContainer, terminalText, test } from './support/fixtures';

/** Runs the launch form as a lesson step set it; the shell may be the host's dash (no mount namespace). */
async function runStep(page: Page): Promise<void> {
  const before = await page.getByTestId('container-row').count();
  await page.getByTestId('launch-run').click();
  await expect(page.getByTestId('container-row')).toHaveCount(before + 1);
  await expect(page.getByTestId('terminal-container')).toBeVisible();
  await expect.poll(() => terminalText(page, 'terminal-container')).toMatch(/[#$] /);
}

const shots = join(__dirname, 'screenshots');

test('the guided lesson: steps preset the form, commands go to the terminal, and verified steps tick', async ({ app: page }) => {
  const lesson = page.getByTestId('lesson-panel');
  await expect(lesson.getByTestId('lesson-step-0')).toBeVisible();
  await expect(page.getByTestId('lesson-problem')).toHaveCount(0);

  // 1. a plain process: no namespaces, on the host's root
  await page.getByTestId('lesson-step-0').click();
  for (const ns of ['pid', 'uts', 'mnt', 'user', 'ipc', 'net', 'cgroup']) await expect(page.getByTestId(`ns-${ns}`)).not.toBeChecked();
  await runStep(page);
  await page.getByTestId('lesson-cmd-0').click();
  await expect.poll(() => terminalText(page, 'terminal-container')).toMatch(/^pid=\d{2,}/m);
  await expect(page.getByTestId('lesson-step-0')).toHaveAttribute('data-done', 'true');
  await expect(page.getByTestId('lesson-verified')).toBeVisible();
  await expect(page.getByTestId('lesson-outcomes')).toContainText('rootDiffers');

  // 2. UTS: the preset brings the hostname; the step is not ticked by the old container
  await page.getByTestId('lesson-next').click();
  await expect(page.getByTestId('lesson-current')).toHaveAttribute('data-step', 'uts');
  await expect(page.getByTestId('launch-hostname')).toHaveValue('classroom');
  await expect(page.getByTestId('ns-uts')).toBeChecked();
  await expect(page.getByTestId('lesson-step-1')).toHaveAttribute('data-done', 'false');
  await runStep(page);
  await page.getByTestId('lesson-cmd-0').click();
  await expect.poll(() => terminalText(page, 'terminal-container')).toContain('renamed-inside');
  await expect(page.getByTestId('lesson-step-1')).toHaveAttribute('data-done', 'true');

  // 3a. PID without a mount namespace: $$ is 1, but ps reads the host's /proc
  await page.getByTestId('lesson-next').click();
  await expect(page.getByTestId('ns-pid')).toBeChecked();
  await expect(page.getByTestId('ns-mnt')).not.toBeChecked();
  await runStep(page);
  await page.getByTestId('lesson-cmd-0').click();
  await expect.poll(() => terminalText(page, 'terminal-container')).toMatch(/^pid=1\s*$/m);
  await expect(page.getByTestId('lesson-step-2')).toHaveAttribute('data-done', 'true');

  // 3b. with a mount namespace: a fresh /proc; the host pane gets the {pid} filled in
  await page.getByTestId('lesson-next').click();
  await runStep(page);
  const hostCmd = page.getByTestId('lesson-cmd-1');
  await expect(hostCmd).toHaveText(/ps -o pid,comm -p \d+/);
  await hostCmd.click();
  await expect(page.getByTestId('lesson-step-3')).toHaveAttribute('data-done', 'true');
  await expect.poll(() => terminalText(page, 'terminal-host')).toMatch(/\d+ sh/);
  await page.screenshot({ path: join(shots, 'lesson.png') });
});

test('the cgroups step: limits in the form, live gauges, refused forks, and the window stays responsive', async ({ app: page }) => {
  await page.getByTestId('lesson-step-7').click();
  await expect(page.getByTestId('launch-pids')).toHaveValue('20');
  await runStep(page);
  await expect(page.getByTestId('gauge-pids')).toHaveAttribute('data-max', '20');
  await page.getByTestId('lesson-cmd-1').click(); // the fork bomb
  // the bomb fills the limit (its processes come and go, so near 20 rather than exactly)
  await expect.poll(async () => Number(await page.getByTestId('gauge-pids').getAttribute('data-value')), { timeout: 15_000 }).toBeGreaterThanOrEqual(15);
  await expect(page.getByTestId('gauge-pids')).toContainText('forks refused');
  await expect(page.getByTestId('lesson-step-7')).toHaveAttribute('data-done', 'true');
  // the UI answers while the bomb runs
  await page.getByTestId('font-larger').click();
  await expect(page.getByTestId('font-size')).toHaveText(/\d+px/);
  await page.getByTestId('font-smaller').click();
  await page.screenshot({ path: join(shots, 'cgroups.png') });
  const row = page.getByTestId('container-row').first();
  await row.getByTestId('container-stop').click();
  await expect(row).toHaveAttribute('data-state', 'exited', { timeout: 15_000 });
});

test('the syscall log shows pivot_root after a run, and exports as text', async ({ app: page }) => {
  await runContainer(page);
  await page.getByTestId('tools-tab-syscalls').click();
  await expect(page.getByTestId('syscall-count')).toHaveText(/^\d+ calls/);
  const rows = page.getByTestId('syscall-rows');
  await rows.evaluate((el) => { el.scrollTop = 0; });
  await expect.poll(async () => {
    // scroll through the (virtualized) list until pivot_root is drawn
    const found = await page.locator('[data-testid="syscall-row"][data-name="pivot_root"]').count();
    if (!found) await rows.evaluate((el) => { el.scrollTop += el.clientHeight; });
    return found;
  }).toBeGreaterThan(0);
  await expect(page.locator('[data-testid="syscall-row"][data-name="pivot_root"]').first()).toContainText('pivot_root(');
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('syscall-export').click()]);
  const text = readFileSync((await download.path())!, 'utf8');
  expect(text).toMatch(/ clone\(/);
  expect(text).toMatch(/ child +pivot_root\("\.", "\."\) = 0/);
  expect(text.indexOf('clone(')).toBeLessThan(text.indexOf('pivot_root('));
});

test('equivalent commands follow the launch form; preflight lists checks; the host check is clean', async ({ app: page }) => {
  await page.getByTestId('launch-hostname').fill('equiv-demo');
  await page.getByTestId('tools-tab-equivalent').click();
  await expect(page.getByTestId('equivalent-unshare')).toContainText('unshare');
  await expect(page.getByTestId('equivalent-unshare')).toContainText('equiv-demo');
  await expect(page.getByTestId('equivalent-runc')).toContainText('"hostname": "equiv-demo"');
  await expect(page.getByTestId('equivalent-docker')).toContainText('docker run');
  await page.getByTestId('ns-uts').uncheck();
  await expect(page.getByTestId('equivalent-error')).toContainText('UTS');
  await page.getByTestId('tools-tab-preflight').click();
  await expect(page.locator('[data-testid^="preflight-"][data-status]').first()).toBeVisible({ timeout: 20_000 });
  // host check: nothing runs now, so nothing may be left over from the earlier tests
  await page.getByTestId('tools-tab-hostcheck').click();
  await expect(page.getByTestId('hostcheck-clean')).toBeVisible();
});
