// tests/browser/payments.mjs: end-to-end test of a paid booking in headless
// Chromium (issue 7). The agent Olivia Brown signs in through the Clerk
// emulator, opens Maria Lopez's priced "Strategy session" (75.00 USD), picks a
// time two weeks out, answers the question and books: the browser lands on the
// Stripe emulator's checkout page, pays, comes back to /book/paid and then to
// the confirmation, which must show the payment as Paid with a receipt link.
// The receipt page shows the invoice number and the total. Then she cancels:
// the cancel page must show the refund amount before she confirms (inside the
// full-refund window), and afterwards the receipt must show the refund.
//
// Run against a running stack (scripts/run-tests.sh does this for you):
//   COACH_BASE_URL=http://127.0.0.1:8080 COACH_CLERK_URL=http://127.0.0.1:8084 \
//   COACH_RUN_DIR=run/local node tests/browser/payments.mjs
//
// Output: one "ok - ..." / "not ok - ..." line per check, "# ..." notes, and a
// last line "N passed, M failed". Exit 1 if any check failed.
import {
  WAIT_MS, BASE, CLERK, CHROMIUM, check, note, step, sleep, screenshotDir,
  startWatchdog, launch, navigation, auditor, signInButton, checkVisited, checkNoServerErrors, run,
} from './lib/common.mjs';

const RUN_LIMIT_MS = 170_000;
const AGENT = { id: 'user_demo_agent_olivia', name: 'Olivia Brown' };
const COACH = { name: 'Maria Lopez' };
const SESSION_TITLE = 'Strategy session';
const PRICE = '75.00 USD';

const shotDir = screenshotDir('payments');
const responses = [];
const visited = [];

startWatchdog(RUN_LIMIT_MS);

async function main() {
  note(`base ${BASE}; clerk ${CLERK || '(COACH_CLERK_URL not set)'}; chromium ${CHROMIUM}`);
  const context = await launch((r) => {
    responses.push({ url: r.url(), status: r.status(), method: r.request().method() });
  });
  const page = await context.newPage();

  const audit = auditor(page, shotDir, 'payments', visited);
  const { goto, clickAndWait } = navigation(page, audit);
  const text = async (sel) => (await page.locator(sel).first().innerText().catch(() => '')).trim();

  // ---- 1. sign in
  let signedIn = false;
  await step('sign in', async () => {
    await goto(`${BASE}/my/sessions`, 'anonymous');
    const button = signInButton(page, AGENT);
    check(`sign-in page lists ${AGENT.name}`, (await button.count()) === 1, `found ${await button.count()}`);
    await clickAndWait(button, 'signed-in');
    signedIn = check(`${AGENT.name} is signed in`, page.url() === `${BASE}/my/sessions`, page.url());
  });
  if (!signedIn) return;

  // ---- 2. pick a priced session two weeks out and book it
  let formOk = false;
  await step('pick a time', async () => {
    await goto(`${BASE}/`, 'home');
    await clickAndWait(page.locator('article.coach h2 a', { hasText: COACH.name }).first(), 'profile');
    await clickAndWait(page.locator('#session-types li a', { hasText: SESSION_TITLE }).first(), 'profile-strategy');
    // Two weeks ahead, away from the slots booking.mjs uses.
    for (let i = 0; i < 2; i++) {
      const next = page.locator('#pick-a-time a', { hasText: 'Next week' });
      if ((await next.count()) === 0) break;
      await clickAndWait(next.first(), `profile-next-week-${i + 1}`);
    }
    const slot = page.locator('#pick-a-time ul.slots a');
    check('the profile shows a free time two weeks out', (await slot.count()) > 0);
    const r = await clickAndWait(slot.last(), 'book-form');
    formOk = check('the booking form opens', r.status === 200 && (await page.locator('#booking-form').count()) === 1, page.url());
    check(`the form shows the price ${PRICE}`, (await text('#booking-summary')).includes(PRICE));
    check(`the button says "Book for ${PRICE}"`, (await text('#btn-book')).includes(PRICE), await text('#btn-book'));
  });
  if (!formOk) return;

  let uid = '';
  await step('pay in the checkout page', async () => {
    await page.locator('#q-coaching-goal').fill('Price my first luxury listing');
    await clickAndWait(page.locator('#btn-book'), 'checkout');
    check('booking a priced session opens the Stripe (emulator) checkout page', /\/pay\/cs_/.test(page.url()), page.url());
    check(`the checkout page asks for ${PRICE.replace(' USD', '')}`, (await text('#amount-total')).includes('75.00'), await text('#amount-total'));
    await clickAndWait(page.locator('#pay'), 'paid');
    check('after paying the browser is back on our site', page.url().startsWith(`${BASE}/book/`), page.url());
    await page.waitForURL(/\/book\/confirmation\?uid=/, { timeout: WAIT_MS });
    await audit('confirmation');
    uid = new URL(page.url()).searchParams.get('uid') || '';
    check('the booking is confirmed once the payment is in', uid.length > 0 && (await text('#booked-heading')).includes("You're booked"));
    check('the confirmation shows the payment as Paid', (await text('#payment-status')).includes('Paid'), await text('#payment-status'));
    check('the confirmation links the receipt', (await page.locator('#receipt-link').count()) === 1);
  });
  if (!uid) return;

  let receiptUrl = '';
  await step('receipt', async () => {
    await clickAndWait(page.locator('#receipt-link'), 'receipt');
    receiptUrl = page.url();
    check('the receipt page is /receipts/<number>', /\/receipts\/\d+$/.test(receiptUrl), receiptUrl);
    check('the receipt has an invoice number', /^\d+$/.test(await text('#invoice-number')), await text('#invoice-number'));
    check(`the receipt total is ${PRICE}`, (await text('#receipt-total')).includes(PRICE), await text('#receipt-total'));
    check('the receipt status is Paid', (await text('#receipt-status')) === 'Paid', await text('#receipt-status'));
    check('the receipt links Stripe\'s own receipt', (await page.locator('#stripe-receipt').count()) === 1);
  });

  // ---- 3. cancel inside the full-refund window: the amount shows before confirming
  await step('cancel with a refund', async () => {
    await goto(`${BASE}/my/sessions/${uid}/cancel`, 'cancel-confirm');
    check('the cancel page shows the refund before confirming', (await text('#refund-amount')) === PRICE, await text('#refund-amount'));
    check('the cancel page names the policy', (await text('#refund-quote')).includes('24 h'), await text('#refund-quote'));
    await page.locator('#reason').fill('Found a closer date');
    await clickAndWait(page.locator('#btn-confirm-cancel'), 'cancelled');
    check('the session page says it is cancelled', (await page.locator('body').innerText()).includes('Cancelled'));
  });

  if (receiptUrl) await step('refund on the receipt', async () => {
    let refunded = '';
    const t0 = Date.now();
    while (Date.now() - t0 < 20_000) {
      await goto(receiptUrl, 'receipt-after-refund');
      refunded = await text('#receipt-refunded');
      if (refunded.includes(PRICE)) break;
      await sleep(1000);
    }
    check(`the receipt shows the refund of ${PRICE}`, refunded.includes(PRICE), refunded || '(no refund line)');
    check('the receipt status is Refunded', (await text('#receipt-status')) === 'Refunded', await text('#receipt-status'));
    check('the receipt nets to 0.00 USD', (await text('#receipt-net')).includes('0.00 USD'), await text('#receipt-net'));
  });

  checkVisited(visited);
  checkNoServerErrors(responses);
  note(`screenshots: ${shotDir} (${audit.shots()} files)`);
}

await run(main);
