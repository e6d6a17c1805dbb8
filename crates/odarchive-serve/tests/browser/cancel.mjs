// Drives Debian's chromium (headless) through a cancel: a folder into the basket, its restore
// started from the basket page, then the Cancel button on the status page, and the status
// saying the restore was cancelled. Screenshots go to OUT.
//
//   node cancel.mjs BASE_URL OUT FOLDER
//
// Exits non-zero, saying what was not seen, on any failure.
import { join } from 'node:path';
import { start } from './common.mjs';

const { args: [base, out, folder], browser, fail } = await start('cancel.mjs', ['BASE_URL', 'OUT', 'FOLDER']);
try {
  const page = await browser.newPage();

  // The status page is open before the restore starts: its Cancel button appears with the
  // next status event, with no page to load between the start and the click.
  const status = await browser.newPage();
  await status.goto(`${base}/`);
  await page.goto(`${base}/browse`);
  await page.check(`input[data-path="${folder}"]`);
  await page.goto(`${base}/basket`);
  await page.fill('#to', 'cancelled-in-browser');
  await page.click('#go');
  await page.waitForFunction(() => document.getElementById('result').textContent.length > 0);
  const result = await page.textContent('#result');
  if (!result.includes('restore started')) await fail(`the restore starting (got "${result}")`);

  await status.click('#cancel', { timeout: 30000 });
  await status.screenshot({ path: join(out, 'status-cancelling.png'), fullPage: true });
  await status.waitForFunction(
    () => document.getElementById('status').textContent.includes('cancelled: restored'),
    null, { timeout: 60000 });
  await status.screenshot({ path: join(out, 'status-cancelled.png'), fullPage: true });
  console.log('ok');
} catch (e) {
  await fail(String(e));
}
await browser.close();
