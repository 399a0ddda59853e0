// Copyright 2026 The Warren Authors
// SPDX-License-Identifier: GPL-2.0-or-later
//
// The person's side of one warren-control sign-in link, in headless Chromium (Debian's, through
// playwright-core): the link, the test provider's login page (idp.mjs: #email, #password,
// #signin), its consent page if shown (#allow), then control's answer page (main#wr-…).
// Shared by tests/sso/signin.mjs (tools/demo --smoke) and tests/gui/signin-browser.mjs.
//
// Loopback only: every request to anything but 127.0.0.1 is aborted, and no name resolves.
// Environment: WR_SSO_CHROMIUM (default /usr/bin/chromium).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

// completeSignIn(url, { email, password, screenshot }) resolves to what control's page shows,
// { id, title, message, reason } (null for what the page lacks), and rejects when no answer
// page was reached
export async function completeSignIn(url, { email, password = 'correct horse', screenshot = null } = {}) {
  const profile = mkdtempSync(join(tmpdir(), 'wr-sso-profile-'));
  let ctx = null;
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
    const text = async (sel) =>
      ((await page.locator(sel).count()) ? (await page.locator(sel).textContent()).trim() : null);
    const shown = {
      id: await page.locator('main').getAttribute('id'),
      title: await text('#title'),
      message: await text('#message'),
      reason: await text('#reason'),
    };
    if (screenshot) await page.screenshot({ path: screenshot });
    return shown;
  } finally {
    if (ctx) await ctx.close().catch(() => {});
    rmSync(profile, { recursive: true, force: true });
  }
}
