// tests/browser/booking.mjs: end-to-end test of the booking pages in headless
// Chromium (Debian's /usr/bin/chromium, driven by playwright-core; no browser is
// ever downloaded), with the e-mails checked in the SMTP sink's Maildir.
//
// The agent Sam Taylor signs in through the Clerk emulator, opens the coach
// directory, Maria Lopez's profile, picks the first free time of her
// "Strategy session", answers the required question and books; the
// confirmation page must show the time. Then the SMTP sink ($COACH_RUN_DIR/mail/new)
// must receive, within 20 s, exactly one e-mail for Sam and one for Maria with a
// text/calendar part (METHOD:REQUEST, the booking's UID). Sam reschedules from
// /my/sessions (new mails with SEQUENCE:1) and cancels (METHOD:CANCEL).
//
// Run against a running stack (scripts/run-tests.sh does this for you):
//   (cd tests/browser && npm install --no-audit --no-fund)
//   COACH_BASE_URL=http://127.0.0.1:8080 COACH_CLERK_URL=http://127.0.0.1:8084 \
//   COACH_RUN_DIR=run/local node tests/browser/booking.mjs
//
// Env: COACH_BASE_URL (default http://127.0.0.1:8080), COACH_CLERK_URL (the
// Clerk emulator; when set, the sign-in page must be on it), COACH_RUN_DIR (mail
// in $COACH_RUN_DIR/mail/new, screenshots to $COACH_RUN_DIR/screenshots/booking-*.png),
// COACH_CHROMIUM (default /usr/bin/chromium).
//
// Output: one "ok - ..." / "not ok - ..." line per check, "# ..." notes, and a
// last line "N passed, M failed". Exit 1 if any check failed.
import fs from 'node:fs';
import path from 'node:path';
import {
  WAIT_MS, BASE, CLERK, CHROMIUM, RUN_DIR, check, note, step, sleep, screenshotDir,
  startWatchdog, launch, navigation, auditor, signInButton, checkVisited, checkNoServerErrors, run,
} from './lib/common.mjs';

const MAIL_WAIT_MS = 20_000;       // e-mails must arrive within this
const RUN_LIMIT_MS = 170_000;      // the whole run (under 3 min)
const AGENT = { id: 'user_demo_agent_sam', name: 'Sam Taylor', email: 'sam.taylor@agent.test' };
// booking_mail sends the coach's copy to users.email (bookings.cpp: coach.email).
const COACH = { name: 'Maria Lopez', email: 'maria.lopez@coach.test' };
const SESSION_TITLE = 'Strategy session';
const ICS_DOMAIN = 'coach-marketplace';

// ---------------------------------------------------------------- screenshots
const shotDir = screenshotDir('booking', ', and the e-mail checks cannot run');

// ---------------------------------------------------------------- the Maildir
const mailDir = RUN_DIR ? path.join(RUN_DIR, 'mail', 'new') : '';

