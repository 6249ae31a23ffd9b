// Issue 8, item 1: web mode holds no ambient credential. One test per attack, each against the real
// web-mode server (real runtime, real host shell) in a real browser where the browser is the point.
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from '@playwright/test';
import { tokenProtocols } from '../app/shared/web-auth';
import { expect, runContainer, terminalText, test, typeLine } from './support/fixtures';
import { startListener, type Listener } from './support/listener';
import { tryHostShell } from './support/socket-attack';

let listener: Listener;
test.beforeAll(async () => {
  listener = await startListener();
});
test.afterAll(() => listener.close());
test.beforeEach(() => {
  listener.seen.length = 0;
});

/** The app is connected when its host shell is up (it needs an authenticated socket). */
async function connected(page: Page): Promise<void> {
  await expect(page.getByTestId('terminal-host')).toBeVisible();
  await expect(page.getByTestId('app-error')).toHaveCount(0);
}

const marker = () => join(tmpdir(), `locker-e2e-attack-${process.pid}-${Date.now()}`);

test('the token travels only in the fragment: it leaves the address bar at once, no request carries it, no cookie is set', async ({ browser, webInfo }) => {
  expect(new URL(webInfo.url).hash).toBe(`#token=${webInfo.token}`);
  const context = await browser.newContext();
  const page = await context.newPage();
  const sent: string[] = [];
  page.on('request', async (r) => sent.push(`${r.url()}\n${JSON.stringify(await r.allHeaders())}`));
  await page.goto(webInfo.url);
  await connected(page);
  expect(page.url()).toBe(`${webInfo.origin}/`);
  expect(await page.evaluate(() => window.location.href + history.length)).not.toContain(webInfo.token);
  expect(sent.length).toBeGreaterThan(0);
  for (const s of sent) expect(s).not.toContain(webInfo.token);
  expect(await context.cookies()).toEqual([]);
  await context.close();
});

test('a server on another loopback port receives no credential when the browser visits it, and cannot read or use the token', async ({ app: page, webInfo }) => {
  await connected(page);
  await page.goto(`${listener.origin}/steal`);
  await expect(page.locator('body')).toContainText('another port');
  expect(listener.seen.map((s) => s.url)).toContain('/steal');
  for (const s of listener.seen) {
    expect(s.raw).not.toContain(webInfo.token);
    expect(s.headers.cookie).toBeUndefined();
    expect(s.headers.authorization).toBeUndefined();
    expect(s.headers.referer ?? '').not.toContain(`:${webInfo.port}`); // its own page may refer to itself
  }
  // that page's script: nothing stored for its origin, and even the token itself would not open our socket from there
  expect(await page.evaluate(() => [localStorage.length, sessionStorage.length, document.cookie])).toEqual([0, 0, '']);
  const fromThere = await page.evaluate(([wsUrl, protocols]) => new Promise<string>((resolve) => {
    const ws = new WebSocket(wsUrl as string, protocols as string[]);
    ws.onopen = () => resolve('open');
    ws.onclose = (e) => resolve(`closed ${e.code}`);
  }), [webInfo.wsUrl, tokenProtocols(webInfo.token)] as const);
  expect(fromThere).toBe('closed 1006');
});

test('a WebSocket without Origin, with a foreign Origin, or without the right token is refused and cannot open a host shell', async ({ webInfo }) => {
  const ours = { Origin: webInfo.origin };
  const rows: [string, string[], Record<string, string>, RegExp][] = [
    ['no Origin header (any local process)', tokenProtocols(webInfo.token), {}, /^HTTP 403: refused: no Origin header/],
    ['a foreign Origin (a page on another port)', tokenProtocols(webInfo.token), { Origin: listener.origin }, /^HTTP 403: refused: foreign Origin/],
    ['a foreign Origin (another site)', tokenProtocols(webInfo.token), { Origin: 'http://evil.example' }, /^HTTP 403: refused: foreign Origin/],
    ['no token', [], ours, /^HTTP 403: refused: missing token/],
    ['a wrong token', tokenProtocols('A'.repeat(43)), ours, /^HTTP 403: refused: wrong token/],
    ['the token in the query string', [], ours, /^HTTP 403: refused: missing token/],
  ];
  for (const [what, protocols, headers, refusal] of rows) {
    const file = marker();
    const url = what.includes('query') ? `${webInfo.wsUrl}?token=${webInfo.token}` : webInfo.wsUrl;
    const attempt = await tryHostShell(url, protocols, headers, file);
    expect(attempt.outcome, what).toMatch(refusal);
    expect(attempt.wroteOnHost, what).toBe(false);
  }
  // the same probe with our Origin and the token does get a host shell: the rows above can fail
  const file = marker();
  try {
    const control = await tryHostShell(webInfo.wsUrl, tokenProtocols(webInfo.token), ours, file);
    expect(control).toEqual({ outcome: 'open', wroteOnHost: true });
  } finally {
    rmSync(file, { force: true });
  }
});

