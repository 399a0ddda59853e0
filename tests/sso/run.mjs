// Copyright 2026 The Warren Authors
// SPDX-License-Identifier: GPL-2.0-or-later
//
// Browser sign-in tests of warren-control's relying party: the real provider (idp.mjs), the
// RP mounted on a bare SoupServer (wr-sso-harness), and Debian's Chromium through
// playwright-core, all on loopback.  One scenario per run: `node run.mjs <scenario>`; each
// checks the page shown AND what the RP told its hooks.  Exit 0 = pass, 1 = fail.
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const HARNESS = process.env.WR_SSO_HARNESS;
const CONTROL = process.env.WARREN_CONTROL;
const MACHINE = process.env.WR_SSO_MACHINE;
const CHROMIUM = process.env.WR_SSO_CHROMIUM || '/usr/bin/chromium';
const CLIENT_ID = 'warren-test';
const CLIENT_SECRET = 's3cret: with/odd+chars';
const PASSWORD = 'correct horse';

const children = [];
const cleanups = [];

function check(cond, what) {
  if (!cond) throw new Error(`check failed: ${what}`);
  console.log(`# ok: ${what}`);
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

// starts a child and resolves with its READY line's JSON; it keeps its stdout lines
function startChild(name, cmd, args, env, ready) {
  return new Promise((resolve, reject) => {
    const proc = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const child = { name, proc, lines: [], exited: null };
    children.push(child);
    // generous: a loaded CI machine can take long to start node and make RSA keys
    const timer = setTimeout(() => reject(new Error(`${name} did not start in 60 s`)), 60000);
    let buf = '';
    proc.stdout.setEncoding('utf8');
    proc.stdout.on('data', (d) => {
      buf += d;
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        child.lines.push(line);
        if (name === 'rp' && !line.startsWith('RP_READY')) console.log(`# [${name}] ${line}`);
        if (line.startsWith(`${ready} `)) {
          clearTimeout(timer);
          child.info = JSON.parse(line.slice(ready.length + 1));
          resolve(child);
        }
      }
    });
    proc.stderr.setEncoding('utf8');
    proc.stderr.on('data', (d) => {
      for (const l of d.split('\n').filter(Boolean)) {
        if (!l.includes('oidc-provider WARNING')) console.log(`# [${name}] ${l}`);
      }
    });
    proc.on('exit', (code, signal) => {
      child.exited = { code, signal };
      clearTimeout(timer);
      reject(new Error(`${name} exited (${code ?? signal}) before it was ready`));
    });
  });
}

async function stopChild(child) {
  if (child.exited) return;
  const done = new Promise((r) => child.proc.once('exit', r));
  child.proc.kill('SIGTERM');
  await done;
  // the exit handler ran first and recorded how it ended
}

async function startIdp(rpPort, env = {}) {
  return startChild('idp', process.execPath, [join(here, 'idp.mjs')], {
    IDP_REDIRECT_URIS: `http://127.0.0.1:${rpPort}/oidc/callback`,
    IDP_CLIENT_ID: CLIENT_ID,
    IDP_CLIENT_SECRET: CLIENT_SECRET,
    ...env,
  }, 'IDP_READY');
}

async function startRp(rpPort, issuer, args = []) {
  const child = await startChild('rp', HARNESS, [
    `--issuer=${issuer}`, `--client-id=${CLIENT_ID}`, `--client-secret=${CLIENT_SECRET}`,
    `--port=${rpPort}`, ...args,
  ], { G_MESSAGES_DEBUG: 'WrOidcRp' }, 'RP_READY');
  child.url = child.info.url;
  return child;
}

// the provider and the RP, RP first on a port picked for it (the client's redirect URI)
async function setup({ idpEnv = {}, rpArgs = [] } = {}) {
  const rpPort = await freePort();
  const idp = await startIdp(rpPort, idpEnv);
  const rp = await startRp(rpPort, idp.info.issuer, rpArgs);
  return { rpPort, idp, rp, issuer: idp.info.issuer };
}

// locale: the browser's language, which it sends as Accept-Language
async function browser({ locale } = {}) {
  const profile = mkdtempSync(join(tmpdir(), 'wr-sso-profile-'));
  cleanups.push(() => rmSync(profile, { recursive: true, force: true }));
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    ...(locale ? { locale } : {}),
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1'],
  });
  cleanups.unshift(() => ctx.close());
  // loopback only: nothing may leave the machine
  await ctx.route((u) => !/^https?:\/\/127\.0\.0\.1(:\d+)?\//.test(u.href), (r) => r.abort());
  const page = ctx.pages()[0] || await ctx.newPage();
  page.setDefaultTimeout(30000);
  return { ctx, page };
}

