// tests/browser/pages.mjs: end-to-end test of the server-rendered pages in
// headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core; no
// browser is ever downloaded).
//
// Run against a running stack (scripts/run-tests.sh does this for you):
//   (cd tests/browser && npm install --no-audit --no-fund)
//   COACH_BASE_URL=http://127.0.0.1:8080 COACH_CLERK_URL=http://127.0.0.1:8084 \
//   COACH_RUN_DIR=run/local node tests/browser/pages.mjs
//
// Env: COACH_BASE_URL (the app, default http://127.0.0.1:8080), COACH_CLERK_URL
// (the Clerk emulator; when set, the sign-in page must be on it), COACH_CAL_URL
// (informational), COACH_RUN_DIR (screenshots go to $COACH_RUN_DIR/screenshots),
// COACH_CHROMIUM (default /usr/bin/chromium).
//
// Output: one "ok - ..." / "not ok - ..." line per check, "# ..." notes, and a
// last line "N passed, M failed". Exit 1 if any check failed.
import {
  WAIT_MS, BASE, CLERK, CHROMIUM, INTERNAL_ERROR_TEXT, oneLine, check, note, step, screenshotDir, screenshotFile,
  startWatchdog, launch, navigation, signInButton, checkVisited, checkNoServerErrors, run,
} from './lib/common.mjs';

const RUN_LIMIT_MS = 170_000;      // the whole run (the brief allows 3 min)
const COACH = { id: 'user_demo_coach_james', name: 'James Carter' };
const AGENT = { id: 'user_demo_agent_sam', name: 'Sam Taylor' };
// A whole JWT (header.payload.signature). Masked tokens look like "eyJh…k3Zq (212 chars)".
const FULL_JWT = /eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}/;

// ---------------------------------------------------------------- screenshots
// Files are named pages-NN-<what>.png; those of an earlier run of this script go first.
const shotDir = screenshotDir('pages');
let shotNo = 0;

// ---------------------------------------------------------------- the run
const responses = [];   // {url, status, type, method}
const visited = [];     // {label, url, title, internalError, jwtLeak}

startWatchdog(RUN_LIMIT_MS);