/** Clicks the terminal row that starts with `text` (where the OSC 8 link is), once xterm shows the link cursor. */
async function clickRowStart(page: Page, testId: string, text: string): Promise<void> {
  const row = page.getByTestId(testId).locator('.xterm-rows > div', { hasText: new RegExp(`^${text}`) }).first();
  await row.scrollIntoViewIfNeeded();
  const box = (await row.boundingBox())!;
  const screen = page.getByTestId(testId).locator('.xterm-screen');
  // xterm looks for links when the mouse enters a line, and caches the answer for that line: come
  // from another line so the answer is about the line as it is now
  const [x, y] = [box.x + 5, box.y + box.height / 2];
  await expect.poll(async () => {
    await page.mouse.move(x, y - 2 * box.height, { steps: 2 });
    await page.mouse.move(x, y, { steps: 2 });
    return screen.getAttribute('class');
  }).toContain('xterm-cursor-pointer');
  await page.mouse.down();
  await page.mouse.up();
}

/** Prints OSC 8 hyperlinks from inside the container, one a line, each labelled (typed in halves, so only the output starts with the label). */
async function printLinks(page: Page, links: (readonly [url: string, label: string])[]): Promise<void> {
  const args = links.map(([url, label]) => `'${url}' ${label.slice(0, 3)} ${label.slice(3)}`).join(' ');
  await typeLine(page, 'terminal-container', `printf '\\033]8;;%s\\007%s%s\\033]8;;\\007\\n' ${args}`);
  for (const [, label] of links) await expect.poll(() => terminalText(page, 'terminal-container')).toMatch(new RegExp(`^${label}`, 'm'));
}

test('a link from a container is shown in full and followed only on a yes, without credentials; never to the web-mode port', async ({ app: page, webInfo }) => {
  await connected(page);
  await runContainer(page);
  const context = page.context();
  const target = `${listener.origin}/from-container?x=1`;
  const own = [[`${webInfo.origin}/#token=planted`, 'LINKB'], [`http://localhost:${webInfo.port}/`, 'LINKC']] as const;
  await printLinks(page, [[target, 'LINKA'], ...own]);

  await clickRowStart(page, 'terminal-container', 'LINKA');
  const dialog = page.getByTestId('link-dialog');
  await expect(dialog).toBeVisible();
  await expect(dialog.getByTestId('link-target')).toHaveText(target);
  await expect(dialog.getByTestId('link-host')).toHaveText(`127.0.0.1:${listener.port}`);
  await dialog.getByTestId('link-cancel').click();
  await expect(dialog).toHaveCount(0);
  await page.waitForTimeout(500);
  expect(listener.seen).toEqual([]);
  expect(context.pages()).toHaveLength(1);

  await clickRowStart(page, 'terminal-container', 'LINKA');
  const opened = context.waitForEvent('page');
  await page.getByTestId('link-open').click();
  const tab = await opened;
  await expect(tab.locator('body')).toContainText('another port');
  expect(listener.seen[0]?.url).toBe('/from-container?x=1');
  for (const s of listener.seen) {
    expect(s.raw).not.toContain(webInfo.token);
    expect(s.headers.cookie).toBeUndefined();
    expect(s.headers.referer ?? '').not.toContain(`:${webInfo.port}`);
  }
  await tab.close();

  // to Locker's own port, by any name: refused with the reason, nothing opened
  for (const [, label] of own) {
    await clickRowStart(page, 'terminal-container', label);
    await expect(dialog).toBeVisible();
    await expect(dialog.getByTestId('link-refusal')).toHaveText(`port ${webInfo.port} is Locker's own web-mode port; a link from a terminal is never opened there`);
    await expect(dialog.getByTestId('link-open')).toHaveCount(0);
    await dialog.getByTestId('link-close').click();
    await expect(dialog).toHaveCount(0);
  }
  await page.waitForTimeout(300);
  expect(context.pages()).toHaveLength(1);
});

test('a reload and a second tab of the same origin still work without the token in the URL', async ({ app: page, webInfo }) => {
  await connected(page);
  await page.reload();
  expect(page.url()).toBe(`${webInfo.origin}/`);
  await connected(page);
  await typeLine(page, 'terminal-host', 'echo reload-$((6*7))');
  await expect.poll(() => terminalText(page, 'terminal-host')).toContain('reload-42');

  const second = await page.context().newPage();
  await second.goto(`${webInfo.origin}/`);
  await connected(second);
  await typeLine(second, 'terminal-host', 'echo second-$((6*7))');
  await expect.poll(() => terminalText(second, 'terminal-host')).toContain('second-42');
  await second.close();
});

test('without the token, or with a stale one, the page says what to open and gets no shell', async ({ browser, webInfo }) => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${webInfo.origin}/`);
  await expect(page.getByTestId('app-error')).toContainText('this page has no Locker token: open the URL that `locker ui --web` (or npm start) printed');
  await expect(page.getByTestId('host-shell-unavailable')).toBeVisible();
  // the fragment alone changes (no navigation): the page takes the new token and starts over
  await page.goto(`${webInfo.origin}/#token=${'B'.repeat(43)}`);
  await expect(page.getByTestId('app-error')).toContainText('Locker refused this page or is not running: open the URL it printed this time');
  await expect(page.getByTestId('terminal-host')).toHaveCount(0);
  // pasting the right URL into the same tab takes its token
  await page.goto(webInfo.url);
  await connected(page);
  await context.close();
});
