// Copyright 2026 The Warren Authors
// SPDX-License-Identifier: GPL-2.0-or-later
//
// Completes one sign-in link of warren-control in headless Chromium, as a person would
// (browser.mjs).  Used by `tools/demo --smoke`.
//
//   node signin.mjs URL [EMAIL] [PASSWORD]
//
// Prints what control's page says; exit 0 when it is the success page (main#wr-signed-in),
// 1 otherwise.
import { completeSignIn } from './browser.mjs';

const [url, email = 'alice@example.com', password = 'correct horse'] = process.argv.slice(2);
if (!url || !/^http:\/\/127\.0\.0\.1:\d+\/a\//.test(url)) {
  console.error('usage: signin.mjs http://127.0.0.1:PORT/a/TOKEN [EMAIL] [PASSWORD]');
  process.exit(2);
}

let ok = false;
try {
  const shown = await completeSignIn(url, { email, password });
  console.log(`signin.mjs: ${shown.id}: ${shown.message}`);
  ok = shown.id === 'wr-signed-in';
} catch (e) {
  console.log(`signin.mjs: ${e.message || e}`);
}
process.exitCode = ok ? 0 : 1;