async function main() {
  note(`base ${BASE}; clerk ${CLERK || '(COACH_CLERK_URL not set)'}; cal ${process.env.COACH_CAL_URL || '(not set)'}; chromium ${CHROMIUM}`);
  const context = await launch((r) => {
    responses.push({ url: r.url(), status: r.status(), type: r.request().resourceType(), method: r.request().method() });
  });
  const page = await context.newPage();

  // After each page load: screenshot, and record <title>, the internal-error text and JWT leaks.
  async function audit(label) {
    shotNo++;
    const file = screenshotFile(shotDir, 'pages', shotNo, label);
    try {
      await page.screenshot({ path: file, fullPage: true, timeout: WAIT_MS });
    } catch (e) {
      note(`screenshot ${file} failed: ${e.message.split('\n')[0]}`);
    }
    const html = await page.content();
    const text = await page.locator('body').innerText().catch(() => '');
    const title = (await page.title()).trim();
    visited.push({
      label, url: page.url(), title,
      internalError: text.includes(INTERNAL_ERROR_TEXT) || html.includes(INTERNAL_ERROR_TEXT),
      jwtLeak: FULL_JWT.test(html),
    });
    return { html, text, title };
  }

  const { goto, clickAndWait } = navigation(page, audit);

  const noticeText = async () => (await page.locator('p.notice').allInnerTexts()).join(' | ');

  // Sign in through the app's /sign-in → Clerk emulator → back, as one demo user.
  async function signInVia(startPath, user, tag) {
    const r = await goto(BASE + startPath, `${tag}-anonymous`);
    const u = new URL(page.url());
    const onClerk = CLERK ? page.url().startsWith(`${CLERK}/sign-in`) : u.pathname === '/sign-in' && u.origin !== new URL(BASE).origin;
    check(`${startPath} anonymous ends on the Clerk emulator sign-in page`, onClerk && r.status === 200,
      `at ${page.url()} status ${r.status}`);
    const chain = [];
    for (let q = r.resp && r.resp.request(); q; q = q.redirectedFrom()) chain.unshift(q.url());
    check(`${startPath} anonymous went through the app's /sign-in`,
      chain.some((x) => x.startsWith(`${BASE}/sign-in?`)), `redirect chain: ${chain.join(' -> ')}`);
    const backTo = new URL(page.url()).searchParams.get('redirect_url') || '';
    check(`sign-in page's redirect_url points back to ${startPath}`, backTo === BASE + startPath, `redirect_url=${backTo}`);
    const button = signInButton(page, user);
    check(`sign-in page lists ${user.name} (${user.id}) as a button`,
      (await button.count()) === 1 && (await button.innerText()).includes(user.name),
      `found ${await button.count()} button(s)`);
    const back = await clickAndWait(button, `${tag}-signed-in`);
    const cookies = await context.cookies(BASE);
    check(`signing in as ${user.name} sets the __session cookie`, cookies.some((c) => c.name === '__session' && c.value));
    check(`after sign-in ${user.name} is back on ${startPath}`, page.url() === BASE + startPath, `at ${page.url()}`);
    return back;
  }

  // ---- 1. anonymous home page
  await step('home page', async () => {
    const r = await goto(`${BASE}/`, 'home-anonymous');
    check('GET / answers 200', r.status === 200, `status ${r.status}`);
    check('/ shows "Find your real-estate coach"', r.text.includes('Find your real-estate coach'));
    check('/ lists the seeded coach "Maria Lopez"',
      (await page.locator('article.coach h2', { hasText: 'Maria Lopez' }).count()) > 0 || r.text.includes('Maria Lopez'));
    check('/ anonymous shows a "Sign in" link', (await page.getByRole('link', { name: 'Sign in' }).count()) > 0);
  });

  // ---- 2. /cal-oauth-test anonymous → Clerk emulator → James Carter
  let signedIn = false;
  await step('sign in as the coach', async () => {
    const r = await signInVia('/cal-oauth-test', COACH, 'coach');
    check('/cal-oauth-test after sign-in answers 200', r.status === 200, `status ${r.status}`);
    const h2 = await page.locator('h2', { hasText: 'Connection of' }).first().innerText().catch(() => '');
    signedIn = check(`/cal-oauth-test shows "Connection of ${COACH.name}"`, h2.includes(`Connection of ${COACH.name}`), `h2: ${h2}`);
  });
  const needSignIn = (name) => {
    if (!signedIn) check(`${name}: skipped (${COACH.name} is not signed in)`, false);
    return signedIn;
  };

  // ---- 3. onboard (or find already onboarded)
  if (needSignIn('onboard')) await step('onboard', async () => {
    const status = page.locator('#integration-status');
    const already = (await status.count()) > 0 && (await status.innerText()).trim() === 'active';
    if (already) {
      note(`${COACH.name} is already onboarded (from an earlier run): not clicking "Create Cal.com managed user"`);
    } else {
      const btn = page.locator('#btn-onboard');
      check('/cal-oauth-test offers "Create Cal.com managed user" (#btn-onboard)',
        (await btn.count()) === 1 && (await btn.innerText()).includes('Create Cal.com managed user'));
      const r = await clickAndWait(btn, 'oauth-onboard');
      check('onboarding answers 200', r.status === 200, `status ${r.status}; notices: ${await noticeText()}`);
      check('onboarding shows a notice "... is stored for ..."', (await noticeText()).includes('is stored for'), await noticeText());
    }
    check('#integration-status reads "active"',
      (await status.count()) > 0 && (await status.innerText()).trim() === 'active',
      (await status.count()) ? `reads "${(await status.innerText()).trim()}"` : 'no #integration-status');
    check('"Raw Cal.com exchanges" section is present',
      (await page.locator('h2', { hasText: 'Raw Cal.com exchanges' }).count()) > 0);
    const masked = (await page.locator('#access-token-masked').innerText().catch(() => '')).trim();
    check('#access-token-masked is masked (contains "…")', masked.includes('…') && !FULL_JWT.test(masked), `"${masked}"`);
    const refreshCell = (await page.locator('tr', { hasText: 'Refresh token' }).locator('td code').innerText().catch(() => '')).trim();
    check('the refresh token cell is masked (contains "…")', refreshCell.includes('…') && !FULL_JWT.test(refreshCell), `"${refreshCell}"`);
    check('/cal-oauth-test HTML contains no full JWT', !FULL_JWT.test(await page.content()));
  });

  // ---- 4. refresh (rotate)
  if (needSignIn('refresh tokens')) await step('refresh tokens', async () => {
    const r = await clickAndWait(page.locator('#btn-refresh'), 'oauth-refresh');
    const n = await noticeText();
    check('"Refresh tokens (rotate)" answers 200', r.status === 200, `status ${r.status}; notices: ${n}`);
    check('notice "Tokens refreshed (rotated)"', n.includes('Tokens refreshed (rotated)'), n);
    check('a Before/After section is shown',
      (await page.locator('h3', { hasText: /^Before$/ }).count()) > 0 && (await page.locator('h3', { hasText: /^After$/ }).count()) > 0);
    check('/cal-oauth-test after refresh contains no full JWT', !FULL_JWT.test(r.html));
  });

  // ---- 5. check token
  if (needSignIn('check token')) await step('check token', async () => {
    const r = await clickAndWait(page.locator('#btn-check'), 'oauth-check');
    const n = await noticeText();
    check('"Check token (GET /v2/me)" answers 200', r.status === 200, `status ${r.status}; notices: ${n}`);
    check('notice "The stored token works"', n.includes('The stored token works'), n);
  });

  // ---- 6. /cal-db-test
  if (needSignIn('cal-db-test')) await step('cal-db-test', async () => {
    const r = await goto(`${BASE}/cal-db-test`, 'db-test');
    check('GET /cal-db-test answers 200', r.status === 200, `status ${r.status}`);
    const rows = page.locator('#integration-rows');
    check('"CalendarIntegration rows" table lists a cal_managed row',
      (await page.locator('h2', { hasText: 'CalendarIntegration rows' }).count()) > 0 &&
      (await rows.count()) > 0 && (await rows.innerText()).includes('cal_managed'),
      (await rows.count()) ? (await rows.innerText()) : 'no #integration-rows');
    const rd = await clickAndWait(page.locator('#btn-read'), 'db-read');
    const n1 = await noticeText();
    check('"Read integration" answers 200', rd.status === 200, `status ${rd.status}; notices: ${n1}`);
    check('notice "Read back from the CalendarIntegration table"', n1.includes('Read back from the CalendarIntegration table'), n1);
    const rf = await clickAndWait(page.locator('#btn-refresh'), 'db-refresh');
    const n2 = await noticeText();
    check('/cal-db-test "Refresh tokens" answers 200', rf.status === 200, `status ${rf.status}; notices: ${n2}`);
    check('/cal-db-test refresh shows #before and #after',
      (await page.locator('#before').count()) === 1 && (await page.locator('#after').count()) === 1, n2);
    check('/cal-db-test pages contain no full JWT', !FULL_JWT.test(rd.html) && !FULL_JWT.test(rf.html));
  });

  // ---- 8. sign out
  if (needSignIn('sign out')) await step('sign out', async () => {
    const link = page.getByRole('link', { name: 'Sign out' });
    check('a "Sign out" link is shown when signed in', (await link.count()) > 0);
    const r = await clickAndWait(link.first(), 'signed-out');
    check('signing out ends on / with status 200', page.url() === `${BASE}/` && r.status === 200, `at ${page.url()} status ${r.status}`);
    check('after sign-out / shows a "Sign in" link', (await page.getByRole('link', { name: 'Sign in' }).count()) > 0);
    const cookies = await context.cookies(BASE);
    check('after sign-out the __session cookie is gone', !cookies.some((c) => c.name === '__session' && c.value));
  });

  // ---- 9. an agent may not open /cal-oauth-test
  await step('agent is refused', async () => {
    await context.clearCookies();
    const r = await signInVia('/cal-oauth-test', AGENT, 'agent');
    check(`/cal-oauth-test as ${AGENT.name} (agent) answers 403`, r.status === 403, `status ${r.status}`);
    check('the 403 page says the page is for "coaches and admins"', r.text.includes('coaches and admins'), oneLine(r.text).slice(0, 200));
  });

  // ---- 10. every other page, as an admin (and the coach-only calendar as a coach): no server error
  await step('every page loads', async () => {
    await context.clearCookies();
    const ADMIN = { id: 'user_demo_admin', name: 'Ada Admin' };
    const first = await signInVia('/cal-webhook-monitor', ADMIN, 'admin');
    check('/cal-webhook-monitor as admin answers 200', first.status === 200, `status ${first.status}`);
    for (const p of ['/cal-oauth-test', '/cal-db-test', '/cal-availability-test', '/cal-event-types-test',
      '/cal-booking-test', '/cal-webhook-management', '/cal-webhook-test', '/cal-zoom-integration-test', '/my/sessions', '/']) {
      const r = await goto(BASE + p, `admin${p.replace(/\//g, '-')}`);
      check(`${p} as admin answers 200`, r.status === 200, `status ${r.status}`);
    }
    const home = await goto(BASE + '/', 'admin-home');
    const m = home.html.match(/href="(\/coaches\/\d+)"/);
    check('the directory links to a coach profile', !!m);
    if (m) {
      const r = await goto(BASE + m[1], 'coach-profile');
      check(`${m[1]} answers 200`, r.status === 200, `status ${r.status}`);
    }
    await context.clearCookies();
    const maria = { id: 'user_demo_coach_maria', name: 'Maria Lopez' };
    const cal = await signInVia('/coach/calendar', maria, 'maria');
    check('/coach/calendar as a coach answers 200', cal.status === 200, `status ${cal.status}`);
  });

  // ---- 7. every page: a <title>, no internal-error text (+ no full JWT anywhere)
  checkVisited(visited);
  const leaks = visited.filter((v) => v.jwtLeak);
  check('no page visited shows a full JWT', leaks.length === 0, leaks.map((v) => `${v.label} ${v.url}`).join(', '));

  // ---- 1b. no response ≥ 500 during the whole run; the stylesheet was asked for
  checkNoServerErrors(responses);
  const css = responses.filter((r) => new URL(r.url).pathname === '/static/style.css');
  check('/static/style.css was requested and did not fail with >= 500',
    css.length > 0 && css.every((r) => r.status < 500), css.map((r) => r.status).join(',') || 'never requested');
  const cssMissing = css.filter((r) => r.status >= 400);
  if (cssMissing.length) note(`/static/style.css answered ${cssMissing[0].status}: the pages are unstyled`);
  const seen4xx = new Map();   // "GET url -> 404" -> times
  for (const r of responses.filter((x) => x.status >= 400 && x.status < 500)) {
    const k = `${r.method} ${r.url} -> ${r.status}`;
    seen4xx.set(k, (seen4xx.get(k) || 0) + 1);
  }
  for (const [k, n] of seen4xx) note(`${k}${n > 1 ? ` (${n} times)` : ''}`);
  note(`screenshots: ${shotDir} (${shotNo} files)`);
}

await run(main);
