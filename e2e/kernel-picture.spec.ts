// The kernel picture: its boxes say what the kernel says of a real container (read here straight
// from /proc, not from Locker's inspection), it follows what the container writes, it exports,
// and during step-through it and the container column change after sethostname and pivot_root.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from '@playwright/test';
import { expect, runContainer, test, typeLine } from './support/fixtures';

const shots = join(__dirname, 'screenshots');

const box = (page: Page, id: string) => page.locator(`[data-testid="kp-box"][data-id="${id}"]`);
/** A box's full text (its <title>: the drawn lines may be cut to fit). */
const fullText = async (page: Page, id: string): Promise<string> => (await box(page, id).locator(':scope > title').textContent()) ?? '';

/** Last NSpid field of a host process: its PID in its own PID namespace. */
const innerPid = (pid: number): number => Number(/^NSpid:\s+(.*)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1].trim().split(/\s+/).at(-1));

function overlayOf(pid: number): { lower: string; upper: string; work: string } {
  const line = readFileSync(`/proc/${pid}/mountinfo`, 'utf8').split('\n').find((l) => / - overlay \S+ .*upperdir=/.test(l));
  expect(line, 'the container root is an overlay').toBeTruthy();
  const opts = Object.fromEntries(line!.split(' - ')[1].split(' ')[2].split(',').map((kv) => kv.split('=')));
  return { lower: opts.lowerdir, upper: opts.upperdir, work: opts.workdir };
}

