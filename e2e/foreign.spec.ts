// Another engine's container in the app: a real runc container (in /run/runc, where discovery looks)
// shows up in the list with its engine, opens side by side like Locker's own, and "+" opens a shell
// inside it; the app offers no stop or remove for it.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, expect, terminalText, typeLine } from './support/fixtures';
import { ROOT } from './support/electron';

test('a runc container is listed with its engine and shown side by side; + opens a shell in it', async ({ app: page, webUrl }) => {
  void webUrl; // web mode: the runc container is on this machine
  test.skip(spawnSync('sh', ['-c', 'command -v runc']).status !== 0, 'runc is not installed');
  const { runcBundle, runcDetached } = require(join(ROOT, 'build/app/main/testing/runc-bundle.js')) as typeof import('../app/main/testing/runc-bundle');
  const { defaultRootfs } = require(join(ROOT, 'build/app/main/runtime/rootfs/default-rootfs.js')) as typeof import('../app/main/runtime/rootfs/default-rootfs');
  const { dataDir, imagesDir } = require(join(ROOT, 'build/app/main/runtime/data-dir.js')) as typeof import('../app/main/runtime/data-dir');
  const work = mkdtempSync(join(tmpdir(), 'locker-e2e-runc-'));
  chmodSync(work, 0o755);
  const id = `e2e-runc-${process.pid}`;
  try {
    const pid = runcDetached(runcBundle(work, defaultRootfs(imagesDir(dataDir())), 'runc-in-window', ['sleep', '120']), id);
    const row = page.locator(`[data-testid=foreign-container-row][data-container-id="${id}"]`);
    await expect(row).toBeVisible({ timeout: 15_000 }); // the app scans the machine every 3 s
    await expect(row.getByTestId('container-engine')).toHaveText('runc');
    await expect(row.getByTestId('container-stop')).toHaveCount(0);
    await expect(row.getByTestId('container-remove')).toHaveCount(0);
    await row.getByTestId('container-open').click();
    await expect(page.getByTestId('hostname-container')).toContainText('runc-in-window');
    await expect(page.getByTestId('ns-row-pid')).toHaveAttribute('data-shared', 'false');
    await expect(page.getByTestId('column-container')).toContainText(String(pid));
    // What differs from Locker's defaults, read from /proc: runc's spec has no cgroup namespace, no seccomp filter, 3 capabilities.
    const differs = (topic: string) => page.locator(`[data-testid=confinement-difference][data-topic="${topic}"]`);
    await expect(differs('cgroup namespace')).toContainText("the host's");
    await expect(differs('seccomp')).toContainText('none (mode 0)');
    await expect(differs('capabilities')).toContainText('3 in the bounding set');
    await expect(differs('capabilities')).toContainText('drops 11 Locker keeps');
    await expect(page.getByTestId('confinement-summary')).toHaveText(/seccomp none · no_new_privs set · 3 capabilities/);
    await page.getByTestId('term-add').click();
    await expect.poll(() => terminalText(page, 'terminal-container')).toMatch(/[#$] ?\s*$/m);
    await typeLine(page, 'terminal-container', 'echo inside=$(hostname) pid1=$(cat /proc/1/comm)');
    await expect.poll(() => terminalText(page, 'terminal-container')).toMatch(/^inside=runc-in-window pid1=sleep/m);
  } finally {
    spawnSync('runc', ['delete', '--force', id]);
    rmSync(work, { recursive: true, force: true });
  }
});

test('a container launched by locker oci (as podman does through bin/locker-runtime) shows the syscalls that made it', async ({ app: page, webUrl }) => {
  void webUrl;
  test.skip(spawnSync('sh', ['-c', 'command -v runc']).status !== 0, 'runc is not installed (its `runc spec` makes the bundle)');
  const { runcBundle } = require(join(ROOT, 'build/app/main/testing/runc-bundle.js')) as typeof import('../app/main/testing/runc-bundle');
  const { defaultRootfs } = require(join(ROOT, 'build/app/main/runtime/rootfs/default-rootfs.js')) as typeof import('../app/main/runtime/rootfs/default-rootfs');
  const { dataDir, imagesDir } = require(join(ROOT, 'build/app/main/runtime/data-dir.js')) as typeof import('../app/main/runtime/data-dir');
  const runtime = join(ROOT, 'bin', 'locker-runtime');
  const work = mkdtempSync(join(tmpdir(), 'locker-e2e-oci-'));
  chmodSync(work, 0o755);
  const id = `e2e-oci-${process.pid}`;
  try {
    const bundle = runcBundle(work, defaultRootfs(imagesDir(dataDir())), 'oci-in-window', ['sleep', '120']);
    // In /run/locker-oci, where discovery looks; create's stdio is the container's: none here, or spawnSync would wait for it.
    expect(spawnSync(runtime, ['create', '--bundle', bundle, id], { stdio: 'ignore', timeout: 60000 }).status).toBe(0);
    expect(spawnSync(runtime, ['start', id], { stdio: 'ignore', timeout: 60000 }).status).toBe(0);
    const row = page.locator(`[data-testid=foreign-container-row][data-container-id="${id}"]`);
    await expect(row).toBeVisible({ timeout: 15_000 });
    await expect(row.getByTestId('container-engine')).toHaveText('locker-oci');
    await row.getByTestId('container-open').click();
    await expect(page.getByTestId('hostname-container')).toContainText('oci-in-window');
    // create's and start's calls, read from the state dir's syscalls.jsonl (the pane draws only the rows in view: scroll to the top)
    await expect(page.getByTestId('syscall-count')).toHaveText(/^\d{2,} calls/);
    await page.getByTestId('syscall-rows').evaluate((el) => { el.scrollTop = 0; });
    await expect(page.locator('[data-testid=syscall-row][data-name="mkfifo"]').first()).toBeAttached();
  } finally {
    spawnSync(runtime, ['delete', '--force', id]);
    rmSync(work, { recursive: true, force: true });
  }
});
