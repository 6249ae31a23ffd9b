import { join } from 'node:path';
import { existsSync, readFileSync } from 'node:fs';
import type { Page } from '@playwright/test';
import { expect, runContainer, terminalText, test, typeLine } from './support/fixtures';
import type { loadLessons as LoadLessons } from '../app/main/lessons/loader';

// the bundled lessons, read by the same loader the app uses
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { loadLessons } = require(join(__dirname, '..', 'build/app/main/lessons/loader.js')) as { loadLessons: typeof LoadLessons };

/** Runs the launch form as a lesson step set it; the shell may be the host's dash (no mount namespace). */
async function runStep(page: Page): Promise<void> {
  const before = await page.getByTestId('container-row').count();
  await page.getByTestId('launch-run').click();
  await expect(page.getByTestId('container-row')).toHaveCount(before + 1);
  await expect(page.getByTestId('terminal-container')).toBeVisible();
  await expect.poll(() => terminalText(page, 'terminal-container')).toMatch(/[#$] /);
}

const shots = join(__dirname, 'screenshots');

/** What each step's commands must show on the default rootfs: the demo really demonstrates its point. */
const SHOWS: Record<string, { pane: 'host' | 'container'; text: RegExp }[]> = {
  plain: [{ pane: 'container', text: /pid=\d{2,}/ }],
  uts: [{ pane: 'container', text: /you must be root to change the host nameexit=1/ }, { pane: 'container', text: /# hostnamerenamed-inside/ }],
  'pid-old-proc': [{ pane: 'container', text: /pid=1 +PID/ }],
  'pid-fresh-proc': [{ pane: 'container', text: /pid=1PID/ }],
  // the same chroot escape: the host's / on the host, the busybox rootfs inside the container's mount namespace
  'mnt-pivot-root': [{ pane: 'host', text: /escaped to a \/ with: .*\bboot\b/ }, { pane: 'host', text: /escaped to a \/ with: bin dev etc home linuxrc mnt proc root run sbin sys tmp usr var/ }],
  'ipc-net': [{ pane: 'host', text: /0x4c4f434b/ }],
  cgroups: [{ pane: 'container', text: /can't fork/ }],
  // root without its powers: refused without CAP_SYS_ADMIN, allowed with it, nothing with cap-drop ALL; the seccomp filter
  'caps-default': [{ pane: 'container', text: /hostname-exit=1/ }, { pane: 'container', text: /mount-exit=1/ }, { pane: 'host', text: /=cap_chown,/ }],
  'caps-add': [{ pane: 'container', text: /CapEff:\s*00000000a82425fb/ }, { pane: 'container', text: /\/mnt rw\S* - tmpfs demo/ }, { pane: 'host', text: /the host's \/mnt: nothing mounted/ }],
  'caps-drop': [{ pane: 'container', text: /CapEff:\s*0000000000000000/ }, { pane: 'container', text: /Operation not permitted\s*chown-exit=1/ }, { pane: 'container', text: /Permission denied\s*read-exit=1/ }],
  'seccomp-on': [{ pane: 'container', text: /Seccomp:\s*2/ }, { pane: 'container', text: /Operation not permitted\s*unshare-exit=1/ }],
  'seccomp-off': [{ pane: 'container', text: /Seccomp:\s*0/ }, { pane: 'container', text: /uid=65534\(nobody\).*unshare-exit=0/ }],
  // a rootfs is files: the overlay's dirs on the host, a write in the upper dir, copy-up, a whiteout, a fresh upper dir
  'layers-stack': [{ pane: 'container', text: /overlay overlay .*lowerdir=.*upperdir=.*workdir=/ }, { pane: 'host', text: /lower=\/\S+\/rootfs.*\blinuxrc\b.*\bsbin\b/ }],
  'layers-write': [{ pane: 'host', text: /hello from the container/ }, { pane: 'host', text: /hello\.txt'?: No such file or directory/ }],
  'layers-copy-up': [{ pane: 'host', text: /> a line from the container/ }],
  'layers-whiteout': [{ pane: 'host', text: /c--------- .*0, *0 .*os-release/ }],
  'layers-fresh': [{ pane: 'container', text: /hello\.txt'?: No such file or directory/ }],
  // a host folder inside the container, both ways; read-only inside, still writable outside
  'volume-bind': [{ pane: 'container', text: /written on the host/ }, { pane: 'host', text: /written in the container/ }],
  'volume-ro': [{ pane: 'container', text: /Read-only file system\s*write-exit=1/ }, { pane: 'container', text: /the host can still write/ }],
  // a veth on locker0, an address and a route, masquerade and DNAT counted, loopback only, the host's own namespace
  'net-interfaces': [{ pane: 'container', text: /1: lo: .*2: eth0@if\d+: / }, { pane: 'host', text: /\d+: lk[0-9a-f]{10}@if2: .* master locker0 / }],
  'net-address': [{ pane: 'container', text: /inet 10\.88\.0\.\d+\/24 / }, { pane: 'container', text: /default via 10\.88\.0\.1 dev eth0/ }, { pane: 'container', text: /2 packets transmitted, 2 packets received/ }, { pane: 'host', text: /inet 10\.88\.0\.1\/24 / }],
  'net-outbound': [{ pane: 'host', text: /oifname != "locker0" counter packets [1-9]\d* bytes \d+ masquerade/ }, { pane: 'host', text: /src=10\.88\.0\.\d+ dst=1\.1\.1\.1 .*src=1\.1\.1\.1 dst=(?!10\.88\.)\d/ }],
  'net-publish': [{ pane: 'host', text: /hello from the container/ }, { pane: 'host', text: /tcp dport 18080 counter packets [1-9]\d* bytes \d+ dnat to 10\.88\.0\.\d+:8080/ }],
  'net-none': [{ pane: 'container', text: /Network is unreachable\s*ping-exit=1/ }, { pane: 'container', text: /1 packets transmitted, 1 packets received/ }],
  'net-host': [{ pane: 'container', text: /\d+: locker0: / }, { pane: 'host', text: /(net:\[\d+\])\1/ }],
  // the host's later tmpfs: not in a private volume, in an rslave one; :ro stays on /data only; the umounts reach the containers
  'mounts-private': [{ pane: 'host', text: /mounts-lesson rw\S* shared:\d+ / }, { pane: 'host', text: /\bhello\b/ }],
  'mounts-rslave': [{ pane: 'container', text: /\/data\/x rw\S* master:\d+ - tmpfs none/ }, { pane: 'container', text: /on the host tmpfs/ }, { pane: 'host', text: /mountinfo1/ }],
  'mounts-ro': [{ pane: 'container', text: /Read-only file system\s*volume-write-exit=1/ }, { pane: 'container', text: /tmpfs-write-exit=0/ }, { pane: 'container', text: /\/data ro,\S*\/data\/x rw,\S*\/data\/y rw,/ }],
  'mounts-undo': [{ pane: 'host', text: /grep -c tmpfs0/ }],
  // cgroup v1 here (hybrid): the per-controller trees; on a v2 host the same commands print the v2 files
  'cgroup-where': [{ pane: 'container', text: /:cpu:\/0::\// }, { pane: 'host', text: /\d+:pids:\/locker\/[0-9a-f]{12}/ }, { pane: 'host', text: /this host: cgroup v1 or hybrid/ }],
  'cgroup-files': [{ pane: 'host', text: /memory\.limit_in_bytes:33554432/ }, { pane: 'host', text: /cpu\.cfs_quota_us:20000/ }, { pane: 'host', text: /cpu\.cfs_period_us:100000/ }, { pane: 'host', text: /pids\.max:20/ }],
  'cgroup-pids': [{ pane: 'container', text: /can't fork/ }, { pane: 'host', text: /pids\.events:max [1-9]/ }],
  'cgroup-oom': [{ pane: 'container', text: /Killed\s*tail-exit=137/ }, { pane: 'host', text: /memory\.oom_control:oom_kill [1-9]/ }],
  'cgroup-cpu': [{ pane: 'host', text: /nr_throttled [1-9]/ }],
};

/** Clicks through every step of one lesson: each ticks only after its commands, and shows what it promises. */
async function clickThrough(page: Page, lesson: ReturnType<typeof LoadLessons>['lessons'][number], several: boolean): Promise<Set<string>> {
  const shareDirs = new Set<string>();
  if (several) await page.getByTestId('lesson-select').selectOption(lesson.id);
  // the host shell has started (a learner waits for its prompt before clicking a host command)
  await expect.poll(() => terminalText(page, 'terminal-host'), { timeout: 15_000 }).toMatch(/[#$] /);
  for (const [i, step] of lesson.steps.entries()) {
    await page.getByTestId(`lesson-step-${i}`).click();
    await expect(page.getByTestId('lesson-current')).toHaveAttribute('data-step', step.id);
    await expect(page.getByTestId(`lesson-step-${i}`)).toHaveAttribute('data-done', 'false');
    // the preset reached the form: capabilities, the seccomp box, volumes with {share} filled in, network and ports
    await expect(page.getByTestId('launch-cap-add')).toHaveValue((step.preset.capAdd ?? []).join(', '));
    await expect(page.getByTestId('launch-cap-drop')).toHaveValue((step.preset.capDrop ?? []).join(', '));
    if (step.preset.seccomp === false) await expect(page.getByTestId('launch-seccomp')).not.toBeChecked();
    else await expect(page.getByTestId('launch-seccomp')).toBeChecked();
    await expect(page.getByTestId('launch-network')).toHaveValue(step.preset.network ?? 'bridge');
    await expect(page.getByTestId('launch-ports')).toHaveValue((step.preset.ports ?? []).join(', '));
    if (step.preset.volumes) {
      const value = await page.getByTestId('launch-volumes').inputValue();
      const share = value.split(':')[0].replace(/\/[^/]+$/, '');
      expect(share).toMatch(/^\/\S+\/share$/);
      expect(value).toBe(step.preset.volumes.map((v) => v.replace('{share}', share)).join('\n'));
      shareDirs.add(share);
    } else await expect(page.getByTestId('launch-volumes')).toHaveValue('');
    const before = await page.getByTestId('container-row').count();
    await page.getByTestId('launch-run').click();
    if (step.preset.stepThrough) await page.getByTestId('step-run').click();
    await expect(page.getByTestId('container-row')).toHaveCount(before + 1, { timeout: 20_000 });
    if (step.preset.stepThrough) {
      // the prompt may have been printed before the pane attached: ask for a fresh one, as a learner would
      await page.waitForTimeout(1000);
      if (!/[#$] /.test(await terminalText(page, 'terminal-container'))) await typeLine(page, 'terminal-container', '');
    }
    await expect.poll(() => terminalText(page, 'terminal-container'), { timeout: 15_000 }).toMatch(/[#$] /);
    // launched with the step's settings: checked, shown as sentences, and not ticked by the launch
    await expect(page.getByTestId('lesson-outcomes')).toBeVisible();
    await expect(page.getByTestId('lesson-mismatch')).toHaveCount(0);
    await page.waitForTimeout(1700); // past one automatic check
    await expect(page.getByTestId(`lesson-step-${i}`), `${step.id} ticked at launch`).toHaveAttribute('data-done', 'false');
    await expect(page.getByTestId('lesson-outcomes')).not.toContainText('namespaceSeparate');
    for (const [n, cmd] of step.commands.entries()) {
      const bomb = /bomb\(\)/.test(cmd.run);
      if (bomb) continue; // the gentle command already meets the limit; the bomb gets its own test below
      const pane = cmd.pane === 'container' ? 'terminal-container' : 'terminal-host';
      const shownBefore = await terminalText(page, pane);
      await page.getByTestId(`lesson-cmd-${n}`).click();
      // the command has printed and the prompt is back
      await expect.poll(async () => (await terminalText(page, pane)) !== shownBefore && /[#$] ?\s*$/.test(await terminalText(page, pane)), { timeout: 15_000 }).toBe(true);
    }
    for (const want of SHOWS[step.id] ?? []) {
      // xterm wraps long lines: read the screen as one line
      const screen = async () => (await terminalText(page, want.pane === 'container' ? 'terminal-container' : 'terminal-host')).replace(/\n/g, '');
      await expect.poll(screen, { message: `${step.id} shows ${want.text}` }).toMatch(want.text);
    }
    await expect(page.getByTestId(`lesson-step-${i}`), `${step.id} ticks after its commands`).toHaveAttribute('data-done', 'true', { timeout: 10_000 });
    await expect(page.getByTestId('lesson-verified')).toBeVisible();
  }
  return shareDirs;
}

const bundled = loadLessons().lessons;
for (const lesson of bundled) {
  test(`lesson ${lesson.id}: every step ticks only after its action${lesson === bundled[0] ? ', and Reset clears the ticks' : ''}`, async ({ app: page }) => {
    test.setTimeout(300_000);
    const lessons = bundled;
    const panel = page.getByTestId('lesson-panel');
    await expect(panel.getByTestId('lesson-step-0')).toBeVisible();
    await expect(page.getByTestId('lesson-problem')).toHaveCount(0);
    const shareDirs = await clickThrough(page, lesson, lessons.length > 1);
    if (lesson.id === 'classic') {
      // nothing left on the host by the demos
      expect(existsSync('/tmp/jail')).toBe(false);
      expect(readFileSync('/proc/sysvipc/shm', 'utf8')).not.toMatch(/\b1280262987\b/); // key 0x4c4f434b
    }
    if (lesson.id === 'volumes') {
      // the volumes lesson removed its folder from the share
      expect(shareDirs.size).toBeGreaterThan(0);
      for (const share of shareDirs) expect(existsSync(join(share, 'volumes-lesson'))).toBe(false);
    }
    if (lesson.id === 'mounts') {
      // the lesson unmounted what it mounted on the host and removed its folder
      expect(shareDirs.size).toBeGreaterThan(0);
      for (const share of shareDirs) expect(existsSync(join(share, 'mounts-lesson'))).toBe(false);
      expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain('mounts-lesson');
    }
    if (lesson.id === 'networking') {
      // the listener of the -p step ended after its one connection; nothing listens on the host port
      expect(readFileSync('/proc/net/tcp', 'utf8') + readFileSync('/proc/net/tcp6', 'utf8')).not.toMatch(/:4688 [0-9A-F]+:0000 0A/); // 18080
    }
    if (lesson === lessons[lessons.length - 1]) await page.screenshot({ path: join(shots, 'lesson.png') });
    if (lesson !== lessons[0]) return;

    // the ticks survive a reload while their containers exist; Reset clears them and only new work counts
    await page.reload();
    if (lessons.length > 1) await page.getByTestId('lesson-select').selectOption(lessons[0].id);
    await expect(page.getByTestId('lesson-step-0')).toHaveAttribute('data-done', 'true');
    await page.getByTestId('lesson-reset').click();
    for (let i = 0; i < lessons[0].steps.length; i++) await expect(page.getByTestId(`lesson-step-${i}`)).toHaveAttribute('data-done', 'false');
    await page.waitForTimeout(1700);
    await expect(page.getByTestId(`lesson-step-${lessons[0].steps.length - 1}`)).toHaveAttribute('data-done', 'false');
  });
}

test('the first launch with the defaults: one line saying what to do, no wall of failures', async ({ app: page }) => {
  await page.getByTestId('lesson-step-0').click();
  // the form's defaults, not the step's preset
  await page.reload();
  for (const ns of ['pid', 'uts', 'mnt']) await page.getByTestId(`ns-${ns}`).check();
  await runStep(page);
  await expect(page.getByTestId('lesson-mismatch')).toContainText('this step wants no namespaces. Press “Set up the launch form”, then Run.');
  await expect(page.getByTestId('lesson-outcomes')).toHaveCount(0);
  await expect(page.getByTestId('lesson-step-0')).toHaveAttribute('data-done', 'false');
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
    // scroll through the (virtualized) list until pivot_root is drawn: a screen each poll, ~200 rows
    // (what the app made ahead for this container comes first: its network, its clone)
    const found = await page.locator('[data-testid="syscall-row"][data-name="pivot_root"]').count();
    if (!found) await rows.evaluate((el) => { el.scrollTop += el.clientHeight; });
    return found;
  }, { timeout: 30_000, intervals: [100] }).toBeGreaterThan(0);
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