// Headers of one MIME entity (unfolded, lower-case names) and its body.
function splitEntity(raw) {
  const m = raw.match(/\r?\n\r?\n/);
  const head = m ? raw.slice(0, m.index) : raw;
  const body = m ? raw.slice(m.index + m[0].length) : '';
  const headers = {};
  for (const line of head.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  return { headers, body };
}

function decodeQuotedPrintable(s) {
  const bytes = [];
  const text = s.replace(/=\r?\n/g, '');
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '=' && /^[0-9A-Fa-f]{2}$/.test(text.slice(i + 1, i + 3))) {
      bytes.push(parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(text[i], 'utf8'));
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

// Leaf parts of a MIME message: [{type, text}] (bodies decoded).
function leafParts(raw, depth = 0) {
  const { headers, body } = splitEntity(raw);
  const ctype = headers['content-type'] || 'text/plain';
  const type = ctype.split(';')[0].trim().toLowerCase();
  if (type.startsWith('multipart/') && depth < 5) {
    const b = ctype.match(/boundary="?([^";]+)"?/i);
    if (!b) return [];
    const out = [];
    const pieces = body.split(`--${b[1]}`);
    for (const piece of pieces.slice(1)) {
      if (piece.startsWith('--')) break;
      out.push(...leafParts(piece.replace(/^\r?\n/, ''), depth + 1));
    }
    return out;
  }
  const cte = (headers['content-transfer-encoding'] || '').toLowerCase();
  let text = body;
  if (cte === 'base64') text = Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
  else if (cte === 'quoted-printable') text = decodeQuotedPrintable(body);
  return [{ type, text }];
}

// One e-mail of the sink: recipients and the first text/calendar part's facts.
function readMail(file) {
  const raw = fs.readFileSync(file, 'utf8');
  const { headers } = splitEntity(raw);
  const to = `${headers['x-rcptto'] || ''} ${headers.to || ''}`.toLowerCase();
  const cal = leafParts(raw).find((p) => p.type === 'text/calendar');
  const mail = { file: path.basename(file), to, subject: headers.subject || '', hasCalendar: Boolean(cal) };
  if (cal) {
    const lines = cal.text.replace(/\r?\n[ \t]/g, '').split(/\r?\n/);
    const get = (k) => {
      const l = lines.find((x) => x.startsWith(`${k}:`) || x.startsWith(`${k};`));
      return l ? l.slice(l.indexOf(':') + 1).trim() : '';
    };
    mail.method = get('METHOD');
    mail.uid = get('UID');
    mail.sequence = get('SEQUENCE');
  }
  return mail;
}

function mailsAbout(icsUid) {
  if (!mailDir || !fs.existsSync(mailDir)) return [];
  const out = [];
  for (const f of fs.readdirSync(mailDir)) {
    try {
      const m = readMail(path.join(mailDir, f));
      if (m.uid === icsUid) out.push(m);
    } catch (e) {
      note(`could not read ${f}: ${e.message}`);
    }
  }
  return out;
}

// Waits (<= MAIL_WAIT_MS) for one mail per recipient with this METHOD/SEQUENCE,
// then checks that there is exactly one each. what: "booked", "rescheduled", ...
async function expectMails(icsUid, method, sequence, what) {
  if (!mailDir) {
    check(`${what}: e-mails checked`, false, 'COACH_RUN_DIR is not set, so the SMTP sink Maildir is unknown');
    return;
  }
  const match = (m, who) => m.method === method && m.sequence === String(sequence) && m.to.includes(who.email);
  const t0 = Date.now();
  let mails = [];
  while (Date.now() - t0 < MAIL_WAIT_MS) {
    mails = mailsAbout(icsUid);
    if (mails.some((m) => match(m, AGENT)) && mails.some((m) => match(m, COACH))) break;
    await sleep(250);
  }
  const waited = Date.now() - t0;
  await sleep(800);   // a duplicate sent right after the first would show up now
  mails = mailsAbout(icsUid);
  const forAgent = mails.filter((m) => match(m, AGENT));
  const forCoach = mails.filter((m) => match(m, COACH));
  const anyMail = mailDir && fs.existsSync(mailDir) && fs.readdirSync(mailDir).length > 0;
  const why = anyMail ? `found ${mails.length} mail(s) with UID ${icsUid}: ` +
      mails.map((m) => `${m.to.trim()} METHOD:${m.method} SEQUENCE:${m.sequence}`).join('; ')
    : `no e-mail at all in ${mailDir} (mail not implemented?)`;
  check(`${what}: exactly one e-mail for ${AGENT.email} with METHOD:${method}, SEQUENCE:${sequence}, UID ${icsUid} (within ${MAIL_WAIT_MS / 1000} s)`,
    forAgent.length === 1, `${forAgent.length} found after ${waited} ms; ${why}`);
  check(`${what}: exactly one e-mail for ${COACH.email} with METHOD:${method}, SEQUENCE:${sequence}, UID ${icsUid} (within ${MAIL_WAIT_MS / 1000} s)`,
    forCoach.length === 1, `${forCoach.length} found after ${waited} ms; ${why}`);
}

// ---------------------------------------------------------------- the run
const responses = [];
const visited = [];

startWatchdog(RUN_LIMIT_MS);

async function main() {
  note(`base ${BASE}; clerk ${CLERK || '(COACH_CLERK_URL not set)'}; mail ${mailDir || '(unknown)'}; chromium ${CHROMIUM}`);
  const context = await launch((r) => {
    responses.push({ url: r.url(), status: r.status(), method: r.request().method() });
  });
  const page = await context.newPage();

  const audit = auditor(page, shotDir, 'booking', visited);

  const { goto, clickAndWait } = navigation(page, audit);

  const text = async (sel) => (await page.locator(sel).first().innerText().catch(() => '')).trim();

  // ---- 1. sign in as Sam Taylor through the Clerk emulator, coming back to /my/sessions
  let signedIn = false;
  await step('sign in', async () => {
    const r = await goto(`${BASE}/my/sessions`, 'anonymous');
    const onClerk = CLERK ? page.url().startsWith(`${CLERK}/sign-in`) : new URL(page.url()).pathname === '/sign-in';
    check('/my/sessions anonymous ends on the Clerk emulator sign-in page', onClerk && r.status === 200, `at ${page.url()} status ${r.status}`);
    const button = signInButton(page, AGENT);
    check(`sign-in page lists ${AGENT.name}`, (await button.count()) === 1, `found ${await button.count()} button(s)`);
    await clickAndWait(button, 'signed-in');
    signedIn = check(`after sign-in ${AGENT.name} is back on /my/sessions`, page.url() === `${BASE}/my/sessions`, `at ${page.url()}`);
    check('the top bar has a "My sessions" link', (await page.locator('header nav a', { hasText: 'My sessions' }).count()) > 0);
  });
  if (!signedIn) return;

  // ---- 2. / -> Maria Lopez -> Strategy session -> first free time
  let chosenTime = '';
  let formOk = false;
  await step('pick a time', async () => {
    await goto(`${BASE}/`, 'home');
    const coachLink = page.locator('article.coach h2 a', { hasText: COACH.name });
    check(`/ lists ${COACH.name} with a link`, (await coachLink.count()) > 0);
    await clickAndWait(coachLink.first(), 'profile');
    check(`${COACH.name}'s profile is open`, new URL(page.url()).pathname.startsWith('/coaches/'), page.url());
    const typeLink = page.locator('#session-types li a', { hasText: SESSION_TITLE });
    check(`the profile offers "${SESSION_TITLE}"`, (await typeLink.count()) > 0);
    await clickAndWait(typeLink.first(), 'profile-strategy');
    let slot = page.locator('#pick-a-time ul.slots a');
    for (let i = 0; i < 4 && (await slot.count()) === 0; i++) {
      const next = page.locator('#pick-a-time a', { hasText: 'Next week' });
      if ((await next.count()) === 0) break;
      await clickAndWait(next.first(), `profile-next-week-${i + 1}`);
      slot = page.locator('#pick-a-time ul.slots a');
    }
    check('the profile shows at least one free time', (await slot.count()) > 0);
    chosenTime = (await slot.first().innerText()).trim();
    const r = await clickAndWait(slot.first(), 'book-form');
    formOk = check('the first free time opens the booking form (/book?start=...)',
      r.status === 200 && new URL(page.url()).pathname === '/book' && (await page.locator('#booking-form').count()) === 1,
      `at ${page.url()} status ${r.status}`);
    const when = await text('#chosen-time');
    check(`the form shows the chosen time ${chosenTime}`, when.includes(chosenTime), `#chosen-time: ${when}`);
    check('the form names the agent\'s zone America/Los_Angeles', (await text('#chosen-zone')).includes('America/Los_Angeles'));
    check('the form shows the price 75.00 USD', (await text('#booking-summary')).includes('75.00 USD'));
    check('the required question is marked required',
      (await page.locator('.question[data-slug="coaching-goal"] .required').count()) > 0);
  });

  // ---- 3. submit without the answer (server-side validation), then book
  let uid = '';
  if (formOk) await step('book', async () => {
    const bad = await clickAndWait(page.locator('#btn-book'), 'book-missing-answer');
    check('booking without the required answer answers 400 with a message',
      bad.status === 400 && (await text('#form-error')).includes('Please answer'), `status ${bad.status}; ${await text('#form-error')}`);
    await page.locator('#q-coaching-goal').fill('Build a referral pipeline for 2027');
    // The Strategy session is priced (75.00 USD): the agent pays on the Stripe
    // (emulator) checkout page first; the booking follows the payment (issue 7).
    const co = await clickAndWait(page.locator('#btn-book'), 'checkout');
    const wasRedirect = co.resp && co.resp.request().redirectedFrom() && co.resp.request().redirectedFrom().method() === 'POST';
    check('the POST was answered with a redirect to the checkout page', Boolean(wasRedirect) && /\/pay\/cs_/.test(page.url()), page.url());
    await clickAndWait(page.locator('#pay'), 'paid');
    await page.waitForURL(/\/book\/confirmation\?uid=/, { timeout: WAIT_MS });
    const r = { status: 200 };
    const u = new URL(page.url());
    check('after paying the booking ends on /book/confirmation', u.pathname === '/book/confirmation', `at ${page.url()}`);
    uid = u.searchParams.get('uid') || '';
    check('the confirmation carries the booking uid', uid.length > 0 && (await page.locator(`#booking[data-uid="${uid}"]`).count()) === 1, uid);
    check('the confirmation says "You\'re booked!"', (await text('#booked-heading')).includes("You're booked"));
    const when = await text('#booking-time');
    check(`the confirmation shows the time ${chosenTime}`, chosenTime && when.includes(chosenTime), `#booking-time: ${when}`);
    check('the confirmation shows Maria\'s time in Europe/Madrid', (await text('#coach-time')).includes('Europe/Madrid'));
    const g = await page.locator('#add-google').getAttribute('href').catch(() => '');
    const o = await page.locator('#add-outlook').getAttribute('href').catch(() => '');
    check('"Add to Google Calendar" link has action=TEMPLATE and dates', /^https:\/\/calendar\.google\.com\/calendar\/render\?action=TEMPLATE&text=.+&dates=\d{8}T\d{6}Z\/\d{8}T\d{6}Z/.test(g || ''), g);
    check('"Add to Outlook" link has startdt and enddt', /^https:\/\/outlook\.live\.com\/calendar\/0\/deeplink\/compose\?.*startdt=.+&enddt=/.test(o || ''), o);
  });
  if (!uid) return;
  const icsUid = `${uid}@${ICS_DOMAIN}`;

  await step('booking e-mails', () => expectMails(icsUid, 'REQUEST', 0, 'booked'));

  // ---- 4. reschedule from /my/sessions
  let newUid = '';
  await step('reschedule', async () => {
    await goto(`${BASE}/my/sessions`, 'my-sessions');
    const row = page.locator(`#session-list tr[data-uid="${uid}"]`);
    check('/my/sessions lists the new booking', (await row.count()) === 1);
    await clickAndWait(row.locator('a.reschedule'), 'reschedule-month');
    check('the reschedule page shows a month of days', (await page.locator('#month').count()) === 1);
    const day = page.locator('#month td.free a');
    check('the month has a free day', (await day.count()) > 0);
    await clickAndWait(day.last(), 'reschedule-day');
    const slot = page.locator('#day-slots ul.slots a');
    check('the day lists free times', (await slot.count()) > 0);
    await clickAndWait(slot.first(), 'reschedule-confirm');
    await page.locator('#reason').fill('A listing appointment moved');
    const r = await clickAndWait(page.locator('#btn-book'), 'rescheduled');
    const m = new URL(page.url()).pathname.match(/^\/my\/sessions\/([A-Za-z0-9_-]+)$/);
    newUid = m ? m[1] : '';
    check('rescheduling ends on the new session\'s page', r.status === 200 && newUid && newUid !== uid, `at ${page.url()} status ${r.status}`);
    check('the page says the session moved', (await text('#notice')).includes('moved'), await text('#notice'));
  });
  if (newUid) await step('reschedule e-mails', () => expectMails(icsUid, 'REQUEST', 1, 'rescheduled'));

  // ---- 5. cancel
  if (newUid) await step('cancel', async () => {
    await clickAndWait(page.locator('#btn-cancel'), 'cancel-confirm');
    check('the cancel page asks for confirmation', (await text('#cancel-session h1')).includes('Cancel this session'));
    await page.locator('#reason').fill('Plans changed');
    const r = await clickAndWait(page.locator('#btn-confirm-cancel'), 'cancelled');
    check('cancelling shows the session as Cancelled', r.status === 200 && (await text('#booking-status')) === 'Cancelled',
      `status ${r.status}; ${await text('#booking-status')}`);
    check('the reason is shown', (await text('#cancel-reason')).includes('Plans changed'));
  });
  if (newUid) await step('cancel e-mails', () => expectMails(icsUid, 'CANCEL', 2, 'cancelled'));

  // ---- 6. every page: a <title>, no internal error; no response >= 500
  checkVisited(visited);
  checkNoServerErrors(responses);
  note(`screenshots: ${shotDir} (${audit.shots()} files)`);
}

await run(main);
