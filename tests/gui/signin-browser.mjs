// Copyright 2026 The Warren Authors
// SPDX-License-Identifier: GPL-2.0-or-later
//
// The user's side of a browser sign-in, for tests/gui/signin.sh: headless Chromium opens the
// auth URL the tray handed to the "browser" and signs in at the test provider as EMAIL
// (tests/sso/browser.mjs).  Prints one line,
//   PAGE {"id":"wr-signed-in"|"wr-sign-in-failed"|…,"title":…,"message":…,"reason":…}
// and exits 0 when a result page was reached (whatever it says: the caller judges), 1 otherwise.
// Run it in the namespace of control and the provider.
// Usage: node signin-browser.mjs AUTH_URL EMAIL [SCREENSHOT.png]
import { completeSignIn } from '../sso/browser.mjs';

const [url, email, screenshot] = process.argv.slice(2);
if (!url || !email) {
  console.error('usage: signin-browser.mjs AUTH_URL EMAIL [SCREENSHOT.png]');
  process.exit(2);
}

let code = 1;
try {
  const shown = await completeSignIn(url, { email, screenshot });
  console.log(`PAGE ${JSON.stringify(shown)}`);
  code = 0;
} catch (e) {
  console.log(`# signin-browser: ${e.stack || e}`);
}
process.exit(code);
