// Step-through: the launch really stops before each planned syscall; Next lets exactly one call
// happen (it lands in the log), Run to exec lets the rest run, and the shell's prompt appears.
import { join } from 'node:path';
import { expect, terminalText, test } from './support/fixtures';

const shots = join(__dirname, 'screenshots');

test('step through a launch: pending call, Next, Run to exec, a prompt', async ({ app: page }) => {
  const before = await page.getByTestId('container-row').count();
  await page.getByTestId('launch-step-through').check();
  await page.getByTestId('launch-run').click();

  const bar = page.getByTestId('step-bar');
  await expect(bar).toHaveAttribute('data-state', 'paused');
  const pendingRow = page.getByTestId('syscall-pending');
  await expect(pendingRow).toBeVisible();
  // the clone has happened (host side); no call of the child has
  await expect(page.locator('[data-testid="syscall-row"][data-name="clone"]')).toHaveCount(1);
  await expect(page.locator('[data-testid="syscall-row"].child')).toHaveCount(0);
  // not a container yet: nothing in the list
  await expect(page.getByTestId('container-row')).toHaveCount(before);

  for (let i = 1; i <= 3; i++) {
    const name = await pendingRow.getAttribute('data-name');
    await expect(page.getByTestId('step-progress')).toContainText(`${i - 1} of `);
    await page.getByTestId('step-next').click();
    // the released call lands in the log as a child row, and the next one is pending
    await expect(page.locator('[data-testid="syscall-row"].child')).toHaveCount(i);
    await expect(page.locator('[data-testid="syscall-row"].child').last()).toHaveAttribute('data-name', name!);
    await expect(page.getByTestId('step-progress')).toContainText(`${i} of `);
    await expect(bar).toHaveAttribute('data-state', 'paused');
  }
  await page.screenshot({ path: join(shots, 'step-through.png') });

  await page.getByTestId('step-run').click();
  await expect(page.getByTestId('container-row')).toHaveCount(before + 1);
  await expect(page.getByTestId('terminal-container')).toBeVisible();
  await expect.poll(() => terminalText(page, 'terminal-container')).toMatch(/[#$] ?\s*$/m);
  await expect(page.getByTestId('syscall-pending')).toHaveCount(0);
  await expect(page.getByTestId('step-ended')).toContainText('finished');
});

test('cancel a paused launch: nothing starts and the host check stays clean', async ({ app: page }) => {
  const before = await page.getByTestId('container-row').count();
  await page.getByTestId('launch-step-through').check();
  await page.getByTestId('launch-run').click();
  await expect(page.getByTestId('step-bar')).toHaveAttribute('data-state', 'paused');
  await page.getByTestId('step-next').click();
  await expect(page.locator('[data-testid="syscall-row"].child')).toHaveCount(1);
  await page.getByTestId('step-cancel').click();
  await expect(page.getByTestId('step-ended')).toContainText('cancelled');
  await expect(page.getByTestId('launch-error')).toContainText('step-through cancelled before');
  await expect(page.locator('[data-testid="syscall-row"][data-name="read"]').last()).toContainText('EPIPE');
  await expect(page.getByTestId('container-row')).toHaveCount(before);
  await page.getByTestId('tools-tab-hostcheck').click();
  await expect(page.getByTestId('hostcheck-clean')).toBeVisible();
});
