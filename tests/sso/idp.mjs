// Copyright 2026 The Warren Authors
// SPDX-License-Identifier: GPL-2.0-or-later
//
// A real OpenID provider for the sign-in tests: panva's oidc-provider on loopback, set up to
// behave like Google where it matters (email claims in the ID token, hd, select_account),
// with our own login and consent pages (no external resources).  Prints one line,
// IDP_READY {"issuer":…,"port":…,"kid":…}, once it listens, then IDP_JWKS and IDP_TOKEN per
// request to those endpoints, so the driver can see refetches.
//
// Environment:
//   IDP_PORT            port on IDP_HOST (default 0: any); restart on the same port = rotation
//   IDP_HOST            default 127.0.0.1
//   IDP_REDIRECT_URIS   comma-separated redirect URIs of the client (required)
//   IDP_CLIENT_ID       default warren-test
//   IDP_CLIENT_SECRET   default "s3cret: with/odd+chars" (exercises form-encoding in Basic auth)
//   IDP_ALG             RS256 (default) or ES256: the ID token's algorithm
//   IDP_DECOY_KEY=1     publish a second, unused key (of the other type) before the real one
//   IDP_CLOCK_OFFSET=S  the token endpoint runs S seconds off (negative: its tokens are old)
//   IDP_FOREIGN_JWKS=1  the JWKS endpoint publishes another key under the signing key's kid
import crypto from 'node:crypto';
import http from 'node:http';
import Provider, { interactionPolicy } from 'oidc-provider';

const env = process.env;
const host = env.IDP_HOST || '127.0.0.1';
const alg = env.IDP_ALG || 'RS256';
const clientId = env.IDP_CLIENT_ID || 'warren-test';
const clientSecret = env.IDP_CLIENT_SECRET || 's3cret: with/odd+chars';
const redirectUris = (env.IDP_REDIRECT_URIS || '').split(',').filter(Boolean);
const clockOffset = Number(env.IDP_CLOCK_OFFSET || 0);
if (redirectUris.length === 0) {
  console.error('idp.mjs: IDP_REDIRECT_URIS is required');
  process.exit(2);
}

const ACCOUNTS = new Map([
  ['alice', { password: 'correct horse', email: 'alice@example.com', email_verified: true,
    name: 'Alice Liddell', hd: 'example.com', groups: ['vpn-users'] }],
  ['bob', { password: 'correct horse', email: 'bob@example.net', email_verified: false,
    name: 'Bob' }],
  ['carol', { password: 'correct horse', email: 'carol@example.org', email_verified: true,
    name: 'Carol' }],
]);
const byEmail = (email) => [...ACCOUNTS].find(([, a]) => a.email === email)?.[0];

function signingKey(type, kid) {
  const opts = type === 'RS256' ? ['rsa', { modulusLength: 2048 }] : ['ec', { namedCurve: 'P-256' }];
  const { privateKey } = crypto.generateKeyPairSync(...opts);
  return { ...privateKey.export({ format: 'jwk' }), kid, use: 'sig', alg: type };
}
const kid = `k-${crypto.randomBytes(6).toString('hex')}`;
const key = signingKey(alg, kid);
const keys = [key];
if (env.IDP_DECOY_KEY === '1') {
  keys.unshift(signingKey(alg === 'RS256' ? 'ES256' : 'RS256', `decoy-${kid}`));
}
// the same kid, another key: what an attacker's token would be checked against
const foreign = env.IDP_FOREIGN_JWKS === '1' && (() => {
  const k = signingKey(alg, kid);
  const pub = crypto.createPublicKey({ key: k, format: 'jwk' }).export({ format: 'jwk' });
  return { keys: [{ ...pub, kid, use: 'sig', alg }] };
})();

const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const page = (title, body) => `<!DOCTYPE html><html><head><meta charset="utf-8"><title>${esc(title)}</title></head>`
  + `<body><h1>${esc(title)}</h1>${body}</body></html>`;

const policy = interactionPolicy.base();
policy.add(new interactionPolicy.Prompt({ name: 'select_account', requestable: true }), 0);

const server = http.createServer();
await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(Number(env.IDP_PORT || 0), host, resolve);
});
const port = server.address().port;
const issuer = `http://${host}:${port}`;

