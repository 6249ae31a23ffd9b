import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { expect, runContainer, terminalText, test, typeLine } from './support/fixtures';

const shots = join(__dirname, 'screenshots');
mkdirSync(shots, { recursive: true });

test('a default container runs beside the host: terminal, hostname, PID 1, trees, filesystems, namespaces', async ({ app: page }) => {
  await runContainer(page);
  const containerHostname = (await page.getByTestId('hostname-container').innerText()).trim();
  await expect(page.getByTestId('hostname-host')).not.toHaveText(containerHostname);
  const hostHostname = (await page.getByTestId('hostname-host').innerText()).trim();

  // the same command, two answers
  await typeLine(page, 'terminal-container', 'hostname');
  await expect.poll(() => terminalText(page, 'terminal-container')).toContain(`\n${containerHostname}`);
  await typeLine(page, 'terminal-host', 'hostname');
  await expect.poll(() => terminalText(page, 'terminal-host')).toContain(`\n${hostHostname}`);

  // the shell is PID 1 in its own PID namespace
  await typeLine(page, 'terminal-container', 'echo pid=$$');
  await expect.poll(() => terminalText(page, 'terminal-container')).toMatch(/^pid=1\s*$/m);

  // container PID 1 is an ordinary host process: clicking it highlights its host PID
  const init = page.getByTestId('proc-container-1');
  await expect(init).toContainText(/↔ host \d+/);
  const hostPid = await init.getAttribute('data-host-pid');
  expect(Number(hostPid)).toBeGreaterThan(1);
  await init.click();
  await expect(page.getByTestId(`proc-host-${hostPid}`)).toHaveAttribute('data-selected', 'true');
  await expect(page.getByTestId(`proc-host-${hostPid}`)).toContainText('↔ ctr 1');

  // two roots, two different file trees
  await expect(page.getByTestId('fs-container-entry').first()).toBeVisible();
  await expect(page.getByTestId('fs-host-entry').first()).toBeVisible();
  const names = async (side: string) => (await page.getByTestId(`fs-${side}-entry`).evaluateAll((els) => els.map((e) => e.getAttribute('data-name')))).join(',');
  expect(await names('container')).not.toEqual(await names('host'));
  await page.getByTestId('fs-container-entry').filter({ hasText: /^etc\// }).click();
  await expect(page.getByTestId('fs-path-container')).toHaveText('/etc');
  await page.getByTestId('fs-container-up').click();
  await expect(page.getByTestId('fs-path-container')).toHaveText('/');

  for (const ns of ['pid', 'uts', 'mnt']) {
    await expect(page.getByTestId(`ns-row-${ns}`)).toHaveAttribute('data-shared', 'false');
    await expect(page.getByTestId(`ns-row-${ns}`)).toContainText('separate');
  }
  await page.screenshot({ path: join(shots, 'side-by-side.png') });

  // a second terminal into the same container (exec), as a tab
  await page.getByTestId('term-add').click();
  await expect(page.getByTestId('term-tab-1')).toBeVisible();
  await expect.poll(() => terminalText(page, 'terminal-container')).toMatch(/[#$] ?\s*$/m);
  await typeLine(page, 'terminal-container', 'echo exec=$(hostname) pid=$$');
  await expect.poll(() => terminalText(page, 'terminal-container')).toMatch(new RegExp(`^exec=${containerHostname} pid=(?!1\\b)\\d+`, 'm'));

  // stop: the exit status shows
  const row = page.getByTestId('container-row').first();
  await row.getByTestId('container-stop').click();
  await expect(row).toHaveAttribute('data-state', 'exited', { timeout: 15_000 });
  await expect(row.getByTestId('container-exit')).toHaveText(/^\d+/);
  await expect(page.getByTestId('container-exit-banner')).toContainText('exited');
  await page.screenshot({ path: join(shots, 'stopped.png') });
});

test('without a PID namespace the container sees the host processes', async ({ app: page }) => {
  await page.getByTestId('ns-pid').uncheck();
  await runContainer(page);
  await typeLine(page, 'terminal-container', 'echo pid=$$ procs=$(ls /proc | grep -c "^[0-9]")');
  await expect.poll(() => terminalText(page, 'terminal-container')).toMatch(/^pid=\d+ procs=\d+/m);
  const [, pid, procs] = /^pid=(\d+) procs=(\d+)/m.exec(await terminalText(page, 'terminal-container'))!;
  expect(Number(pid)).toBeGreaterThan(1);
  expect(Number(procs)).toBeGreaterThan(10);
  await expect(page.getByTestId('ns-row-pid')).toHaveAttribute('data-shared', 'true');
  await expect(page.getByTestId('ns-row-pid')).toContainText('shared');
  await page.screenshot({ path: join(shots, 'shared-pid.png') });
});

test('an invalid hostname shows an inline error and starts nothing', async ({ app: page }) => {
  const before = await page.getByTestId('container-row').count();
  for (const bad of ['bad_name!', '-leading', 'x'.repeat(65)]) {
    await page.getByTestId('launch-hostname').fill(bad);
    await page.getByTestId('launch-run').click();
    await expect(page.getByTestId('launch-error')).toBeVisible();
  }
  await page.getByTestId('launch-command').fill('');
  await page.getByTestId('launch-hostname').fill('');
  await page.getByTestId('launch-run').click();
  await expect(page.getByTestId('launch-error')).toContainText('command is empty');
  await page.waitForTimeout(300);
  await expect(page.getByTestId('container-row')).toHaveCount(before);
});

test('terminals survive a flood (yes) and stay responsive', async ({ app: page }) => {
  await runContainer(page);
  await typeLine(page, 'terminal-container', 'yes');
  await page.waitForTimeout(1500);
  // the UI still answers while the flood runs
  await page.getByTestId('font-larger').click();
  await expect(page.getByTestId('font-size')).toHaveText(/\d+px/);
  await page.getByTestId('terminal-container').click();
  await page.keyboard.press('Control+C');
  await typeLine(page, 'terminal-container', 'echo flood-$((6*7))');
  await expect.poll(() => terminalText(page, 'terminal-container'), { timeout: 15_000 }).toContain('flood-42');
  await page.getByTestId('font-smaller').click();
});