// what the RP's page says, and the HTTP status it came with
async function rpPage(page, rp) {
  await page.locator('main[id^="wr-"]').waitFor();
  return {
    url: page.url(),
    id: await page.locator('main').getAttribute('id'),
    title: await page.locator('#title').textContent(),
    message: await page.locator('#message').textContent(),
    reason: (await page.locator('#reason').count()) ? await page.locator('#reason').textContent() : null,
    status: page.lastRpStatus,
  };
}

function trackStatus(page, rp) {
  page.on('response', (r) => {
    if (r.request().isNavigationRequest() && r.url().startsWith(`${rp.url}/`) && r.status() !== 302) {
      page.lastRpStatus = r.status();
    }
  });
}

// from /a/<token> through the provider's pages; returns the RP's page
async function signIn(page, rp, token, { email = 'alice@example.com', cancel = false } = {}) {
  trackStatus(page, rp);
  await page.goto(`${rp.url}/a/${token}`);
  await page.locator('#email').waitFor();
  if (cancel) {
    await page.click('#cancel');
    return rpPage(page, rp);
  }
  await page.fill('#email', email);
  await page.fill('#password', PASSWORD);
  await page.click('#signin');
  const next = page.locator('#allow, main[id^="wr-"]').first();
  await next.waitFor();
  if (await page.locator('#allow').count()) await page.click('#allow');
  return rpPage(page, rp);
}

// Playwright routes no request that is a redirect's target, and the provider reaches the
// callback only through redirects: so the provider's form posts are routed, their redirects
// followed here (cookies shared with the browser), and @decide sees the callback URL; it
// returns the URL to send the browser to, or null to hold it back with a "#held" page
async function interceptCallback(ctx, issuer, rp, decide) {
  const isPost = (u) => u.origin === issuer && /^\/interaction\/[^/]+\/(login|confirm)$/.test(u.pathname);
  await ctx.route(isPost, async (route) => {
    let response = await route.fetch({ maxRedirects: 0 });
    let location = response.headers().location;
    while (location) {
      const next = new URL(location, issuer);
      if (next.origin !== issuer || next.pathname.startsWith('/interaction/')) break;
      response = await ctx.request.get(next.href, { maxRedirects: 0 });
      location = response.headers().location;
    }
    if (!location) {
      await route.fulfill({ response });
      return;
    }
    const target = new URL(location, issuer);
    let to = target.href;
    if (target.origin === rp.url && target.pathname === '/oidc/callback') {
      to = decide(target.href);
      if (to === null) {
        await route.fulfill({ status: 200, contentType: 'text/html', body: '<p id="held">held</p>' });
        return;
      }
    }
    await route.fulfill({ status: 303, headers: { location: to } });
  });
}

async function results(rp) {
  const r = await fetch(`${rp.url}/test/result`);
  return r.json();
}

function expectSignedIn(shown, email) {
  check(shown.id === 'wr-signed-in', `success page shown (got ${shown.id}: ${shown.message})`);
  check(shown.status === 200, `HTTP 200 (got ${shown.status})`);
  check(shown.message.includes(email), `page names ${email}`);
}

function expectRefused(shown, status, reason) {
  check(shown.id === 'wr-sign-in-failed', `failure page shown (got ${shown.id}: ${shown.message})`);
  check(shown.status === status, `HTTP ${status} (got ${shown.status})`);
  check(shown.reason === reason, `reason ${reason} (got ${shown.reason}: ${shown.message})`);
  console.log(`# page: ${shown.title}: ${shown.message}`);
}

async function expectHooks(rp, { complete, failed }) {
  const r = await results(rp);
  check(r.complete.length === complete.length,
    `complete hook called ${complete.length} time(s) (got ${r.complete.length})`);
  complete.forEach((c, i) => {
    check(r.complete[i].login_token === c.token && r.complete[i].email === c.email,
      `complete hook ${i + 1}: ${c.token} as ${c.email}`);
  });
  check(r.failed.length === failed.length,
    `failed hook called ${failed.length} time(s) (got ${r.failed.length}: ${JSON.stringify(r.failed)})`);
  failed.forEach((f, i) => {
    check(r.failed[i].login_token === f.token && r.failed[i].code === f.code,
      `failed hook ${i + 1}: ${f.token} with ${f.code}`);
  });
  return r;
}

