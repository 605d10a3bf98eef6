import { createHash } from 'node:crypto';

// The page's only script, inline: no build step, no bundle. It talks to the same routes as the
// README's curl walk-through, with the browser's cookie. Everything the server sends is written
// with textContent, never as HTML, so a userId cannot inject markup.
const SCRIPT = `
const $ = (id) => document.getElementById(id);

async function call(method, path, body) {
  const init = { method, credentials: 'same-origin', headers: {} };
  if (body !== undefined) {
    init.headers['content-type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const res = await fetch(path, init);
  const text = await res.text();
  let json;
  try { json = text ? JSON.parse(text) : undefined; } catch { json = undefined; }
  return { status: res.status, body: json };
}

function say(text) {
  $('status').textContent = text;
}

function failure(what, r) {
  const detail = r.body && (r.body.code || r.body.message);
  say(what + ' failed: HTTP ' + r.status + (detail ? ' (' + (Array.isArray(detail) ? detail.join(', ') : detail) + ')' : ''));
}

function showLoggedIn(userId) {
  $('login-section').hidden = userId !== undefined;
  $('user-section').hidden = userId === undefined;
  $('current-user').textContent = userId === undefined ? '' : userId;
  if (userId === undefined) {
    $('visits').textContent = '-';
    $('sessions').replaceChildren();
    $('session-count').textContent = '0';
  }
}

function cell(text) {
  const td = document.createElement('td');
  td.textContent = text;
  return td;
}

async function loadSessions() {
  const r = await call('GET', '/auth/sessions');
  if (r.status !== 200) return failure('Listing sessions', r);
  const rows = r.body.map((s) => {
    const tr = document.createElement('tr');
    tr.className = 'session';
    if (s.current) tr.dataset.current = 'true';
    tr.append(cell(new Date(s.createdAt).toLocaleString()), cell(new Date(s.lastAccessedAt).toLocaleString()), cell(new Date(s.expiresAt).toLocaleString()), cell(s.current ? 'this browser' : ''));
    return tr;
  });
  $('sessions').replaceChildren(...rows);
  $('session-count').textContent = String(rows.length);
}

async function refresh() {
  const me = await call('GET', '/me');
  if (me.status === 401) return showLoggedIn(undefined);
  if (me.status !== 200) return failure('Reading the session', me);
  showLoggedIn(me.body.userId);
  await loadSessions();
}

$('login-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const r = await call('POST', '/auth/login', { userId: $('user-id').value });
  if (r.status !== 201) return failure('Login', r);
  say('Logged in as ' + r.body.userId + '; a refresh token was issued (the page does not keep it).');
  await refresh();
});

$('visits-button').addEventListener('click', async () => {
  const r = await call('POST', '/me/visits');
  if (r.status === 401) { say('Your session has ended; log in again.'); return showLoggedIn(undefined); }
  if (r.status !== 200) return failure('Counting a visit', r);
  $('visits').textContent = String(r.body.visits);
  await loadSessions();
});

$('logout-everywhere').addEventListener('click', async () => {
  const r = await call('DELETE', '/auth/sessions');
  if (r.status !== 204) return failure('Logging out everywhere', r);
  say('Logged out everywhere: every session and every refresh token of this user is gone.');
  await refresh();
});

$('logout').addEventListener('click', async () => {
  const r = await call('POST', '/auth/logout');
  if (r.status !== 204) return failure('Logout', r);
  say('Logged out.');
  await refresh();
});

refresh().then(() => { document.body.dataset.ready = 'true'; });
`;

/** The Content-Security-Policy of the page: only its own inline script runs, and it may only call this origin. */
export const DEMO_PAGE_CSP = `default-src 'none'; connect-src 'self'; style-src 'unsafe-inline'; script-src 'sha256-${createHash('sha256').update(SCRIPT).digest('base64')}'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'`;

/** `GET /`: a login form, the current user, a visits button, the session list and "log out everywhere". */
export const DEMO_PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>tidykv demo</title>
<style>
  body { font: 16px/1.5 system-ui, sans-serif; max-width: 46rem; margin: 2rem auto; padding: 0 1rem; color: #1d1d1f; }
  h1 { font-size: 1.6rem; margin-bottom: .2rem; }
  #status { min-height: 1.5em; color: #555; }
  table { border-collapse: collapse; width: 100%; margin: .5rem 0 1rem; }
  th, td { text-align: left; padding: .3rem .5rem; border-bottom: 1px solid #ddd; font-size: .9rem; }
  tr[data-current] td { font-weight: 600; }
  button { font: inherit; padding: .3rem .8rem; cursor: pointer; }
  input { font: inherit; padding: .3rem; }
</style>
</head>
<body>
<h1>tidykv demo</h1>
<p>Sessions on <code>@tidykv/session</code>, refresh tokens on <code>@tidykv/repository</code>, in one Redis that never leaks a key.</p>
<p id="status" role="status"></p>
<section id="login-section">
  <h2>Log in</h2>
  <form id="login-form">
    <label>User id <input id="user-id" name="userId" required maxlength="128" pattern="[A-Za-z0-9_.@\\-]{1,128}" title="1 to 128 letters, digits, _ . @ -" autocomplete="username"></label>
    <button id="login-button" type="submit">Log in</button>
  </form>
</section>
<section id="user-section" hidden>
  <p>Logged in as <strong id="current-user"></strong></p>
  <p><button id="visits-button" type="button">Count a visit</button> Visits in this session: <strong id="visits">-</strong></p>
  <h2>Your sessions (<span id="session-count">0</span>)</h2>
  <table>
    <thead><tr><th>Created</th><th>Last active</th><th>Expires</th><th></th></tr></thead>
    <tbody id="sessions"></tbody>
  </table>
  <button id="logout-everywhere" type="button">Log out everywhere</button>
  <button id="logout" type="button">Log out</button>
</section>
<script>${SCRIPT}</script>
</body>
</html>
`;