const provider = new Provider(issuer, {
  clients: [{
    client_id: clientId, client_secret: clientSecret, application_type: 'web',
    redirect_uris: redirectUris, grant_types: ['authorization_code'], response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic', id_token_signed_response_alg: alg,
  }],
  jwks: { keys },
  cookies: { keys: [crypto.randomBytes(16).toString('hex')] },
  pkce: { required: () => true },
  responseTypes: ['code'],
  scopes: ['openid', 'email', 'profile'],
  claims: {
    openid: ['sub', 'hd', 'groups'],
    email: ['email', 'email_verified'],
    profile: ['name'],
  },
  conformIdTokenClaims: false,
  features: { devInteractions: { enabled: false }, userinfo: { enabled: true } },
  interactions: { policy, url: (ctx, i) => `/interaction/${i.uid}` },
  findAccount: async (ctx, sub) => {
    const a = ACCOUNTS.get(sub);
    if (!a) return undefined;
    const { password, ...claims } = a;
    return { accountId: sub, claims: async () => ({ sub, ...claims }) };
  },
  renderError: async (ctx, out) => {
    ctx.type = 'html';
    ctx.body = page('Provider error', `<p id="idp-error">${esc(out.error)}</p>`);
  },
});

function readForm(req) {
  return new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c) => { body += c; if (body.length > 65536) req.destroy(); });
    req.on('end', () => resolve(new URLSearchParams(body)));
    req.on('error', reject);
  });
}

function send(res, status, html) {
  res.writeHead(status, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
  res.end(html);
}

function loginForm(uid, error) {
  return page('Sign in to the test provider',
    (error ? `<p id="error">${esc(error)}</p>` : '')
    + `<form method="post" action="/interaction/${uid}/login">`
    + '<label>Email <input id="email" name="email" autocomplete="off"></label> '
    + '<label>Password <input id="password" name="password" type="password"></label> '
    + '<button id="signin" type="submit">Sign in</button></form>'
    + `<p><a id="cancel" href="/interaction/${uid}/abort">Cancel</a></p>`);
}

async function interaction(req, res, uid, action) {
  const details = await provider.interactionDetails(req, res);
  const { prompt, params } = details;
  if (action === undefined && req.method === 'GET') {
    if (prompt.name === 'consent') {
      send(res, 200, page('Allow access?',
        `<p>${esc(params.client_id)} asks for ${esc(params.scope)}.</p>`
        + `<form method="post" action="/interaction/${uid}/confirm">`
        + '<button id="allow" type="submit">Allow</button></form>'
        + `<p><a id="cancel" href="/interaction/${uid}/abort">Cancel</a></p>`));
    } else {
      send(res, 200, loginForm(uid));
    }
    return;
  }
  if (action === 'login' && req.method === 'POST') {
    const form = await readForm(req);
    const accountId = byEmail(form.get('email'));
    if (!accountId || ACCOUNTS.get(accountId).password !== form.get('password')) {
      send(res, 200, loginForm(uid, 'Wrong email or password.'));
      return;
    }
    await provider.interactionFinished(req, res,
      { login: { accountId }, select_account: {} }, { mergeWithLastSubmission: false });
    return;
  }
  if (action === 'confirm' && req.method === 'POST') {
    const { accountId } = details.session;
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId, clientId: params.client_id });
    const missing = prompt.details || {};
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
    const grantId = await grant.save();
    await provider.interactionFinished(req, res, { consent: { grantId } },
      { mergeWithLastSubmission: true });
    return;
  }
  if (action === 'abort') {
    await provider.interactionFinished(req, res,
      { error: 'access_denied', error_description: 'the user cancelled' },
      { mergeWithLastSubmission: false });
    return;
  }
  send(res, 404, page('Not found', ''));
}

const callback = provider.callback();
const realNow = Date.now;
server.on('request', async (req, res) => {
  const url = new URL(req.url, issuer);
  try {
    const m = url.pathname.match(/^\/interaction\/([A-Za-z0-9_-]+)(?:\/(login|confirm|abort))?$/);
    if (m) {
      await interaction(req, res, m[1], m[2]);
      return;
    }
    if (url.pathname === '/jwks') {
      console.log('IDP_JWKS');
      if (env.IDP_FOREIGN_JWKS === '1') {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify(foreign));
        return;
      }
    }
    if (url.pathname === '/token') {
      console.log('IDP_TOKEN');
      if (clockOffset !== 0) {
        // one request at a time in these tests: the provider's clock is off while it answers
        Date.now = () => realNow() + clockOffset * 1000;
        res.on('close', () => { Date.now = realNow; });
      }
    }
    callback(req, res);
  } catch (e) {
    console.error(`idp.mjs: ${e.stack || e}`);
    if (!res.headersSent) send(res, 500, page('Error', `<p id="idp-error">${esc(e.message)}</p>`));
  }
});

console.log(`IDP_READY ${JSON.stringify({ issuer, port, kid, alg })}`);