// the real warren-control with [oidc] pointing at the provider, on a port picked first (the
// provider's redirect URI); ready when /healthz answers
async function startControl(port, issuer, oidcExtra = '') {
  const dir = mkdtempSync(join(tmpdir(), 'wr-sso-control-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const url = `http://127.0.0.1:${port}`;
  writeFileSync(join(dir, 'derp.json'), JSON.stringify({ Regions: { 1: { RegionID: 1, RegionCode: 'lo',
    RegionName: 'Loopback', Nodes: [{ Name: '1a', RegionID: 1, HostName: 'derp.test', IPv4: '127.0.0.1' }] } } }));
  writeFileSync(join(dir, 'secret'), CLIENT_SECRET);
  chmodSync(join(dir, 'secret'), 0o600);
  writeFileSync(join(dir, 'control.conf'), [
    '[server]', `listen = 127.0.0.1:${port}`, `server-url = ${url}`, `state-dir = ${dir}`,
    `admin-socket = ${dir}/admin.sock`,
    '[network]', 'dns-domain = tailnet.test', 'derp-map = derp.json',
    '[oidc]', `issuer = ${issuer}`, `client-id = ${CLIENT_ID}`, 'client-secret-file = secret',
    oidcExtra, ''].join('\n'));
  const proc = spawn(CONTROL, ['serve', '--config', join(dir, 'control.conf')],
    { env: { ...process.env, G_MESSAGES_DEBUG: '' }, stdio: ['ignore', 'ignore', 'pipe'] });
  const child = { name: 'control', proc, lines: [], exited: null, url };
  children.push(child);
  proc.stderr.setEncoding('utf8');
  proc.stderr.on('data', (d) => d.split('\n').filter(Boolean).forEach((l) => console.log(`# [control] ${l}`)));
  proc.on('exit', (code, signal) => { child.exited = { code, signal }; });
  const deadline = Date.now() + 60000;
  while (Date.now() < deadline && !child.exited) {
    try {
      if ((await fetch(`${url}/healthz`)).ok) return child;
    } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`warren-control did not come up (${JSON.stringify(child.exited)})`);
}

// a machine registering interactively (wr-sso-machine): resolves with its auth URL
async function startMachine(controlUrl) {
  const m = await startChild('machine', MACHINE, [controlUrl], {}, 'AUTH_URL');
  return m;
}

async function machineResult(m) {
  const deadline = Date.now() + 120000;
  while (Date.now() < deadline) {
    const line = m.lines.find((l) => l.startsWith('RESULT '));
    if (line) return JSON.parse(line.slice('RESULT '.length));
    if (m.exited) throw new Error(`the machine exited (${m.exited.code ?? m.exited.signal}) without a result`);
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the machine had no answer in 120 s');
}

// the whole flow with the real server: register, browser, follow-up
async function controlFlow({ email = ALICE, oidcExtra = '', locale } = {}) {
  const port = await freePort();
  const idp = await startIdp(port);
  const control = await startControl(port, idp.info.issuer, oidcExtra);
  const machine = await startMachine(control.url);
  const authUrl = machine.info.url;
  check(authUrl.startsWith(`${control.url}/a/`), `an auth URL on the server (${authUrl})`);
  const { page } = await browser({ locale });
  const token = authUrl.slice(`${control.url}/a/`.length);
  const shown = await signIn(page, { url: control.url }, token, { email });
  const result = await machineResult(machine);
  return { control, page, shown, result, authUrl };
}

const ALICE = 'alice@example.com';

const scenarios = {
  async 'success-rs256'() {
    const { rp, issuer } = await setup();
    const { ctx, page } = await browser();
    const shown = await signIn(page, rp, 'login-1');
    expectSignedIn(shown, ALICE);
    const r = await expectHooks(rp, { complete: [{ token: 'login-1', email: ALICE }], failed: [] });
    check(r.complete[0].iss === issuer && r.complete[0].sub === 'alice', 'identity is (iss, alice)');
    check(r.complete[0].hd === 'example.com', 'hd carried');
    const left = (await ctx.cookies()).filter((c) => c.name.startsWith('wr_sso_'));
    check(left.length === 0, 'binding cookie cleared after the callback');
  },

  async 'success-es256'() {
    const { rp, idp } = await setup({ idpEnv: { IDP_ALG: 'ES256', IDP_DECOY_KEY: '1' } });
    check(idp.info.alg === 'ES256', 'provider signs with ES256, decoy RSA key published first');
    const { page } = await browser();
    expectSignedIn(await signIn(page, rp, 'login-es'), ALICE);
    await expectHooks(rp, { complete: [{ token: 'login-es', email: ALICE }], failed: [] });
  },

  async 'binding-cookie'() {
    const { rp, issuer } = await setup();
    const { ctx, page } = await browser();
    let callbackUrl = null;
    // hold the callback back, to replay it with and without the cookie
    await interceptCallback(ctx, issuer, rp, (url) => { callbackUrl = url; return null; });
    trackStatus(page, rp);
    await page.goto(`${rp.url}/a/login-b`);
    await page.fill('#email', ALICE);
    await page.fill('#password', PASSWORD);
    await page.click('#signin');
    await page.locator('#allow, #held').first().waitFor();
    if (await page.locator('#allow').count()) await page.click('#allow');
    await page.locator('#held').waitFor();
    const saved = await ctx.cookies();
    check(saved.some((c) => c.name.startsWith('wr_sso_') && c.httpOnly && c.sameSite === 'Lax'
      && !c.secure && c.path === '/oidc/callback'),
    'binding cookie is HttpOnly, SameSite=Lax, Path=/oidc/callback (not Secure over http)');
    await ctx.clearCookies();
    await page.goto(callbackUrl);
    expectRefused(await rpPage(page, rp), 403, 'bad-request');
    await expectHooks(rp, { complete: [], failed: [] });
    // the right browser still can: the stranger did not spend the sign-in
    await ctx.addCookies(saved);
    await page.goto(callbackUrl);
    expectSignedIn(await rpPage(page, rp), ALICE);
    await expectHooks(rp, { complete: [{ token: 'login-b', email: ALICE }], failed: [] });
  },

  async 'wrong-state'() {
    const { rp, issuer } = await setup();
    const { ctx, page } = await browser();
    let original = null;
    await interceptCallback(ctx, issuer, rp, (url) => {
      original = url;
      const u = new URL(url);
      u.searchParams.set('state', 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA');
      return u.href;
    });
    expectRefused(await signIn(page, rp, 'login-s'), 400, 'bad-request');
    await expectHooks(rp, { complete: [], failed: [] });
    // a forged state spends nothing: the real answer still signs in
    await page.goto(original);
    expectSignedIn(await rpPage(page, rp), ALICE);
    await expectHooks(rp, { complete: [{ token: 'login-s', email: ALICE }], failed: [] });
  },

  async 'replayed-code'() {
    const { rp, idp } = await setup();
    const { page } = await browser();
    const shown = await signIn(page, rp, 'login-r');
    expectSignedIn(shown, ALICE);
    const tokenRequests = idp.lines.filter((l) => l === 'IDP_TOKEN').length;
    await page.goto(shown.url); // the same code and state again
    expectRefused(await rpPage(page, rp), 400, 'bad-request');
    check(idp.lines.filter((l) => l === 'IDP_TOKEN').length === tokenRequests,
      'the code was not sent to the provider twice');
    await expectHooks(rp, { complete: [{ token: 'login-r', email: ALICE }], failed: [] });
  },

  async 'bad-nonce'() {
    const { rp } = await setup();
    const { ctx, page } = await browser();
    // rewrite the nonce in the authorization URL the RP redirects to
    await ctx.route((u) => u.origin === rp.url && u.pathname.startsWith('/a/'), async (route) => {
      const response = await route.fetch({ maxRedirects: 0 });
      const headers = response.headers();
      const u = new URL(headers.location);
      check(u.searchParams.get('code_challenge_method') === 'S256', 'PKCE S256 requested');
      check(u.searchParams.get('nonce').length === 43, 'nonce of 32 random bytes');
      u.searchParams.set('nonce', 'forged-nonce');
      await route.fulfill({ response, headers: { ...headers, location: u.href } });
    });
    expectRefused(await signIn(page, rp, 'login-n'), 502, 'nonce-mismatch');
    await expectHooks(rp, { complete: [], failed: [{ token: 'login-n', code: 'nonce-mismatch' }] });
  },

  async 'expired-token'() {
    const { rp } = await setup({ idpEnv: { IDP_CLOCK_OFFSET: '-7200' } });
    const { page } = await browser();
    expectRefused(await signIn(page, rp, 'login-e'), 502, 'expired');
    await expectHooks(rp, { complete: [], failed: [{ token: 'login-e', code: 'expired' }] });
  },

  async 'foreign-key'() {
    const { rp } = await setup({ idpEnv: { IDP_FOREIGN_JWKS: '1' } });
    const { page } = await browser();
    expectRefused(await signIn(page, rp, 'login-f'), 502, 'bad-signature');
    await expectHooks(rp, { complete: [], failed: [{ token: 'login-f', code: 'bad-signature' }] });
  },

  async 'email-not-verified'() {
    const { rp } = await setup();
    const { page } = await browser();
    const shown = await signIn(page, rp, 'login-bob', { email: 'bob@example.net' });
    expectRefused(shown, 403, 'email-not-verified');
    check(shown.message.includes('bob@example.net'), 'page names the unverified address');
    await expectHooks(rp, { complete: [], failed: [{ token: 'login-bob', code: 'email-not-verified' }] });
  },

  async 'domain-not-allowed'() {
    const { rp } = await setup({ rpArgs: ['--allowed-domain=example.org'] });
    const { page } = await browser();
    expectRefused(await signIn(page, rp, 'login-d1'), 403, 'domain-not-allowed');
    // carol's address is in example.org, but she has no hosted domain: still refused
    await page.context().clearCookies();
    expectRefused(await signIn(page, rp, 'login-d2', { email: 'carol@example.org' }), 403,
      'domain-not-allowed');
    await expectHooks(rp, {
      complete: [],
      failed: [{ token: 'login-d1', code: 'domain-not-allowed' }, { token: 'login-d2', code: 'domain-not-allowed' }],
    });
  },

  async 'groups'() {
    const { rp } = await setup({ rpArgs: ['--allowed-group=admins', '--allowed-group=vpn-users'] });
    const { page } = await browser();
    expectSignedIn(await signIn(page, rp, 'login-g1'), ALICE);
    await page.context().clearCookies();
    expectRefused(await signIn(page, rp, 'login-g2', { email: 'carol@example.org' }), 403,
      'group-not-allowed');
    await expectHooks(rp, {
      complete: [{ token: 'login-g1', email: ALICE }],
      failed: [{ token: 'login-g2', code: 'group-not-allowed' }],
    });
  },

  async 'cancelled'() {
    const { rp } = await setup();
    const { page } = await browser();
    const shown = await signIn(page, rp, 'login-c', { cancel: true });
    expectRefused(shown, 403, 'cancelled');
    check(shown.title === 'Sign-in cancelled', 'the page says the sign-in was cancelled');
    await expectHooks(rp, { complete: [], failed: [{ token: 'login-c', code: 'cancelled' }] });
  },

  async 'key-rotation'() {
    const { rpPort, rp, idp } = await setup();
    const { page } = await browser();
    expectSignedIn(await signIn(page, rp, 'login-k1'), ALICE);
    check(idp.lines.includes('IDP_JWKS'), 'the RP fetched the first key set');
    // the same provider with a new key, on the same port; the RP keeps its cached keys
    await stopChild(idp);
    const idp2 = await startIdp(rpPort, { IDP_PORT: String(idp.info.port) });
    check(idp2.info.kid !== idp.info.kid, `new kid ${idp2.info.kid}`);
    await page.context().clearCookies();
    expectSignedIn(await signIn(page, rp, 'login-k2'), ALICE);
    check(idp2.lines.includes('IDP_JWKS'), 'the RP fetched the rotated key set');
    await expectHooks(rp, {
      complete: [{ token: 'login-k1', email: ALICE }, { token: 'login-k2', email: ALICE }],
      failed: [],
    });
  },

  async 'core-refuses'() {
    const { rp } = await setup();
    const { page } = await browser();
    const shown = await signIn(page, rp, 'refuse-1');
    expectRefused(shown, 403, 'refused');
    check(shown.message.includes('harness refuses'), "the core's message is shown");
    await expectHooks(rp, { complete: [{ token: 'refuse-1', email: ALICE }], failed: [] });
  },

  async 'control-sign-in'() {
    const { page, shown, result, authUrl, control } = await controlFlow({ oidcExtra: 'allowed-domains = example.com' });
    expectSignedIn(shown, ALICE);
    check(result.authorized === true, `the follow-up says authorized (${JSON.stringify(result)})`);
    check(result.login_name === ALICE, `as ${ALICE}`);
    check(result.map_accepted === true && result.address === '100.64.0.1/32', 'the node maps, with the first address');
    // the link is spent
    trackStatus(page, { url: control.url });
    await page.goto(authUrl);
    const again = await rpPage(page, { url: control.url });
    check(again.id === 'wr-page' && again.status === 410, `a used link says so (${again.status} ${again.message})`);
    const audit = await (await fetch(`${control.url}/metrics`)).text();
    check(/warren_control_logins_total 1\b/.test(audit), 'one sign-in counted');
  },

  async 'control-refused'() {
    // bob's email is not verified: nothing is authorized, and the machine is told why
    const { shown, result } = await controlFlow({ email: 'bob@example.net' });
    expectRefused(shown, 403, 'email-not-verified');
    check(result.authorized === false && result.error !== '', `the follow-up says refused (${JSON.stringify(result)})`);
    check(result.map_accepted === false && result.login_name === '', 'the machine cannot map, and has no user');
  },

  async 'control-domain'() {
    // alice is verified but her hosted domain is not the one allowed
    const { shown, result } = await controlFlow({ oidcExtra: 'allowed-domains = example.org' });
    expectRefused(shown, 403, 'domain-not-allowed');
    check(result.authorized === false && result.error !== '', `the follow-up says refused (${JSON.stringify(result)})`);
  },

  async 'control-chinese'() {
    // a browser in Chinese gets the real server's pages in Chinese (docs/control-l10n.md)
    const { page, shown, result, authUrl, control } = await controlFlow({ locale: 'zh-CN' });
    check(shown.id === 'wr-signed-in' && shown.status === 200, `success page shown (got ${shown.id}: ${shown.message})`);
    check(shown.title === '已登录', `the title is Chinese (${shown.title})`);
    check(shown.message === `已以 ${ALICE} 身份登录。您可以关闭此标签页。`, `the message is Chinese (${shown.message})`);
    check(await page.locator('html').getAttribute('lang') === 'zh-CN', 'the page says it is zh-CN');
    check(result.authorized === true, `the follow-up says authorized (${JSON.stringify(result)})`);
    trackStatus(page, { url: control.url });
    await page.goto(authUrl);
    const again = await rpPage(page, { url: control.url });
    check(again.status === 410 && again.title === '链接已使用', `a used link says so in Chinese (${again.title})`);
  },

  async 'control-german'() {
    // bob's email is not verified: the refusal in German, his address in the English detail
    const { page, shown, result } = await controlFlow({ email: 'bob@example.net', locale: 'de-DE' });
    expectRefused(shown, 403, 'email-not-verified');
    check(shown.title === 'Anmeldung fehlgeschlagen', `the title is German (${shown.title})`);
    check(shown.message === 'Die E-Mail-Adresse Ihres Kontos ist beim Identitätsanbieter nicht bestätigt.',
      `the explanation is German (${shown.message})`);
    const detail = await page.locator('#detail').textContent();
    check(detail.includes('bob@example.net'), `the English detail names the address (${detail})`);
    check(result.authorized === false, 'nothing is authorized');
  },

  async 'unknown-link'() {
    const { rp } = await setup();
    const { page } = await browser();
    trackStatus(page, rp);
    await page.goto(`${rp.url}/a/unknown-1`);
    const shown = await rpPage(page, rp);
    check(shown.id === 'wr-page' && shown.status === 404, 'the core\'s 404 page');
    check(shown.message.includes('<b>'), 'the message is escaped, not markup');
    await expectHooks(rp, { complete: [], failed: [] });
  },
};

async function main() {
  const name = process.argv[2];
  if (!scenarios[name]) {
    console.error(`usage: run.mjs <${Object.keys(scenarios).join('|')}>`);
    return 2;
  }
  if (!HARNESS) {
    console.error('run.mjs: WR_SSO_HARNESS must name the wr-sso-harness binary');
    return 2;
  }
  const t0 = Date.now();
  let passed = false;
  try {
    await scenarios[name]();
    passed = true;
  } catch (e) {
    console.log(`# ${name}: FAILED: ${e.stack || e}`);
  } finally {
    for (const c of cleanups) {
      try { await c(); } catch { /* best effort */ }
    }
    for (const c of children) await stopChild(c);
  }
  // the RP must also end cleanly on SIGTERM (sanitizer builds report leaks here)
  for (const c of children.filter((x) => x.name === 'rp' || x.name === 'control')) {
    if (c.exited.code !== 0) {
      console.log(`# ${name}: FAILED: ${c.name} exited with ${c.exited.code ?? c.exited.signal}`);
      passed = false;
    }
  }
  if (passed) console.log(`# ${name}: passed in ${Date.now() - t0} ms`);
  return passed ? 0 : 1;
}

process.exitCode = await main();
