// Copyright 2026 The Warren Authors
// SPDX-License-Identifier: GPL-2.0-or-later
//
// Completes one sign-in link of warren-control in headless Chromium, as a person would:
// the link, the provider's login page (idp.mjs: #email, #password, #signin), its consent page
// if shown (#allow), then control's answer page.  Used by `tools/demo --smoke`.
//
//   node signin.mjs URL [EMAIL] [PASSWORD]
//
// Loopback only: every request to anything but 127.0.0.1 is aborted.  Prints what control's
// page says; exit 0 when it is the success page (main#wr-signed-in), 1 otherwise.
// Environment: WR_SSO_CHROMIUM (default /usr/bin/chromium).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const [url, email = 'alice@example.com', password = 'correct horse'] = process.argv.slice(2);
if (!url || !/^http:\/\/127\.0\.0\.1:\d+\/a\//.test(url)) {
  console.error('usage: signin.mjs http://127.0.0.1:PORT/a/TOKEN [EMAIL] [PASSWORD]');
  process.exit(2);
}

const profile = mkdtempSync(join(tmpdir(), 'wr-demo-profile-'));
let ctx = null;
let ok = false;
try {
  ctx = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.WR_SSO_CHROMIUM || '/usr/bin/chromium',
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
  await page.fill('#password', password);
  await page.click('#signin');
  await page.locator('#allow, main[id^="wr-"]').first().waitFor();
  if (await page.locator('#allow').count()) await page.click('#allow');
  await page.locator('main[id^="wr-"]').waitFor();
  const id = await page.locator('main').getAttribute('id');
  const message = await page.locator('#message').textContent();
  console.log(`signin.mjs: ${id}: ${message}`);
  ok = id === 'wr-signed-in';
} catch (e) {
  console.log(`signin.mjs: ${e.message || e}`);
} finally {
  if (ctx) await ctx.close().catch(() => {});
  rmSync(profile, { recursive: true, force: true });
}
process.exitCode = ok ? 0 : 1;
