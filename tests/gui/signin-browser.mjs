// Copyright 2026 The Warren Authors
// SPDX-License-Identifier: GPL-2.0-or-later
//
// The user's side of a browser sign-in, for tests/gui/signin.sh: headless Chromium (Debian's,
// through playwright-core from tests/sso/node_modules) opens the auth URL the tray handed to the
// "browser", signs in at the test provider (tests/sso/idp.mjs) as EMAIL, allows the consent if
// asked, and waits for warren-control's result page.  Prints one line,
//   PAGE {"id":"wr-signed-in"|"wr-sign-in-failed"|…,"title":…,"message":…,"reason":…}
// and exits 0 when a result page was reached (whatever it says: the caller judges), 1 otherwise.
// Loopback only: every other request is aborted.  Run it in the namespace of control and the
// provider.  Usage: node signin-browser.mjs AUTH_URL EMAIL [SCREENSHOT.png]
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(join(here, '..', 'sso', 'package.json'));
const { chromium } = require('playwright-core');

const [url, email, shot] = process.argv.slice(2);
const PASSWORD = 'correct horse';
const CHROMIUM = process.env.WR_SSO_CHROMIUM || '/usr/bin/chromium';

if (!url || !email) {
  console.error('usage: signin-browser.mjs AUTH_URL EMAIL [SCREENSHOT.png]');
  process.exit(2);
}

const profile = mkdtempSync(join(tmpdir(), 'wr-gui-signin-profile-'));
let ctx = null;
let code = 1;
try {
  ctx = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1'],
  });
  await ctx.route((u) => !/^https?:\/\/127\.0\.0\.1(:\d+)?\//.test(u.href), (r) => r.abort());
  const page = ctx.pages()[0] || await ctx.newPage();
  page.setDefaultTimeout(30000);
  await page.goto(url);
  await page.locator('#email').waitFor();
  await page.fill('#email', email);
  await page.fill('#password', PASSWORD);
  await page.click('#signin');
  await page.locator('#allow, main[id^="wr-"]').first().waitFor();
  if (await page.locator('#allow').count()) await page.click('#allow');
  await page.locator('main[id^="wr-"]').waitFor();
  const text = async (sel) => ((await page.locator(sel).count()) ? (await page.locator(sel).textContent()).trim() : null);
  const shown = {
    id: await page.locator('main').getAttribute('id'),
    title: await text('#title'),
    message: await text('#message'),
    reason: await text('#reason'),
  };
  if (shot) await page.screenshot({ path: shot });
  console.log(`PAGE ${JSON.stringify(shown)}`);
  code = 0;
} catch (e) {
  console.log(`# signin-browser: ${e.stack || e}`);
} finally {
  if (ctx) await ctx.close().catch(() => {});
  rmSync(profile, { recursive: true, force: true });
}
process.exit(code);
