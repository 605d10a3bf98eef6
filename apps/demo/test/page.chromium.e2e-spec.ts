import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import type { DemoPlatform } from '../src/demo.config.js';
import { startDemo, type DemoHarness } from './support/demo-harness.js';

// Debian's chromium, driven over the DevTools protocol by playwright-core (which downloads no browser).
const CHROMIUM = process.env.CHROMIUM_BIN ?? '/usr/bin/chromium';
const FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

// What the page shows, one step after the other, as a person would use it.
describe.each<DemoPlatform>(['express', 'fastify'])('the demo page in headless Chromium (%s)', (platform) => {
  let h: DemoHarness;
  let profile: string;
  let browser: BrowserContext;
  let page: Page;
  const problems: string[] = [];

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`Headless Chromium is needed at ${CHROMIUM}: run \`apt-get install -y chromium\` (Debian), or set CHROMIUM_BIN.`);
    h = await startDemo(platform, { SESSION_TTL_SECONDS: '600' });
    profile = mkdtempSync(join(tmpdir(), 'tidykv-demo-chromium-'));
    // A fresh profile directory each run (Playwright's persistent context is how it takes one).
    browser = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: FLAGS, timeout: 60_000 });
    page = browser.pages()[0] ?? (await browser.newPage());
    page.setDefaultTimeout(20_000);
    page.on('console', (m) => {
      // Chromium logs every 401 as a failed load; the page expects them (GET /me when logged out).
      if (m.type() === 'error' && !/status of 401/.test(m.text())) problems.push(`console: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    await page.goto(h.base);
    await page.waitForSelector('body[data-ready="true"]', { state: 'attached' });
  }, 90_000);
  afterAll(async () => {
    await browser?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
    await h?.close();
  });

  it('shows the login form and no user before anyone logs in', async () => {
    expect(await page.isVisible('#login-form')).toBe(true);
    expect(await page.isVisible('#user-section')).toBe(false);
  });

  it('shows the current user after logging in through the form', async () => {
    await page.fill('#user-id', 'ada');
    await page.click('#login-button');
    await page.waitForSelector('#user-section', { state: 'visible' });
    expect(await page.textContent('#current-user')).toBe('ada');
    expect(await page.textContent('#status')).toContain('Logged in as ada');
    expect(await page.isVisible('#login-form')).toBe(false);
  });

  it('shows this browser as the one session of the user', async () => {
    await page.waitForSelector('#sessions tr.session');
    expect(await page.locator('#sessions tr.session').count()).toBe(1);
    expect(await page.textContent('#sessions tr[data-current="true"]')).toContain('this browser');
    expect(await page.textContent('#session-count')).toBe('1');
  });

  it('counts each click of the visits button', async () => {
    await page.click('#visits-button');
    await page.locator('#visits', { hasText: /^1$/ }).waitFor();
    await page.click('#visits-button');
    await page.locator('#visits', { hasText: /^2$/ }).waitFor();
    expect(await page.textContent('#visits')).toBe('2');
  });

  it('lists the sessions of other logins of the same user, with only this one marked current', async () => {
    await h.client().login('ada');
    await h.client().login('ada');
    await page.click('#visits-button');
    await page.locator('#session-count', { hasText: /^3$/ }).waitFor();
    expect(await page.locator('#sessions tr.session').count()).toBe(3);
    expect(await page.locator('#sessions tr[data-current="true"]').count()).toBe(1);
    expect(await page.textContent('#session-count')).toBe('3');
  });

  it('logs out everywhere: the page shows the login form again and the other logins end too', async () => {
    const other = h.client();
    await other.login('ada');
    await page.click('#logout-everywhere');
    await page.waitForSelector('#login-form', { state: 'visible' });
    expect(await page.textContent('#status')).toContain('Logged out everywhere');
    expect(await page.isVisible('#user-section')).toBe(false);
    expect(await page.textContent('#current-user')).toBe('');
    expect((await other.get('/me')).status).toBe(401);
    await page.reload();
    await page.waitForSelector('body[data-ready="true"]', { state: 'attached' });
    expect(await page.isVisible('#login-form')).toBe(true);
  });

  it('raised no script error, no blocked script and no failed request other than the expected 401s', () => {
    expect(problems).toEqual([]);
  });
});
