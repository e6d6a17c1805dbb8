// What every browser test shares: its arguments, Debian's chromium (headless, no network of
// its own) and `fail`, which says what was not seen, closes the browser and exits 1.
import { chromium } from 'playwright-core';

// The arguments `names` of `script` (else its usage, and exit 2), the browser, and `fail`.
export async function start(script, names) {
  const args = process.argv.slice(2, 2 + names.length);
  if (args.length < names.length || args.some((a) => !a)) {
    console.error(`usage: node ${script} ${names.join(' ')}`);
    process.exit(2);
  }
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const fail = async (what) => {
    console.error(`not seen: ${what}`);
    await browser.close();
    process.exit(1);
  };
  return { args, browser, fail };
}
