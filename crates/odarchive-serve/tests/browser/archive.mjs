// Drives Debian's chromium (headless) through a rescan started from the disc map: the new
// files the test put on the drive are scanned, planned with the catalogue's settings (filled
// into the form) and written; the disc map then shows more discs, the new ones written, and
// the status page what the job did. Screenshots go to OUT.
//
//   node archive.mjs BASE_URL OUT
//
// Exits non-zero, saying what was not seen, on any failure.
import { join } from 'node:path';
import { start } from './common.mjs';

const { args: [base, out], browser, fail } = await start('archive.mjs', ['BASE_URL', 'OUT']);
try {
  const page = await browser.newPage();
  const shot = (name) => page.screenshot({ path: join(out, `${name}.png`), fullPage: true });

  await page.goto(`${base}/discs`);
  const before = await page.locator('td.state').allTextContents();
  if (before.length < 2 || !before.every((s) => s === 'written'))
    await fail(`the written discs before the rescan (got ${JSON.stringify(before)})`);
  const media = await page.inputValue('#media');
  if (media !== '2M') await fail(`the stored medium in the form (got "${media}")`);
  await shot('discs-before-archive');

  // Start it; the page follows the job and reloads when it ends.
  await Promise.all([page.waitForNavigation({ timeout: 120000 }), page.click('#archive')]);
  const after = await page.locator('td.state').allTextContents();
  if (after.length <= before.length) await fail(`new discs on the disc map (got ${JSON.stringify(after)})`);
  if (!after.every((s) => s === 'written'))
    await fail(`every disc written after the rescan (got ${JSON.stringify(after)})`);
  await shot('discs-after-archive');
  console.log(`discs ${before.length} -> ${after.length}`);

  await page.goto(`${base}/`);
  const status = await page.textContent('#status');
  if (!status.includes('archive — completed')) await fail(`the archive completed on the status page (got "${status}")`);
  const wrote = `wrote ${after.length - before.length} discs`;
  if (!(await page.textContent('#archive-message')).includes(wrote)) await fail(`"${wrote}" on the status page`);
  await shot('status-after-archive');
  console.log('ok');
} catch (e) {
  await fail(String(e));
}
await browser.close();
