// The status page in a real headless chromium, served by a real runner
// (`zrpc-server --metrics`): it loads with no console error, shows the
// methods and the calls made, and shows a call made while it is open
// (it refreshes by itself). With ZRPC_SCREENSHOT=<file> it also saves a
// screenshot after a minute's worth of varied calls (docs/status-page.png).
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { ensureChromium, launchBrowser } from './browser.js';
import { RawClient } from './helpers.js';
import { assertBuilt, callRaw, startCli, stopAllClis } from './runner-helpers.js';

const HELLO = fileURLToPath(new URL('../../../examples/hello', import.meta.url));
const SCREENSHOT = process.env.ZRPC_SCREENSHOT;

let browser: Awaited<ReturnType<typeof launchBrowser>>;

beforeAll(async () => {
  assertBuilt();
  ensureChromium();
  browser = await launchBrowser();
}, 600_000);
afterAll(() => browser?.close());
afterEach(stopAllClis);

it('shows the methods and calls of a running server, live, with no console error', async () => {
  const cli = startCli([
    '--app',
    HELLO,
    '127.0.0.1:0',
    '--metrics',
    '127.0.0.1:0',
    '--name',
    'hello-provider',
  ]);
  const endpoint = await cli.endpoint();
  const url = (await cli.waitForStdout(/^Status page and metrics on (http:\S+)$/m))[1]!;
  await callRaw(endpoint, 'hello', ['ops']);
  await callRaw(endpoint, 'divide', [1, 0]);

  const page = await browser.context.newPage();
  const problems: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'warning') problems.push(message.text());
  });
  page.on('pageerror', (error) => problems.push(error.message));
  page.on('requestfailed', (request) => problems.push(`${request.url()} failed`));
  await page.goto(url);

  await expect.poll(() => page.locator('#state').textContent()).toBe('serving');
  await expect.poll(() => page.locator('#name').textContent()).toBe('hello-provider');
  const cell = (selector: string) => page.locator(selector).textContent();
  await expect.poll(() => cell('tr[data-status="ok"] td:nth-child(3)')).toBe('1');
  await expect.poll(() => cell('tr[data-status="error"] td:nth-child(3)')).toBe('1');
  for (const method of ['add', 'countdown', 'divide', 'hello']) {
    await expect(page.locator(`tr[data-method="${method}"]`).count()).resolves.toBe(1);
  }
  expect(await cell('tr[data-method="divide"] td:nth-child(3)')).toBe('100.0 %');
  expect(await page.locator('tr[data-method="hello"] svg polyline').count()).toBe(1);

  // A call made now, while the page is open, shows without a reload.
  await callRaw(endpoint, 'add', [2, 3]);
  await expect
    .poll(() => cell('tr[data-status="ok"] td:nth-child(3)'), { timeout: 10_000 })
    .toBe('2');
  expect(await cell('tr[data-method="add"] td:nth-child(3)')).toBe('0.0 %');

  if (SCREENSHOT !== undefined) await screenshot(page, endpoint);
  expect(problems).toEqual([]);
  await page.close();
}, 120_000);

/** Varied calls for a while (answers, errors, refusals, a stream), then a picture of the page. */
async function screenshot(
  page: Awaited<ReturnType<typeof browser.context.newPage>>,
  endpoint: string,
) {
  // A client that stays connected, as a consumer's pool does: the page counts it as a peer.
  const peer = new RawClient(endpoint);
  const until = Date.now() + 20_000;
  let i = 0;
  while (Date.now() < until) {
    const calls = [
      callRaw(endpoint, 'hello', [`user ${i}`]),
      callRaw(endpoint, 'add', [i, i]),
      callRaw(endpoint, 'divide', [i, i % 7]),
      i % 5 === 0 ? callRaw(endpoint, 'countdown', [20]) : callRaw(endpoint, 'hello', []),
      i % 9 === 0 ? callRaw(endpoint, 'no_such_method', []) : callRaw(endpoint, 'add', [1, 2]),
    ];
    if (i % 10 === 0) peer.request('hello', ['peer']);
    await Promise.all(calls);
    i++;
    await new Promise((resolve) => setTimeout(resolve, 20 + (i % 40)));
  }
  await page.waitForTimeout(2500);
  await page.screenshot({ path: SCREENSHOT!, fullPage: true });
  await peer.close();
}
