// Drives Debian's chromium (headless) through the pages of `odarchive serve`, as a person
// would: status, a deep folder, a search showing a file's disc, three files into the basket
// (one whose name is not UTF-8), the
// discs they need and their restore, the disc map before and after a verify of every image,
// the history of jobs. Screenshots of each page go to OUT.
//
//   node pages.mjs BASE_URL OUT
//
// Exits non-zero, saying what was not seen, on any failure.
import { join } from 'node:path';
import { start } from './common.mjs';

const { args: [base, out], browser, fail } = await start('pages.mjs', ['BASE_URL', 'OUT']);
try {
  const page = await browser.newPage();
  const shot = (name) => page.screenshot({ path: join(out, `${name}.png`), fullPage: true });

  await page.goto(`${base}/`);
  if (!(await page.textContent('#status')).includes('write')) await fail('the last job on the status page');
  await shot('status');

  // Browse from the root to a deep folder by clicking.
  await page.goto(`${base}/browse`);
  await page.click('text=Photos');
  await page.click('text=2020');
  await page.click('text=summer');
  if (!(await page.content()).includes('beach.JPG')) await fail('beach.JPG in Photos/2020/summer');
  await page.check('input[data-path="Photos/2020/summer/beach.JPG"]');
  await shot('browse');

  // Search finds a file and shows its disc.
  await page.goto(`${base}/search`);
  await page.fill('input[name=q]', 'IMG_0001');
  await Promise.all([page.waitForNavigation(), page.click('form button')]);
  const row = page.locator('tr', { hasText: 'Photos/2019/IMG_0001.jpg' });
  if ((await row.count()) !== 1) await fail('the search result for IMG_0001');
  const discs = (await row.locator('td').last().textContent()).trim();
  if (!/^\d+(, \d+)*$/.test(discs)) await fail(`the discs of IMG_0001 (got "${discs}")`);
  await row.locator('input[type=checkbox]').check();
  await shot('search');

  // A name that is not UTF-8 goes in too (as the hex of its bytes).
  await page.goto(`${base}/browse?snapshot=1&path=odd`);
  await page.check('input[data-hex]');

  // The basket holds the three; restore them.
  await page.goto(`${base}/basket`);
  const items = await page.locator('#items li').allTextContents();
  if (items.length !== 3) await fail(`three paths in the basket (got ${JSON.stringify(items)})`);
  // Which discs the basket needs, with their labels, before restoring.
  await page.waitForFunction(() => document.querySelectorAll('#discs li').length > 0);
  const needed = await page.locator('#discs li').allTextContents();
  if (!needed.every((t) => /^disc \d+ — ODA_\S+ \(written\): \d+ files/.test(t)))
    await fail(`the discs the basket needs with their labels (got ${JSON.stringify(needed)})`);
  await shot('basket-discs');
  await page.fill('#to', 'from-browser');
  await page.click('#go');
  await page.waitForFunction(() => document.getElementById('result').textContent.length > 0);
  const result = await page.textContent('#result');
  if (!result.includes('restore started')) await fail(`the restore starting (got "${result}")`);
  await shot('basket');

  // The status page follows the restore to its end (live, through the events).
  await page.goto(`${base}/`);
  await page.waitForFunction(
    () => document.getElementById('status').textContent.includes('restored 3 files'),
    null, { timeout: 60000 });
  await shot('status-after-restore');

  await page.goto(`${base}/discs`);
  if ((await page.locator('.bar').count()) < 2) await fail('a fill bar per disc');
  await shot('discs');

  // Verify every image from the disc map: each disc's row then says verified and ok.
  await Promise.all([page.waitForNavigation({ timeout: 60000 }), page.click('#verify-all')]);
  const states = await page.locator('td.state').allTextContents();
  const checks = await page.locator('td.check').allTextContents();
  if (states.length < 2 || !states.every((s) => s === 'verified'))
    await fail(`every disc verified on the disc map (got ${JSON.stringify(states)})`);
  if (!checks.every((c) => c.startsWith('ok:')))
    await fail(`every disc's check ok on the disc map (got ${JSON.stringify(checks)})`);
  await shot('discs-after-verify');

  // The history on the status page holds the restore and the verify.
  await page.goto(`${base}/`);
  const history = await page.locator('#history tr td:nth-child(2)').allTextContents();
  if (history[0] !== 'verify' || history[1] !== 'restore')
    await fail(`the verify and the restore in the history (got ${JSON.stringify(history)})`);
  await shot('status-history');
  console.log('ok');
} catch (e) {
  await fail(String(e));
}
await browser.close();
