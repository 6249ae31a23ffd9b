// The app as an ordinary user: `locker ui --web` started AS the test user (as Electron runs as the
// logged-in user), opened in chromium, Run clicked with the form's defaults. The first click must
// start a container: the user namespace is on and locked (it is what makes you root inside), the
// shell is PID 1 with its own hostname, and on the host it runs as the test user, not as root.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { expect, runContainer, terminalText, test, typeLine } from './support/fixtures';
import { ROOT } from './support/electron';

type Harness = typeof import('../app/main/testing/harness');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const harness = require(join(ROOT, 'build/app/main/testing/harness.js')) as Harness;

interface UserUi {
  url: string;
  dataDir: string;
  child: ChildProcess;
  output(): string;
}

/** `locker ui --web --port 0` as the test user, with a data dir of its own; resolves with the URL it prints. */
async function startUiAsUser(): Promise<UserUi> {
  const cli = harness.cliForTestUser();
  const dataDir = harness.userDataDir();
  const child = spawn('runuser', ['-u', harness.TEST_USER, '--', 'env', `LOCKER_DATA_DIR=${dataDir}`, 'HOME=/tmp', cli, 'ui', '--web', '--port', '0'], {
    // A process group of its own: runuser does not pass SIGINT on, so the stop signals the whole group.
    cwd: '/tmp', stdio: ['ignore', 'pipe', 'pipe'], detached: true,
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const url = await harness.until(() => /Locker web UI: (\S+)/.exec(out)?.[1] ?? (child.exitCode !== null ? `exited: ${out}` : undefined), 20_000);
  if (url.startsWith('exited:')) throw new Error(`locker ui --web as ${harness.TEST_USER} ${url}`);
  return { url, dataDir, child, output: () => out };
}

/** Removes what the user's app started, stops it, and leaves no data dir behind. */
async function stopUi(ui: UserUi): Promise<void> {
  const ps = harness.runAsUser(ui.dataDir, ['ps', '-a', '--json']);
  const ids = ps.status === 0 ? (JSON.parse(ps.stdout) as { id: string }[]).map((c) => c.id) : [];
  if (ids.length > 0) harness.runAsUser(ui.dataDir, ['rm', '-f', ...ids]);
  if (ui.child.exitCode === null) {
    const exited = new Promise((resolve) => ui.child.once('exit', resolve));
    process.kill(-ui.child.pid!, 'SIGINT');
    const timer = setTimeout(() => process.kill(-ui.child.pid!, 'SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
  // Nothing of the group may outlive the test (the web server ran as the test user, below runuser).
  await harness.until(() => spawnSync('pgrep', ['-g', String(ui.child.pid)]).status !== 0, 10_000);
  rmSync(ui.dataDir, { recursive: true, force: true });
}

test('as an ordinary user, the first click on Run starts a container', async ({ browser }, testInfo) => {
  testInfo.skip(testInfo.project.name !== 'web', 'web mode as the test user');
  const ui = await startUiAsUser();
  const page = await browser.newPage();
  try {
    page.on('pageerror', (e) => console.log(`page error: ${e.message}`));
    await page.goto(ui.url);

    // the defaults follow what this user can do: user is ticked and cannot be unticked, and says why
    await expect(page.getByTestId('ns-user')).toBeChecked();
    await expect(page.getByTestId('ns-user')).toBeDisabled();
    await expect(page.getByTestId('ns-user-locked')).toContainText('as an ordinary user, the user namespace is what makes you root inside');

    // nothing changed: the first click
    await runContainer(page);
    await expect(page.getByTestId('launch-error')).toHaveCount(0);
    await typeLine(page, 'terminal-container', 'echo pid=$$ uid=$(id -u) host=$(hostname)');
    await expect.poll(() => terminalText(page, 'terminal-container')).toMatch(/^pid=1 uid=0 host=\S+\s*$/m);
    const inside = /^pid=1 uid=0 host=(\S+)\s*$/m.exec(await terminalText(page, 'terminal-container'))![1];
    await expect(page.getByTestId('hostname-container')).toHaveText(inside);
    await expect(page.getByTestId('hostname-host')).not.toHaveText(inside);

    // root inside, the test user outside: PID 1 is an ordinary host process owned by lockertest
    const init = page.getByTestId('proc-container-1');
    await expect(init).toContainText(/↔ host \d+/);
    const hostPid = Number(await init.getAttribute('data-host-pid'));
    const uid = Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${hostPid}/status`, 'utf8'))![1]);
    expect(uid).toBe(Number(spawnSync('id', ['-u', harness.TEST_USER], { encoding: 'utf8' }).stdout.trim()));
  } finally {
    await page.close();
    await stopUi(ui);
  }
});
