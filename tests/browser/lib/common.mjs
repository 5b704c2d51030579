// tests/browser/lib/common.mjs: what the browser tests (booking.mjs, pages.mjs)
// share: settings from the environment, TAP-style reporting, the screenshot
// folder, the watchdog, launching headless Chromium, page navigation with an
// audit after each load, the checks over every page visited, and the run's
// ending. It sits in a subfolder because scripts/run-tests.sh runs every
// tests/browser/*.mjs as a test.
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const WAIT_MS = 15_000;            // any single wait
export const BASE = (process.env.COACH_BASE_URL || 'http://127.0.0.1:8080').replace(/\/+$/, '');
export const CLERK = (process.env.COACH_CLERK_URL || '').replace(/\/+$/, '');
export const CHROMIUM = process.env.COACH_CHROMIUM || '/usr/bin/chromium';
export const RUN_DIR = process.env.COACH_RUN_DIR || '';
export const INTERNAL_ERROR_TEXT = 'Something went wrong on our side';

// ---------------------------------------------------------------- reporting
let passed = 0;
let failed = 0;
let finished = false;

export function oneLine(s) {
  return String(s).replace(/\s+/g, ' ').trim().slice(0, 400);
}

// One "ok - name" / "not ok - name (detail)" line; returns whether cond held.
export function check(name, cond, detail = '') {
  if (cond) {
    passed++;
    console.log(`ok - ${name}`);
  } else {
    failed++;
    console.log(`not ok - ${name}${detail ? ` (${oneLine(detail)})` : ''}`);
  }
  return Boolean(cond);
}

export function note(msg) {
  console.log(`# ${oneLine(msg)}`);
}

// The last line "N passed, M failed" (once).
export function finish() {
  if (finished) return;
  finished = true;
  console.log(`${passed} passed, ${failed} failed`);
}

// Runs one step; an exception (a timeout, a missing element) becomes a failed check.
export async function step(name, fn) {
  try {
    return await fn();
  } catch (e) {
    check(`${name}: ran without error`, false, e && e.message ? e.message.split('\n')[0] : String(e));
    return undefined;
  }
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------- screenshots
// $COACH_RUN_DIR/screenshots (else a temporary folder, with a note that adds
// unsetNote), with the <prefix>-NN-*.png files of an earlier run removed.
export function screenshotDir(prefix, unsetNote = '') {
  let dir;
  if (RUN_DIR) {
    dir = path.join(RUN_DIR, 'screenshots');
  } else {
    dir = path.join(os.tmpdir(), `coach-browser-screenshots-${process.pid}`);
    note(`COACH_RUN_DIR is not set: screenshots go to ${dir}${unsetNote}`);
  }
  fs.mkdirSync(dir, { recursive: true });
  const earlier = new RegExp(`^${prefix}-\\d+-.*\\.png$`);
  for (const f of fs.readdirSync(dir)) {
    if (earlier.test(f)) fs.rmSync(path.join(dir, f), { force: true });
  }
  return dir;
}

// The file for screenshot number no: <dir>/<prefix>-NN-<label>.png
export function screenshotFile(dir, prefix, no, label) {
  return path.join(dir, `${prefix}-${String(no).padStart(2, '0')}-${label.replace(/[^A-Za-z0-9_-]+/g, '-')}.png`);
}

// After each page load: a numbered screenshot, and the page's URL, <title> and
// whether it shows the internal-error text, recorded in visited (checkVisited
// reads them). audit.shots() is the number of screenshots taken.
export function auditor(page, dir, prefix, visited) {
  let shots = 0;
  const audit = async (label) => {
    shots++;
    const file = screenshotFile(dir, prefix, shots, label);
    try {
      await page.screenshot({ path: file, fullPage: true, timeout: WAIT_MS });
    } catch (e) {
      note(`screenshot ${file} failed: ${e.message.split('\n')[0]}`);
    }
    const text = await page.locator('body').innerText().catch(() => '');
    const title = (await page.title()).trim();
    visited.push({ label, url: page.url(), title, internalError: text.includes(INTERNAL_ERROR_TEXT) });
    return { text, title };
  };
  audit.shots = () => shots;
  return audit;
}

// ---------------------------------------------------------------- the run
let browser;

// Fails the run (and exits 1) when it has not ended after limitMs.
export function startWatchdog(limitMs) {
  const watchdog = setTimeout(() => {
    check(`whole run finished within ${limitMs / 1000} s`, false, 'watchdog fired');
    finish();
    process.exit(1);   // playwright kills the browser it launched on exit
  }, limitMs);
  watchdog.unref();
}

// Headless Chromium and a 1280x900 context with WAIT_MS timeouts; every
// response goes to onResponse.
export async function launch(onResponse) {
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    timeout: WAIT_MS,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  context.setDefaultTimeout(WAIT_MS);
  context.setDefaultNavigationTimeout(WAIT_MS);
  context.on('response', onResponse);
  return context;
}

// goto(url, label) and clickAndWait(locator, label): load a page, then run
// audit(label) on it; both answer { resp, status, ...audit's answer }.
export function navigation(page, audit) {
  async function goto(url, label) {
    const resp = await page.goto(url, { waitUntil: 'load', timeout: WAIT_MS });
    const a = await audit(label);
    return { resp, status: resp ? resp.status() : 0, ...a };
  }

  // Clicks something that submits a form / follows a link, and waits for the new page.
  async function clickAndWait(locator, label) {
    const nav = page.waitForNavigation({ waitUntil: 'load', timeout: WAIT_MS });
    nav.catch(() => {});   // reported through the await below, or irrelevant if the click failed
    await locator.click({ timeout: WAIT_MS });
    const resp = await nav;
    const a = await audit(label);
    return { resp, status: resp ? resp.status() : 0, ...a };
  }

  return { goto, clickAndWait };
}

// The Clerk emulator's sign-in button for a demo user.
export function signInButton(page, user) {
  return page.locator(`form:has(input[name="user_id"][value="${user.id}"]) button[type="submit"]`);
}

// Every page visited ({label, url, title, internalError}) has a <title> and no internal-error text.
export function checkVisited(visited) {
  const noTitle = visited.filter((v) => !v.title);
  const broken = visited.filter((v) => v.internalError);
  check(`all ${visited.length} pages visited have a <title>`, visited.length > 0 && noTitle.length === 0,
    noTitle.map((v) => `${v.label} ${v.url}`).join(', '));
  check(`no page visited shows "${INTERNAL_ERROR_TEXT}"`, broken.length === 0, broken.map((v) => `${v.label} ${v.url}`).join(', '));
}

// No response ({url, status, method}) had status >= 500.
export function checkNoServerErrors(responses) {
  const bad = responses.filter((r) => r.status >= 500);
  check(`no response had status >= 500 (${responses.length} responses)`, bad.length === 0,
    bad.map((r) => `${r.method} ${r.url} -> ${r.status}`).join(', '));
}

// Runs main, closes the browser, prints the last line and exits (1 if any
// check failed or none passed).
export async function run(main) {
  try {
    await main();
  } catch (e) {
    check('browser test ran to the end', false, e && e.message ? e.message.split('\n')[0] : String(e));
  } finally {
    if (browser) await Promise.race([browser.close().catch(() => {}), new Promise((r) => setTimeout(r, 5000))]);
  }
  finish();
  process.exit(failed > 0 || passed === 0 ? 1 : 0);
}
