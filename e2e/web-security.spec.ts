import { expect, test } from './support/fixtures';

test('web mode refuses a wrong token', async ({ browser, webUrl }) => {
  const page = await browser.newPage();
  const url = new URL(webUrl);
  url.searchParams.set('token', 'not-the-token');
  const response = await page.goto(url.href);
  expect(response?.status()).toBe(403);
  await expect(page.locator('body')).toContainText('refused: wrong token');
  url.search = '';
  expect((await page.goto(url.href))?.status()).toBe(403);
  await page.close();
});