test('the picture matches the kernel: PID pairs, hostname, uid map, overlay layers, the changes', async ({ app: page }) => {
  await runContainer(page);
  const picture = page.getByTestId('kernel-picture');
  await expect(picture).toBeVisible();
  await expect(picture).toHaveAttribute('data-stage', 'running');

  // processes: every box is a host PID ↔ container PID pair the kernel agrees with
  const procs = page.locator('[data-testid="kp-box"][data-kind="process"][data-id^="proc:"]');
  await expect(procs.first()).toBeVisible();
  const ids = await procs.evaluateAll((els) => els.map((e) => e.getAttribute('data-id')!).filter((i) => /^proc:\d+$/.test(i)));
  expect(ids.length).toBeGreaterThan(0);
  let init = 0;
  for (const id of ids) {
    const hostPid = Number(id.slice(5));
    const title = (await box(page, id).locator('[data-part="title"]').textContent())!;
    expect(title).toBe(`${hostPid} ↔ ${innerPid(hostPid)}`);
    if (innerPid(hostPid) === 1) init = hostPid;
  }
  expect(init, 'PID 1 of the container is drawn').toBeGreaterThan(0);
  // they sit inside the PID namespace box, inside the container
  await expect(box(page, 'ns:pid').locator(`[data-id="proc:${init}"]`)).toHaveCount(1);
  await expect(box(page, 'container').locator('[data-id="ns:pid"]')).toHaveCount(1);

  // hostname: the name the container's UTS namespace really holds
  const hostname = execFileSync('nsenter', ['-t', String(init), '-u', 'hostname'], { encoding: 'utf8' }).trim();
  await expect(box(page, 'container').locator(':scope > [data-part="title"]')).toHaveText(`container ${hostname}`);
  await expect(page.getByTestId('hostname-container')).toHaveText(hostname);

  // uid map: the kernel's line, inside ↔ outside
  const [inside, outside] = readFileSync(`/proc/${init}/uid_map`, 'utf8').trim().split(/\s+/);
  expect(await fullText(page, 'idmap:uid')).toContain(`${inside} ↔ ${outside}`);

  // overlay layers: the paths of the mount's own options
  const o = overlayOf(init);
  await expect.poll(() => fullText(page, 'layer:upper')).toContain(o.upper);
  expect(await fullText(page, 'layer:work')).toContain(o.work);
  expect(await fullText(page, 'layer:lower:0')).toContain(o.lower.split(':')[0]);

  // a write inside lands in the upper layer, and the picture lists it
  await typeLine(page, 'terminal-container', 'echo hi > /kp-made-this');
  await expect.poll(() => fullText(page, 'changes'), { timeout: 15_000 }).toContain('kp-made-this');

  // the veth to locker0, when the container is on the bridge
  const veth = page.locator('[data-testid="kp-box"][data-id^="if:host:lk"]');
  if (await veth.count()) {
    await expect(box(page, 'bridge:locker0')).toBeVisible();
    await expect(page.locator('[data-testid="kp-edge"][data-to="if:eth0"]')).toHaveCount(1);
  }

  await picture.screenshot({ path: join(shots, 'kernel-picture.png') });

  // export: an SVG file with the same boxes, and a PNG
  const [svgFile] = await Promise.all([page.waitForEvent('download'), page.getByTestId('kp-export-svg').click()]);
  const svg = readFileSync((await svgFile.path())!, 'utf8');
  writeFileSync(join(shots, 'kernel-picture.svg'), svg);
  expect(svg).toMatch(/^<svg[^>]+xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  expect(svg).toContain(`${init} ↔ 1`);
  const [pngFile] = await Promise.all([page.waitForEvent('download'), page.getByTestId('kp-export-png').click()]);
  expect(pngFile.suggestedFilename()).toMatch(/\.png$/);
  expect(readFileSync((await pngFile.path())!).subarray(1, 4).toString()).toBe('PNG');
});

test('step-through: PID 1 at once; the picture and the container column change after pivot_root and sethostname', async ({ app: page }) => {
  test.setTimeout(180_000);
  await page.getByTestId('launch-step-through').check();
  await page.getByTestId('launch-run').click();
  await expect(page.getByTestId('step-bar')).toHaveAttribute('data-state', 'paused');

  // the paused launch is in the side-by-side view at once: PID 1 exists, the program does not run yet
  await expect(page.getByTestId('setting-up-note')).toBeVisible();
  await expect(page.getByTestId('proctree-container').getByTestId('proc-container-1')).toBeVisible();
  const picture = page.getByTestId('kernel-picture');
  await expect(picture).toHaveAttribute('data-stage', 'cloned');
  for (const ns of ['mnt', 'uts', 'pid']) await expect(box(page, `ns:${ns}`)).toBeVisible();
  const hostName = (await page.getByTestId('hostname-host').textContent())!;
  // the UTS namespace starts as a copy of the host's
  await expect(box(page, 'container').locator(':scope > [data-part="title"]')).toHaveText(`container ${hostName}`);
  const hostListing = await page.getByTestId('fs-host-entry').evaluateAll((els) => els.map((e) => e.getAttribute('data-name')).join(' '));
  await expect.poll(() => page.getByTestId('fs-container-entry').evaluateAll((els) => els.map((e) => e.getAttribute('data-name')).join(' '))).toBe(hostListing);

  /**
   * Next, until `name` has been made; returns its arguments. The clicks run in the page, each once
   * the previous call is back at a pause: a plan has ~140 calls and each refreshes the whole view.
   */
  const nextThrough = (name: string): Promise<string> => page.evaluate(async (wanted) => {
    const q = (id: string) => document.querySelector(`[data-testid="${id}"]`);
    for (let i = 0; i < 400; i++) {
      const pending = q('syscall-pending')!;
      const call = pending.getAttribute('data-name');
      const args = pending.querySelector('.call')!.textContent!;
      const before = q('step-progress')!.textContent;
      (q('step-next') as HTMLButtonElement).click();
      const end = Date.now() + 10_000;
      await new Promise<void>((resolve, reject) => {
        const check = () => {
          if (q('step-bar')?.getAttribute('data-state') === 'paused' && q('step-progress')?.textContent !== before && q('syscall-pending')) resolve();
          else if (Date.now() > end) reject(new Error(`no pause after ${call}`));
          else requestAnimationFrame(check);
        };
        check();
      });
      if (call === wanted) return args;
    }
    throw new Error(`no ${wanted} in the plan`);
  }, name);

  await nextThrough('pivot_root');
  await expect(page.getByTestId('step-explain')).toContainText("the container's / is now the image");
  await expect(picture).toHaveAttribute('data-stage', 'pivoted');
  await expect(box(page, 'container')).toHaveAttribute('data-fresh', 'true');
  expect(await fullText(page, 'container')).toContain('root: the image (pivot_root)');
  // the container's listing is now the image's
  await expect.poll(() => page.getByTestId('fs-container-entry').evaluateAll((els) => els.map((e) => e.getAttribute('data-name')).join(' '))).not.toBe(hostListing);
  await expect(page.locator('[data-testid="fs-container-entry"][data-name="bin"]')).toHaveCount(1);
  await page.screenshot({ path: join(shots, 'kernel-picture-step.png') });

  const args = await nextThrough('sethostname');
  const name = /"([^"]+)"/.exec(args)![1];
  await expect(page.getByTestId('step-explain')).toContainText(`the container's UTS namespace now calls itself ${name}`);
  await expect(box(page, 'container').locator(':scope > [data-part="title"]')).toHaveText(`container ${name}`);
  await expect(page.getByTestId('hostname-container')).toHaveText(name);

  await page.getByTestId('step-run').click();
  await expect(page.getByTestId('step-ended')).toContainText('finished');
  // the rows are drawn only where the log is scrolled to: its end
  await page.getByTestId('syscall-rows').evaluate((el) => { el.scrollTop = el.scrollHeight; });
  // the log ends with execve, marked as inferred from the report pipe's EOF
  const exec = page.locator('[data-testid="syscall-row"][data-name="execve"].child');
  await expect(exec).toHaveCount(1);
  await expect(exec).toHaveAttribute('data-inferred', 'eof');
  await expect(exec).toContainText('inferred from EOF');
  await expect(picture).toHaveAttribute('data-stage', 'running');
  await expect(page.getByTestId('terminal-container')).toBeVisible();
});
