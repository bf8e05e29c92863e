// Browser tests of the licences page: Debian's Chromium driven by playwright-core, against the
// local platform the test command starts (the page served by the `web` function on the API's
// origin). Each run makes its own tenant shaped like the demo, so runs never meet.
//
// Needs LICENSING_API_URL, LICENSING_JWT_SECRET and CHROMIUM. Screenshots go to
// target/browser-tests/.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const API = process.env.LICENSING_API_URL;
const SECRET = process.env.LICENSING_JWT_SECRET;
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
if (!API || !SECRET) throw new Error("LICENSING_API_URL and LICENSING_JWT_SECRET must be set");
const SHOTS = fileURLToPath(new URL("../../target/browser-tests/", import.meta.url));
mkdirSync(SHOTS, { recursive: true });

const b64 = (value) => Buffer.from(JSON.stringify(value)).toString("base64url");
function token(sub, tenant, scope) {
  const claims = { sub, exp: Math.floor(Date.now() / 1000) + 3600, ...(tenant ? { tenant_id: tenant } : {}), ...(scope ? { scope } : {}) };
  const unsigned = `${b64({ typ: "JWT", alg: "HS256" })}.${b64(claims)}`;
  return `${unsigned}.${createHmac("sha256", SECRET).update(unsigned).digest("base64url")}`;
}

async function call(bearer, method, path, body) {
  const response = await fetch(API + path, {
    method,
    headers: { Authorization: `Bearer ${bearer}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  assert.ok(response.ok, `${method} ${path}: ${response.status} ${text}`);
  return JSON.parse(text);
}

/** The same rule as the page (and the mails): integer minor units split, never a float. */
function dkk(minor) {
  const whole = new Intl.NumberFormat("en-GB").format(Math.trunc(minor / 100));
  return `${whole}.${String(minor % 100).padStart(2, "0")} DKK`;
}

const TENANT = `web-${Date.now().toString(36)}`;
const NAMES = ["Bo Berg", "Cecilie Dahl", "Dan Eriksen", "Ebba Fog", "Frej Gram", "Gry Holm", "Hans Iversen", "Ida Juul", "Jens Krogh", "Karen Lund"];
const admin = token("ada", TENANT);
let browser;

before(async () => {
  // The first day of this month in Copenhagen, the subscription's zone.
  const today = new Intl.DateTimeFormat("en-CA", { timeZone: "Europe/Copenhagen" }).format(new Date());
  await call(token("operator-1", undefined, "licensing/operator"), "POST", "/v1/tenants", {
    tenant_id: TENANT,
    name: "Acme ApS",
    currency: "DKK",
    time_zone: "Europe/Copenhagen",
    period_length: "monthly",
    period_start: `${today.slice(0, 8)}01`,
    pools: {
      licences: { name: "Licences", unit_price: 12900, purchased: 10 },
      crm: { name: "CRM", unit_price: 4900, purchased: 2 },
    },
    administrator: { user_id: "ada", name: "Ada Admin", email: "ada@example.com", language: "da" },
  });
  // Like the demo: ten more users, in order, so the tenth has no licence.
  for (const [i, name] of NAMES.entries()) {
    const id = `u-${String(i + 1).padStart(2, "0")}`;
    await call(admin, "POST", "/v1/users", { user_id: id, name, email: `${id}@example.com`, language: i % 2 ? "en" : "da", modules: i < 2 ? ["crm"] : [] });
  }
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
});

after(async () => {
  await browser?.close();
});

/**
 * Opens the page for `t`; its browser context is closed when `t` ends, passed or failed.
 * `ready` is what shows once the page is up: unless told, the licences table once every
 * section has loaded, so that no late list rebuilds a section the test is looking at.
 */
async function open(t, bearer, name, prepare, ready = (page) => page.locator('html[data-loaded="yes"] #licences-table')) {
  const context = await browser.newContext({ locale: "en-GB", viewport: { width: 1100, height: 900 } });
  t.after(() => context.close());
  const page = await context.newPage();
  await prepare?.(page);
  const failures = [];
  page.on("pageerror", (e) => failures.push(String(e)));
  page.on("console", (m) => m.type() === "error" && failures.push(m.text()));
  // Every answer is the function's own (the local front, docs/decisions/0007): a 5xx is a
  // failure even where the page would ask the same read again.
  page.on("response", (r) => r.status() >= 500 && failures.push(`${r.status()} ${r.url()}`));
  // What has not answered yet, named if the page does not come up.
  const waiting = new Set();
  page.on("request", (r) => waiting.add(r));
  page.on("requestfinished", (r) => waiting.delete(r));
  page.on("requestfailed", (r) => waiting.delete(r) && failures.push(`${r.url()}: ${r.failure()?.errorText}`));
  await page.goto(`${API}/#token=${bearer}`);
  try {
    await ready(page).waitFor({ timeout: 30000 });
  } catch (error) {
    const pending = [...waiting].map((r) => `${r.method()} ${r.url().replace(/#.*/, "")}`);
    throw new Error(`the page did not come up; no answer yet to [${pending.join(", ")}]; errors [${failures.join(", ")}]`, { cause: error });
  }
  page.shot = (step) => page.screenshot({ path: `${SHOTS}${name}-${step}.png`, fullPage: true });
  // What the README shows: one part of the page (docs/*.png are copies of these).
  page.shotOf = (locator, step) => locator.screenshot({ path: `${SHOTS}${name}-${step}.png` });
  page.failures = failures;
  return page;
}

/**
 * WCAG 2.1 contrast of every visible text on the page against the background it is drawn on:
 * 4.5:1, or 3:1 for large text (≥ 24 px, or ≥ 18.66 px bold). Disabled controls are exempt.
 */
async function lowContrast(page) {
  return page.evaluate(() => {
    const rgba = (css) => {
      const [r, g, b, a = 1] = (css.match(/[\d.]+/g) ?? []).map(Number);
      return { r, g, b, a };
    };
    const over = (top, under) => ({
      r: top.r * top.a + under.r * (1 - top.a),
      g: top.g * top.a + under.g * (1 - top.a),
      b: top.b * top.a + under.b * (1 - top.a),
      a: 1,
    });
    const background = (el) => {
      const layers = [];
      for (let e = el; e; e = e.parentElement) {
        const c = rgba(getComputedStyle(e).backgroundColor);
        if (c.a > 0) layers.push(c);
        if (c.a === 1) break;
      }
      return layers.reduceRight((under, top) => over(top, under), { r: 255, g: 255, b: 255, a: 1 });
    };
    const luminance = ({ r, g, b }) => {
      const lin = (v) => ((v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
      return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
    };
    const found = [];
    for (const el of document.querySelectorAll("body *")) {
      const own = [...el.childNodes].filter((n) => n.nodeType === Node.TEXT_NODE).map((n) => n.textContent.trim()).join("");
      if (!own || el.closest("[disabled], .visually-hidden, .skip") || !el.checkVisibility({ visibilityProperty: true })) continue;
      const style = getComputedStyle(el);
      const bg = background(el);
      const fg = over(rgba(style.color), bg);
      const [hi, lo] = [luminance(fg), luminance(bg)].sort((x, y) => y - x);
      const ratio = (hi + 0.05) / (lo + 0.05);
      const size = parseFloat(style.fontSize);
      const large = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700);
      if (ratio < (large ? 3 : 4.5)) found.push(`"${own.slice(0, 30)}" ${ratio.toFixed(2)}:1`);
    }
    return found;
  });
}

const cell = (page, pool, column) => page.locator(`main tr[data-pool="${pool}"] > :nth-child(${column})`);

test("the demo administrator sees the licences, the modules and one red user with a deadline", async (t) => {
  const page = await open(t, admin, "1-administrator");
  assert.ok(!page.url().includes("token="), "the token leaves the address bar");
  assert.equal(await page.locator("h1").textContent(), "Licences – Acme ApS");
  assert.equal(await cell(page, "licences", 2).textContent(), "10");
  assert.match(await cell(page, "licences", 3).textContent(), /^11\s*1 without a licence$/);
  assert.equal(await cell(page, "licences", 4).textContent(), "0");
  assert.equal(await cell(page, "crm", 2).textContent(), "2");
  const reds = page.locator("#reds tbody tr");
  assert.equal(await reds.count(), 1);
  assert.equal(await reds.locator("th").textContent(), "Karen Lund");
  const account = await call(admin, "GET", "/v1/account");
  const deadline = new Date(account.licences.over_allocated[0].deadline);
  const shown = new Intl.DateTimeFormat("en-GB", { day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit", timeZone: "Europe/Copenhagen", timeZoneName: "short" }).format(deadline);
  assert.equal(await reds.locator(".deadline").textContent(), shown);
  await page.shot("overview");
  await page.screenshot({ path: `${SHOTS}1-administrator-readme.png` });
  assert.deepEqual(await lowContrast(page), [], "red users and badges are readable");
  assert.deepEqual(page.failures, []);
});

test("buying 1 licence shows the API's quoted cost, and the red user is licensed at once", async (t) => {
  const page = await open(t, admin, "2-purchase");
  await page.getByLabel("Number of Licences to buy").fill("1");
  const quoted = page.waitForResponse((r) => r.url().endsWith("/v1/purchases/quotes"));
  await page.getByRole("button", { name: "Purchase more licences" }).click();
  const quote = await (await quoted).json();
  const dialog = page.getByRole("dialog", { name: "Approve the extra cost" });
  await dialog.waitFor();
  const line = quote.lines[0];
  assert.equal(line.quantity, 1);
  assert.equal(await dialog.locator('tr[data-pool="licences"] td').last().textContent(), dkk(line.amount));
  assert.equal(await page.locator("#quote-total").textContent(), dkk(quote.total));
  assert.match(await page.locator("#next-total").textContent(), new RegExp(dkk(quote.next_period_total).replace(".", "\\.")));
  await page.shot("confirmation");
  assert.deepEqual(await lowContrast(page), [], "the confirmation is readable");
  const approved = page.waitForResponse((r) => r.url().endsWith("/v1/purchases"));
  await page.getByRole("button", { name: "Approve purchase" }).click();
  const purchase = await (await approved).json();
  assert.equal(purchase.total, quote.total);
  await page.locator("#notice").waitFor();
  assert.match(await page.locator("#notice").textContent(), new RegExp(`Purchase approved: ${dkk(quote.total).replace(".", "\\.")}`));
  assert.equal(await cell(page, "licences", 2).textContent(), "11");
  assert.equal(await cell(page, "licences", 3).textContent(), "11");
  assert.equal(await page.locator("#reds tbody tr").count(), 0);
  assert.equal(await page.locator("#reds p").textContent(), "Every active user has a licence.");
  await page.locator("#invoices-table tbody tr").first().waitFor();
  assert.equal(await page.locator("#invoices-table tbody tr").first().locator("th").textContent(), purchase.invoice_id);
  await page.shot("bought");
  assert.deepEqual(await lowContrast(page), [], "the approval notice is readable");
  assert.deepEqual(page.failures, []);
});

test("a double click on Approve buys once", async (t) => {
  const before = await call(admin, "GET", "/v1/account");
  const invoicesBefore = (await call(admin, "GET", "/v1/invoices?limit=100")).items.length;
  const page = await open(t, admin, "3-double-click");
  const keys = [];
  page.on("request", (r) => r.method() === "POST" && r.url().endsWith("/v1/purchases") && keys.push(r.headers()["idempotency-key"]));
  const buyOneCrm = async () => {
    await page.getByLabel("Number of CRM to buy").fill("1");
    await page.getByRole("button", { name: "Purchase more licences" }).click();
    await page.getByRole("dialog").waitFor();
  };
  // A person's double click.
  await buyOneCrm();
  await page.locator("#approve").dblclick();
  await page.locator("#notice").waitFor();
  await page.getByRole("dialog").waitFor({ state: "hidden" });
  // Two clicks in one task, before the first's answer can arrive.
  await buyOneCrm();
  await page.locator("#approve").evaluate((button) => {
    button.click();
    button.click();
  });
  await page.getByRole("dialog").waitFor({ state: "hidden" });
  const after = await call(admin, "GET", "/v1/account");
  assert.equal(after.modules[0].purchased, before.modules[0].purchased + 2, "two approvals of two quotes, each once");
  assert.equal((await call(admin, "GET", "/v1/invoices?limit=100")).items.length, invoicesBefore + 2);
  assert.ok(keys.length >= 2 && keys.every((k) => k), `every approval carries a key: ${keys}`);
  assert.equal(new Set(keys).size, 2, `one key per quote: ${keys}`);
  assert.equal(await cell(page, "crm", 2).textContent(), String(before.modules[0].purchased + 2));
  assert.deepEqual(page.failures, []);
});

test("what is typed while the invoices and the log are still loading is kept, focus included", async (t) => {
  // The lists come after the numbers. Held back here until the user has typed, so their
  // arrival cannot be mistaken for a page that rebuilds itself under the user's hands.
  let release;
  const held = new Promise((resolve) => (release = resolve));
  const page = await open(
    t,
    admin,
    "3b-typing-while-loading",
    (p) =>
      p.route(/\/v1\/invoices/, async (route) => {
        await held;
        await route.continue();
      }),
    (p) => p.locator("#licences-table"),
  );
  await page.getByLabel("Number of CRM to buy").fill("1");
  await page.locator("#edit-licences").click();
  const next = page.getByLabel("Licences from the next period");
  await next.fill("12");
  release();
  await page.locator("#invoices-table tbody tr").first().waitFor();
  assert.equal(await page.getByLabel("Number of CRM to buy").inputValue(), "1");
  assert.equal(await next.inputValue(), "12");
  assert.equal(await next.evaluate((el) => el === document.activeElement), true, "the focus stays in the field being typed in");
  await page.keyboard.press("Escape");
  const quoted = page.waitForResponse((r) => r.url().endsWith("/v1/purchases/quotes"));
  await page.getByRole("button", { name: "Purchase more licences" }).click();
  const quote = await (await quoted).json();
  assert.deepEqual(quote.lines.map((l) => [l.pool, l.quantity]), [["crm", 1]]);
  const dialog = page.getByRole("dialog");
  await dialog.waitFor();
  await dialog.getByRole("button", { name: "Cancel" }).click();
  await dialog.waitFor({ state: "hidden" });
  assert.deepEqual(page.failures, []);
});

test("next period below the users in use warns, then lists who would lose their licence", async (t) => {
  const page = await open(t, admin, "4-next-period");
  // Back to what was bought afterwards, so the account is as the other tests expect.
  t.after(() => call(admin, "PUT", "/v1/next-period", { licences: 11 }));
  // Keyboard only: the pencil, a number, Enter.
  await page.locator("#edit-licences").focus();
  await page.keyboard.press("Enter");
  const input = page.getByLabel("Licences from the next period");
  assert.equal(await input.evaluate((el) => el === document.activeElement), true);
  await input.fill("0");
  await page.keyboard.press("Enter");
  await page.getByRole("alert").waitFor();
  assert.match(await page.getByRole("alert").textContent(), /at least 1 licence.*contact support to terminate your subscription/);
  assert.deepEqual(await lowContrast(page), [], "the error is readable");
  // R28: the preview as the user types, debounced: the last number typed is the one shown,
  // with the API's own seats and total.
  const previewed = page.waitForResponse(async (r) => r.url().endsWith("/v1/next-period/preview") && JSON.parse(r.request().postData() ?? "{}").licences === 9);
  await input.pressSequentially("19", { delay: 20 });
  await input.fill("9");
  const preview = await (await previewed).json();
  const api = await call(admin, "POST", "/v1/next-period/preview", { licences: 9 });
  assert.deepEqual(preview.seats_to_remove, api.seats_to_remove);
  assert.equal(preview.next_period_total, api.next_period_total);
  assert.deepEqual(api.seats_to_remove.map((s) => s.name), ["Jens Krogh", "Karen Lund"]);
  await page.locator("#next-licences-seats li").first().waitFor();
  assert.match(await page.locator("#next-licences-warning").textContent(), /^2 users in use would have no licence from/);
  assert.deepEqual(await page.locator("#next-licences-seats li").allTextContents(), ["Jens Krogh", "Karen Lund"]);
  const total = dkk(api.next_period_total).replace(".", "\\.");
  assert.match(await page.locator("#next-licences-preview").textContent(), new RegExp(`^Next period: ${total} per period, ${dkk(api.saving).replace(".", "\\.")} less than this period\\.$`));
  assert.equal((await call(admin, "GET", "/v1/account")).licences.next_period, 11, "a preview changes nothing");
  await page.shot("warning");
  await page.shotOf(page.locator('section[aria-labelledby="licences-h"]'), "readme-preview");
  assert.deepEqual(await lowContrast(page), [], "the warning is readable");
  const saved = page.waitForResponse((r) => r.url().endsWith("/v1/next-period"));
  await page.keyboard.press("Enter");
  const answer = await (await saved).json();
  assert.deepEqual(answer.seats_to_remove.map((s) => s.name), ["Jens Krogh", "Karen Lund"]);
  await page.locator("#notice li").first().waitFor();
  assert.match(await page.locator("#notice p").textContent(), /these users will have no licence/);
  assert.deepEqual(await page.locator("#notice li span").allTextContents(), ["Jens Krogh", "Karen Lund"]);
  // Each one with its Deactivate, named for a screen reader.
  assert.equal(await page.getByRole("button", { name: "Deactivate Karen Lund" }).count(), 2, "in the notice and in the users view");
  assert.equal(await cell(page, "licences", 5).locator(".value").textContent(), "9");
  await page.shot("removed-list");
});

test("a user whose role lacks licences.manage sees the numbers but no Buy column and no pencil", async (t) => {
  await call(admin, "PUT", "/v1/roles/viewer", { rights: ["account.view"] });
  await call(admin, "PUT", "/v1/users/u-01", { role: "viewer" });
  const page = await open(t, token("u-01", TENANT), "5-viewer");
  assert.equal(await cell(page, "licences", 2).textContent(), "11");
  assert.deepEqual(await page.locator("#licences-table thead th").allTextContents(), ["Item", "Bought", "In use", "Available", "Next period"]);
  assert.equal(await page.locator(".buy-col").count(), 0);
  assert.equal(await page.locator("button.pencil").count(), 0);
  assert.equal(await page.getByRole("button", { name: "Purchase more licences" }).count(), 0);
  await page.shot("no-buy-column");
});

test("the page speaks Danish, every input has a label and focus is visible", async (t) => {
  const page = await open(t, admin, "6-danish");
  await page.getByLabel("Language").selectOption("da");
  assert.equal(await page.locator("h1").textContent(), "Licenser – Acme ApS");
  assert.equal(await page.locator("html").getAttribute("lang"), "da");
  assert.deepEqual(await page.locator("#licences-table thead th").allTextContents(), ["Type", "Købt", "I brug", "Ledige", "Næste periode", "Køb"]);
  assert.match(await page.locator("#invoices-table tbody td.num").first().textContent(), /^\d[\d.]*,\d\d DKK$/);
  const unlabelled = await page.evaluate(() =>
    [...document.querySelectorAll("input, select")].filter((el) => el.labels.length === 0 && !el.getAttribute("aria-label")).map((el) => el.id),
  );
  assert.deepEqual(unlabelled, []);
  await page.locator("#edit-licences").focus();
  await page.keyboard.press("Tab");
  const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
  assert.notEqual(outline, "none");
  await page.shot("danish");
});

test("a token in the link is taken only when config.json says local", async (t) => {
  // As deployed: the stack's config.json has no `local`.
  const page = await open(
    t,
    admin,
    "signed-out",
    (p) => p.route("**/config.json", (route) => route.fulfill({ contentType: "application/json", body: JSON.stringify({ api_base: "", oidc: null }) })),
    (p) => p.getByText("You are not signed in."),
  );
  assert.equal(await page.locator("#licences-table").count(), 0);
  assert.ok(!page.url().includes("token="), "the token leaves the address bar");
});

test("a tenant with 130 users without a licence: the page lists 100 and the count, Show more lists the rest", async (t) => {
  const tenant = `${TENANT}-big`;
  const today = new Intl.DateTimeFormat("en-CA", { timeZone: "Europe/Copenhagen" }).format(new Date());
  await call(token("operator-1", undefined, "licensing/operator"), "POST", "/v1/tenants", {
    tenant_id: tenant,
    name: "Big ApS",
    currency: "DKK",
    time_zone: "Europe/Copenhagen",
    period_length: "monthly",
    period_start: `${today.slice(0, 8)}01`,
    pools: { licences: { name: "Licences", unit_price: 12900, purchased: 1 } },
    administrator: { user_id: "ada", name: "Ada Admin", email: "ada@example.com", language: "en" },
  });
  const bigAdmin = token("ada", tenant);
  const users = Array.from({ length: 130 }, (_, i) => {
    const id = `r-${String(i + 1).padStart(3, "0")}`;
    return { user_id: id, name: `Red ${id}`, email: `${id}@example.com` };
  });
  for (let i = 0; i < users.length; i += 10) {
    await call(bigAdmin, "POST", "/v1/users/batch", { users: users.slice(i, i + 10) });
  }
  const account = await call(bigAdmin, "GET", "/v1/account");
  assert.equal(account.licences.over_allocated_count, 130);
  const page = await open(t, bigAdmin, "9-red-paging");
  const rows = page.locator("#reds tbody tr");
  assert.equal(await rows.count(), 100);
  assert.match(await page.locator("#reds-shown-licences").textContent(), /100 of 130/);
  // A page of the users list holds 100 red users in id order, most of them among the 100
  // already shown: as many clicks as it takes (two pages of 100 for 130).
  for (let clicks = 0; (await page.locator("#reds-more").count()) > 0; clicks++) {
    assert.ok(clicks < 2, "two pages of 100 list 130");
    const listed = page.waitForResponse((r) => r.url().includes("/v1/users?licence_state=over_allocated") && r.status() === 200);
    // The page draws the section anew once it has read the answer: the marked one is gone then.
    await page.locator("#reds").evaluate((section) => (section.dataset.drawn = "before"));
    await page.locator("#reds-more").click();
    await listed;
    await page.locator("#reds:not([data-drawn])").waitFor();
  }
  assert.equal(await rows.count(), 130);
  const ids = await rows.evaluateAll((trs) => trs.map((tr) => tr.dataset.user));
  assert.equal(new Set(ids).size, 130, "each red user once");
  assert.match(await page.locator("#reds-shown-licences").textContent(), /130 of 130/);
  assert.equal(await page.locator("#reds-more").count(), 0, "nothing more to show");
  await page.shot("all");
  assert.deepEqual(page.failures, []);
  await call(token("operator-1", undefined, "licensing/operator"), "POST", `/v1/tenants/${tenant}/terminate`);
});

const operator = token("operator-1", undefined, "licensing/operator");

/** A tenant of its own for a test: `licences` bought, `users` created in order after Ada. */
async function tenantWith(suffix, licences, users, lang = "en") {
  const tenant = `${TENANT}-${suffix}`;
  const today = new Intl.DateTimeFormat("en-CA", { timeZone: "Europe/Copenhagen" }).format(new Date());
  await call(operator, "POST", "/v1/tenants", {
    tenant_id: tenant,
    name: "Fjord ApS",
    currency: "DKK",
    time_zone: "Europe/Copenhagen",
    period_length: "monthly",
    period_start: `${today.slice(0, 8)}01`,
    pools: { licences: { name: "Licences", unit_price: 12900, purchased: licences }, crm: { name: "CRM", unit_price: 4900, purchased: 1 } },
    administrator: { user_id: "ada", name: "Ada Admin", email: "ada@example.com", language: lang },
  });
  const bearer = token("ada", tenant);
  for (const [i, name] of users.entries()) {
    const id = `f-${String(i + 1).padStart(2, "0")}`;
    await call(bearer, "POST", "/v1/users", { user_id: id, name, email: `${id}@example.com` });
  }
  return { tenant, bearer };
}

test("deactivating a red user from the page asks first, then the counts and the lists update at once", async (t) => {
  const { bearer } = await tenantWith("deact", 2, ["Liv Moe", "Mads Nør"]);
  const page = await open(t, bearer, "10-deactivate-red");
  assert.match(await cell(page, "licences", 3).textContent(), /^3\s*1 without a licence$/);
  const reds = page.locator("#reds tbody tr");
  assert.equal(await reds.count(), 1);
  assert.equal(await reds.locator("th").textContent(), "Mads Nør");
  // Nothing downscaled: the next period takes no licence from anyone, so no warning (R28);
  // the red user is listed with his deadline instead.
  assert.equal(await page.locator("#short-licences").count(), 0);
  await page.locator("#users-table").waitFor();
  // Cancel changes nothing.
  await reds.getByRole("button", { name: "Deactivate Mads Nør" }).click();
  const dialog = page.getByRole("dialog", { name: "Deactivate Mads Nør?" });
  await dialog.waitFor();
  await page.shot("confirm");
  assert.deepEqual(await lowContrast(page), [], "the confirmation is readable");
  await dialog.getByRole("button", { name: "Cancel" }).click();
  await dialog.waitFor({ state: "hidden" });
  assert.equal((await call(bearer, "GET", "/v1/account")).licences.in_use, 3);
  // Confirmed: deactivated, and the page shows it without a reload.
  await reds.getByRole("button", { name: "Deactivate Mads Nør" }).click();
  const done = page.waitForResponse((r) => r.url().endsWith("/v1/users/f-02/deactivate"));
  await dialog.getByRole("button", { name: "Deactivate" }).click();
  assert.equal((await done).status(), 200);
  await page.locator("#notice").getByText("Mads Nør is deactivated.").waitFor();
  assert.equal(await cell(page, "licences", 3).textContent(), "2");
  assert.equal(await cell(page, "licences", 4).textContent(), "0");
  assert.equal(await page.locator("#reds tbody tr").count(), 0);
  assert.equal(await page.locator('#users-table tr[data-user="f-02"] td').nth(2).textContent(), "Inactive");
  const account = await call(bearer, "GET", "/v1/account");
  assert.equal(account.licences.in_use, 2);
  assert.equal(account.licences.over_allocated_count, 0);
  await page.shot("after");
  assert.deepEqual(page.failures, []);
});

test("the users view works from the keyboard alone: filter, deactivate, activate, role and modules", async (t) => {
  const { bearer } = await tenantWith("keys", 2, ["Nina Ohm", "Ole Pihl"]);
  await call(bearer, "PUT", "/v1/roles/viewer", { rights: ["account.view"] });
  const page = await open(t, bearer, "11-users-keyboard");
  await page.locator("#users-table").waitFor();
  assert.deepEqual(await page.locator("#users-table tbody th").evaluateAll((ths) => ths.map((th) => th.firstChild.textContent)), ["Ada Admin", "Nina Ohm", "Ole Pihl"]);
  // From the section's filter onwards, only keys. The first ArrowDown's list (licensed)
  // answers last, after the keyboard has moved on: held back here so that its late arrival
  // (seen under load) is always tested, it must neither redraw the list nor take the focus.
  let releaseStale;
  const staleHeld = new Promise((resolve) => (releaseStale = resolve));
  const staleUrl = /\/v1\/users\?limit=50&licence_state=licensed/;
  await page.route(staleUrl, async (route) => {
    await staleHeld;
    await route.continue();
  });
  await page.locator("#users-filter").focus();
  const filtered = page.waitForResponse((r) => r.url().includes("/v1/users?limit=50&licence_state=over_allocated") && r.status() === 200);
  await page.keyboard.press("ArrowDown");
  await page.keyboard.press("ArrowDown");
  await filtered;
  // The answer's headers come before the page has read its body and drawn it.
  await page.waitForFunction(() => document.querySelectorAll("#users-table tbody tr").length === 1);
  assert.equal(await page.locator('#users-table tbody tr[data-user="f-02"]').count(), 1);
  assert.equal(await page.evaluate(() => document.activeElement?.id), "users-filter", "the focus stays on the filter");
  await page.keyboard.press("Tab");
  assert.equal(await page.evaluate(() => document.activeElement?.getAttribute("aria-label")), "Deactivate Ole Pihl");
  const stale = page.waitForEvent("requestfinished", (r) => staleUrl.test(r.url()));
  releaseStale();
  await stale;
  await page.evaluate(() => new Promise((resolve) => setTimeout(resolve, 100)));
  await page.unroute(staleUrl);
  assert.equal(await page.locator("#users-table tbody tr").count(), 1, "the superseded list is not drawn");
  assert.equal(await page.evaluate(() => document.activeElement?.getAttribute("aria-label")), "Deactivate Ole Pihl", "a superseded list leaves the focus alone");
  await page.keyboard.press("Enter");
  await page.getByRole("dialog", { name: "Deactivate Ole Pihl?" }).waitFor();
  assert.equal(await page.evaluate(() => document.activeElement?.id), "ask-yes", "the dialog opens on its action");
  await page.keyboard.press("Escape");
  await page.getByRole("dialog").waitFor({ state: "hidden" });
  assert.equal((await call(bearer, "GET", "/v1/account")).licences.in_use, 3, "Escape deactivates no one");
  await page.keyboard.press("Enter");
  await page.getByRole("dialog", { name: "Deactivate Ole Pihl?" }).waitFor();
  await page.keyboard.press("Enter");
  await page.locator("#notice").getByText("Ole Pihl is deactivated.").waitFor();
  assert.equal(await page.locator("#users-table").count(), 0, "no user is without a licence now");
  // All users again; Ole activated back with the keyboard.
  await page.locator("#users-filter").focus();
  const all = page.waitForResponse((r) => r.url().includes("/v1/users?limit=50") && !r.url().includes("licence_state") && r.status() === 200);
  await page.keyboard.press("Home");
  await all;
  await page.locator('#users-table tr[data-user="f-02"]').waitFor();
  const activate = page.getByRole("button", { name: "Activate Ole Pihl" });
  await activate.focus();
  await page.keyboard.press("Enter");
  await page.getByRole("dialog", { name: "Activate Ole Pihl?" }).waitFor();
  assert.match(await page.locator("#ask-text").textContent(), /No licence is available/);
  await page.keyboard.press("Enter");
  await page.locator("#notice").getByText("Ole Pihl is active, without a licence.").waitFor();
  assert.equal(await cell(page, "licences", 3).locator(".badge").textContent(), "1 without a licence");
  // Role and modules: Change opens the form on the role.
  await page.getByRole("button", { name: "Change role and modules of Nina Ohm" }).focus();
  await page.keyboard.press("Enter");
  assert.equal(await page.evaluate(() => document.activeElement?.id), "role-f-01");
  await page.keyboard.press("ArrowDown");
  await page.keyboard.press("Tab");
  assert.equal(await page.evaluate(() => document.activeElement?.id), "module-f-01-crm");
  await page.keyboard.press("Space");
  const saved = page.waitForResponse((r) => r.url().endsWith("/v1/users/f-01") && r.request().method() === "PUT");
  await page.keyboard.press("Tab");
  await page.keyboard.press("Enter");
  const user = await (await saved).json();
  assert.equal(user.role, "viewer");
  assert.deepEqual(user.modules, ["crm"]);
  await page.locator("#notice").getByText("Nina Ohm is saved.").waitFor();
  assert.match(await page.locator('#users-table tr[data-user="f-01"]').textContent(), /viewer.*CRM/);
  await page.shot("done");
  await page.shotOf(page.locator("#users"), "readme-users");
  assert.deepEqual(await lowContrast(page), [], "the users view is readable");
  assert.deepEqual(page.failures, []);
});

test("the users view in Danish: words, licence states and deadlines in the tenant's time zone", async (t) => {
  const { bearer } = await tenantWith("da", 1, ["Per Quist"], "da");
  const account = await call(bearer, "GET", "/v1/account");
  const deadline = new Date(account.licences.over_allocated[0].deadline);
  const page = await open(t, bearer, "12-users-danish");
  await page.getByLabel("Language").selectOption("da");
  await page.locator("#users-table").waitFor();
  assert.equal(await page.locator("#users-h").textContent(), "Brugere");
  assert.deepEqual(await page.locator("#users-table thead th").allTextContents(), ["Bruger", "Rolle", "Moduler", "Licens", "Handlinger"]);
  assert.deepEqual(await page.locator("#users-filter option").allTextContents(), ["Alle brugere", "Med licens", "Uden licens", "Inaktive"]);
  const shown = new Intl.DateTimeFormat("da-DK", { day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit", timeZone: "Europe/Copenhagen", timeZoneName: "short" }).format(deadline);
  assert.equal(await page.locator('#users-table tr[data-user="f-01"] td.deadline').textContent(), `Uden licens: deaktiveres ${shown}`);
  assert.equal(await page.locator('#users-table tr[data-user="ada"] td').nth(0).textContent(), "Administrator");
  assert.equal(await page.getByRole("button", { name: "Deaktivér Per Quist" }).count(), 2, "beside the red user and in the users view");
  await page.shot("danish");
  assert.deepEqual(await lowContrast(page), [], "readable in Danish too");
  assert.deepEqual(page.failures, []);
});

test("a user whose mail bounced for good is marked in the users view (SES's event through the dispatcher)", async (t) => {
  const { tenant, bearer } = await tenantWith("bounce", 2, ["Rut Sand"]);
  // The event SES publishes to the default bus, as the SesFeedback rule hands it to the
  // dispatcher: the mail's tags name the tenant (hexadecimal).
  const bounce = {
    version: "0", id: `bounce-${tenant}`, "detail-type": "Email Bounced", source: "aws.ses", account: "123456789012",
    time: new Date().toISOString(), region: "eu-west-1", resources: [],
    detail: {
      eventType: "Bounce",
      bounce: { bounceType: "Permanent", bounceSubType: "NoEmail", timestamp: new Date().toISOString(),
        bouncedRecipients: [{ emailAddress: "F-01@Example.com", diagnosticCode: "smtp; 550 5.1.1 user unknown" }] },
      mail: { timestamp: new Date().toISOString(), destination: ["f-01@example.com"], tags: { tenant: [Buffer.from(tenant).toString("hex")] } },
    },
  };
  const invoked = await fetch(`${API}/2015-03-31/functions/dispatcher/invocations`, { method: "POST", body: JSON.stringify(bounce) });
  assert.equal(invoked.status, 200, await invoked.text());
  const page = await open(t, bearer, "13-mail-suppressed");
  await page.locator("#users-table").waitFor();
  const mark = page.locator('#users-table tr[data-user="f-01"] .suppressed');
  assert.equal(await mark.textContent(), "Mail to this address bounces: none is sent");
  assert.match(await mark.getAttribute("title"), /^permanent bounce \(NoEmail\): smtp; 550/);
  assert.equal(await page.locator('#users-table tr[data-user="ada"] .suppressed').count(), 0);
  await page.shot("bounced");
  assert.deepEqual(await lowContrast(page), [], "the mark is readable");
  assert.deepEqual(page.failures, []);
});

test("an administrator makes a provisioning token, sees it once, and the users its identity provider makes are marked (R34)", async (t) => {
  const { bearer } = await tenantWith("scim", 2, []);
  // The first list of the tokens is read, and its answer held back until one is made: that
  // late, empty answer must not hide the new token.
  let release;
  const held = new Promise((resolve) => (release = resolve));
  const page = await open(
    t,
    bearer,
    "16-provisioning",
    (p) =>
      p.route(/\/v1\/scim-tokens$/, async (route) => {
        if (route.request().method() !== "GET") return route.continue();
        const response = await route.fetch();
        await held;
        await route.fulfill({ response });
      }),
    (p) => p.locator("#provisioning"),
  );
  const section = page.locator("#provisioning");
  assert.equal(await section.locator("#scim-base").textContent(), `${API}/scim/v2`);
  assert.equal(await section.locator("#tokens-table").count(), 0, "no token yet");
  await page.locator("#token-name").fill("Microsoft Entra ID");
  await page.keyboard.press("Enter");
  await page.locator("#new-token-value").waitFor();
  release();
  await page.locator('html[data-loaded="yes"]').waitFor();
  assert.equal(await section.locator("#tokens-table tbody tr").count(), 1, "the late list does not hide the new token");
  const secret = await page.locator("#new-token-value").textContent();
  assert.match(secret, /^scim_[0-9a-f]{64}$/);
  assert.equal(await page.evaluate(() => document.activeElement?.id), "new-token", "the secret is where the keyboard is");
  await page.shotOf(section, "token-shown-once");
  assert.deepEqual(await lowContrast(page), []);
  // The identity provider provisions a user: marked in the users view as its own.
  const scim = await fetch(`${API}/scim/v2/Users`, {
    method: "POST",
    headers: { Authorization: `Bearer ${secret}`, "Content-Type": "application/scim+json" },
    body: JSON.stringify({ schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"], userName: "sol@fjord.example", displayName: "Sol Vang", emails: [{ value: "sol@fjord.example", primary: true }] }),
  });
  assert.equal(scim.status, 201, await scim.text());
  await page.locator("#token-done").click();
  assert.equal(await page.locator("#new-token").count(), 0, "shown once");
  await page.unrouteAll({ behavior: "wait" });
  await page.reload();
  await page.locator('html[data-loaded="yes"]').waitFor();
  const mark = page.locator("#users-table tr", { hasText: "Sol Vang" }).locator(".directory");
  assert.equal(await mark.textContent(), "Managed by Microsoft Entra ID");
  const row = page.locator("#tokens-table tbody tr");
  assert.equal(await row.count(), 1);
  assert.notEqual(await row.locator("td").nth(1).textContent(), "Not used yet", "the sync is seen");
  await row.locator("button").click();
  await page.locator("#ask-yes").click();
  await page.locator("#provisioning p", { hasText: "No tokens yet" }).waitFor();
  const refused = await fetch(`${API}/scim/v2/Users`, { headers: { Authorization: `Bearer ${secret}` } });
  assert.equal(refused.status, 401, "revoked at once");
  assert.deepEqual(page.failures, []);
});

test("an administrator adds a webhook endpoint, sees its secret once, and its attempts, resends, rotates and turns it off (R38)", async (t) => {
  const RECEIVER = process.env.LICENSING_TEST_WEBHOOK_RECEIVER;
  assert.ok(RECEIVER, "LICENSING_TEST_WEBHOOK_RECEIVER: the test command starts the receiver");
  const { tenant, bearer } = await tenantWith("hooks", 2, []);
  const box = `${tenant}-page`;
  const page = await open(t, bearer, "17-webhooks", undefined, (p) => p.locator('html[data-loaded="yes"] #webhooks'));
  const section = page.locator("#webhooks");
  assert.equal(await section.locator("#webhooks-table").count(), 0, "none yet");
  await page.locator("#webhook-url").fill(`${RECEIVER}/${box}`);
  await page.locator("#webhook-description").fill("ERP");
  await page.locator("#webhook-add").click();
  const secret = await page.locator("#new-secret-value").textContent();
  assert.match(secret, /^whsec_[A-Za-z0-9+/]{43}=$/);
  assert.equal(await page.evaluate(() => document.activeElement?.id), "new-secret", "the secret is where the keyboard is");
  await page.shotOf(section, "secret-shown-once");
  assert.deepEqual(await lowContrast(page), []);
  // The receiver verifies with the secret (the published standardwebhooks library).
  const configure = (status) =>
    fetch(`${RECEIVER}/_boxes/${box}`, { method: "PUT", body: JSON.stringify({ secrets: [secret], status }) });
  await configure(204);
  await page.locator("#secret-done").click();
  assert.equal(await page.locator("#new-secret").count(), 0, "shown once");
  const row = section.locator("#webhooks-table tbody tr");
  assert.equal(await row.count(), 1);
  await row.locator("button", { hasText: "Send test" }).click();
  await page.locator("#notice", { hasText: "A test message is on its way" }).waitFor();
  // The attempt arrives in the history.
  // The history is read when asked for: asked again until the dispatcher's attempt is in it
  // (late in a test run the local stream reader can be a minute behind).
  let attempts = 0;
  for (const until = Date.now() + 120_000; attempts === 0 && Date.now() < until; ) {
    await page.evaluate(() => document.getElementById("attempts")?.remove());
    await row.locator("button", { hasText: "Recent attempts" }).click();
    await page.locator("#attempts").waitFor();
    attempts = await page.locator("#attempts-table tbody tr").count();
    if (attempts === 0) await new Promise((r) => setTimeout(r, 200));
  }
  assert.equal(attempts, 1);
  const attempt = page.locator("#attempts-table tbody tr");
  assert.equal(await attempt.locator("td").nth(1).textContent(), "WebhookTest");
  assert.equal(await attempt.locator("td").nth(2).textContent(), "204");
  await attempt.locator("button", { hasText: "Send again" }).click();
  await page.locator("#notice", { hasText: "on its way again" }).waitFor();
  const received = async () => (await (await fetch(`${RECEIVER}/_boxes/${box}`)).json()).received;
  for (const until = Date.now() + 120_000; (await received()).length < 2 && Date.now() < until; ) await new Promise((r) => setTimeout(r, 100));
  const got = await received();
  assert.equal(got.length, 2, JSON.stringify(got));
  assert.ok(got.every((d) => d.verified && d.id === got[0].id), "both verified, under one webhook-id");
  assert.equal(got[1].duplicate, true, "the receiver can tell the resend from a new message");
  // A new secret: asked first, then shown once.
  await row.locator("button", { hasText: "New secret" }).click();
  await page.locator("#ask-yes").click();
  const next = await page.locator("#new-secret-value").textContent();
  assert.notEqual(next, secret);
  assert.match(await row.locator(".webhook-state").textContent(), /previous secret also signs until/);
  await page.locator("#secret-done").click();
  await row.locator("button", { hasText: "Turn off" }).click();
  await page.locator("#notice", { hasText: "turned off" }).waitFor();
  assert.equal(await row.locator(".webhook-state").textContent().then((s) => s.startsWith("Off")), true);
  await page.shotOf(section, "endpoint-off");
  assert.deepEqual(await lowContrast(page), []);
  await row.locator("button", { hasText: "Delete" }).click();
  await page.locator("#ask-yes").click();
  await page.locator("#webhooks p", { hasText: "No endpoints yet" }).waitFor();
  assert.deepEqual(page.failures, []);
});

test("the invoices and the whole action log download as CSV files a spreadsheet reads (R36)", async (t) => {
  const { bearer } = await tenantWith("csv", 1, ["Søren Ærø"]);
  const quote = await call(bearer, "POST", "/v1/purchases/quotes", { licences: 1 });
  const response = await fetch(`${API}/v1/purchases`, {
    method: "POST",
    headers: { Authorization: `Bearer ${bearer}`, "Content-Type": "application/json", "Idempotency-Key": `csv-${TENANT}` },
    body: JSON.stringify({ quote_id: quote.quote_id }),
  });
  assert.equal(response.status, 201, await response.text());
  const page = await open(t, bearer, "14-csv");
  const saved = async (id) => {
    const button = page.locator(`#${id}`);
    await button.waitFor();
    const [download] = await Promise.all([page.waitForEvent("download"), button.click()]);
    return { name: download.suggestedFilename(), text: readFileSync(await download.path(), "utf8") };
  };
  const invoices = await saved("invoices-csv");
  assert.match(invoices.name, /^invoices-.*\.csv$/);
  assert.ok(invoices.text.startsWith("\uFEFFinvoice_id,issued_at,issued_at_Europe/Copenhagen,kind,"), invoices.text.slice(0, 80));
  const lines = invoices.text.slice(1).trimEnd().split("\r\n");
  assert.equal(lines.length, 2, "the header and the purchase's line");
  assert.match(lines[1], /,purchase,.*,DKK,licences,Licences,1,129\.00,/);
  const log = await saved("action-log-csv");
  assert.ok(log.text.startsWith("\uFEFFentry_id,at,"), log.text.slice(0, 40));
  assert.deepEqual(
    log.text.trimEnd().split("\r\n").slice(1).map((l) => l.split(",")[4]),
    ["tenant.created", "user.created", "licences.purchased"],
  );
  assert.equal(await page.locator(".csv-status").first().textContent(), "");
  assert.deepEqual(page.failures, []);
});

/** A calendar date as the page shows it in English. */
const shown = (iso) => new Intl.DateTimeFormat("en-GB", { day: "numeric", month: "short", year: "numeric", timeZone: "UTC" }).format(new Date(`${iso}T00:00:00Z`));

test("each pool's usage chart draws the API's readings, a day's numbers from the keyboard (R37)", async (t) => {
  const { tenant, bearer } = await tenantWith("usage", 3, ["Tove Uhd", "Uffe Vang"]);
  // 90 days as the sweep would have read them (the tenant is new): target/debug/seed-usage.
  const seed = fileURLToPath(new URL("../../target/debug/seed-usage", import.meta.url));
  assert.match(execFileSync(seed, ["--tenant", tenant], { encoding: "utf8" }), /^\d+ days of usage/);
  const usage = await call(bearer, "GET", "/v1/usage");
  const page = await open(t, bearer, "15-usage");
  const chart = page.locator("#usage-licences-chart");
  await chart.waitFor();
  const drawn = await page.locator("#usage-licences-chart circle").evaluateAll((points) => points.map((p) => [p.dataset.date, p.dataset.purchased, p.dataset.inUse]));
  const licences = usage.pools.find((p) => p.pool === "licences");
  const text = (n) => (n === null ? "" : String(n));
  assert.deepEqual(drawn, licences.days.map((d) => [d.date, text(d.purchased), text(d.in_use)]));
  assert.ok(drawn.length >= 80 && drawn.some((d) => d[2] === ""), "90 days, some missing");
  assert.equal(await page.locator('figure.usage[data-pool="crm"] svg circle').count(), usage.pools.find((p) => p.pool === "crm").days.length);
  const caption = await page.locator('figure.usage[data-pool="licences"] figcaption').textContent();
  assert.ok(caption.includes(`Peak: ${licences.peak.in_use} in use on ${shown(licences.peak.date)}`), caption);
  assert.ok(caption.includes(`Next period: ${licences.next_period}`), caption);

  // The keyboard walks the days; the readout says each.
  const readout = page.locator("#usage-licences-readout");
  await chart.focus();
  await page.keyboard.press("Home");
  const [first] = licences.days;
  assert.equal(await readout.textContent(), `${shown(first.date)}: ${first.purchased} bought, ${first.in_use} in use`);
  const gap = licences.days.findIndex((d) => d.in_use === null);
  for (let i = 0; i < gap; i++) await page.keyboard.press("ArrowRight");
  assert.equal(await readout.textContent(), `${shown(licences.days[gap].date)}: no reading`);
  assert.match(await chart.getAttribute("aria-labelledby"), /usage-licences-title usage-licences-desc/);
  await page.shotOf(page.locator("#usage-section"), "chart");

  // Every number as a table too, and the words in Danish.
  await page.locator('figure.usage[data-pool="licences"] summary').click();
  const rows = page.locator('figure.usage[data-pool="licences"] tbody tr');
  assert.equal(await rows.count(), licences.days.length);
  await page.selectOption("#lang", "da");
  assert.equal(await page.locator("#usage-h").textContent(), "Forbrug de seneste 90 dage");
  assert.deepEqual(await lowContrast(page), []);
  assert.deepEqual(page.failures, []);
});

test("a purchase above the limit waits; another manager approves it from the page, and it is bought once (R35)", async (t) => {
  const { tenant, bearer } = await tenantWith("limit", 2, []);
  await call(bearer, "POST", "/v1/users", { user_id: "cy", name: "Cy Clausen", email: "cy@example.com", role: "administrator" });
  const cy = token("cy", tenant);

  // Ada sets the limit on the page: 100.00 DKK.
  const ada = await open(t, bearer, "16-limit");
  await ada.fill("#approval-limit", "100");
  await ada.click("#limit-save");
  await ada.locator("#notice").getByText("Saved: purchases above 100.00 DKK wait for a second manager.").waitFor();
  assert.equal((await call(bearer, "GET", "/v1/account")).approval_threshold, 10000);

  // Her purchase of 2 licences is above it: nothing is bought, and she cannot approve it.
  await ada.fill("#buy-licences", "2");
  await ada.click("#purchase-more");
  await ada.click("#approve");
  await ada.locator("#notice").getByText(/is above the limit: it waits for another manager/).waitFor();
  const [request] = (await call(bearer, "GET", "/v1/purchase-requests")).items;
  assert.equal(request.status, "pending");
  const row = ada.locator(`#requests-table tr[data-request="${request.purchase_request_id}"]`);
  await row.waitFor();
  assert.equal(await row.locator(`#approve-${request.purchase_request_id}`).count(), 0, "no Approve for her own");
  assert.match(await row.textContent(), /Waits for another manager/);
  assert.equal((await call(bearer, "GET", "/v1/account")).licences.purchased, 2);
  await ada.shotOf(ada.locator("#requests-section"), "waiting");

  // Cy sees today's price and approves it; a second click buys nothing more.
  const page = await open(t, cy, "16-limit-approver");
  const approve = page.locator(`#approve-${request.purchase_request_id}`);
  await approve.waitFor();
  assert.equal(await page.locator(`tr[data-request="${request.purchase_request_id}"] .request-total`).textContent(), dkk(request.total));
  await approve.dblclick();
  await page.locator("#notice").getByText(/^Approved and bought: /).waitFor();
  const account = await call(cy, "GET", "/v1/account");
  assert.equal(account.licences.purchased, 4);
  assert.equal((await call(cy, "GET", "/v1/invoices")).items.length, 1, "bought once");
  assert.equal(await page.locator("#requests-table").count(), 0, "nothing waits any more");
  assert.deepEqual(await lowContrast(ada), []);
  assert.deepEqual(ada.failures, []);
  assert.deepEqual(page.failures, []);
});

test("invoices page with Show more, and an invoice opens as a printable A4 view", async (t) => {
  const { bearer } = await tenantWith("inv", 1, []);
  // 22 purchases, 22 invoices: more than the list's first 20.
  for (let i = 0; i < 22; i++) {
    const quote = await call(bearer, "POST", "/v1/purchases/quotes", { modules: { crm: 1 } });
    const response = await fetch(`${API}/v1/purchases`, {
      method: "POST",
      headers: { Authorization: `Bearer ${bearer}`, "Content-Type": "application/json", "Idempotency-Key": `inv-${i}-${quote.quote_id}` },
      body: JSON.stringify({ quote_id: quote.quote_id }),
    });
    assert.equal(response.status, 201, await response.text());
  }
  const all = (await call(bearer, "GET", "/v1/invoices?limit=100")).items;
  assert.equal(all.length, 22);
  const page = await open(t, bearer, "13-invoices");
  const rows = page.locator("#invoices-table tbody tr");
  await rows.first().waitFor();
  assert.equal(await rows.count(), 20);
  const more = page.waitForResponse((r) => r.url().includes("/v1/invoices?limit=20&cursor=") && r.status() === 200);
  await page.locator("#invoices-more").click();
  await more;
  await rows.nth(21).waitFor();
  assert.equal(await rows.count(), 22);
  assert.deepEqual(await rows.locator("th").allTextContents(), all.map((i) => i.invoice_id), "newest first, each once");
  assert.equal(await page.locator("#invoices-more").count(), 0, "nothing more to show");
  assert.equal(await page.evaluate(() => document.activeElement?.textContent), all[20].invoice_id, "the focus is on the first new row");
  // The oldest invoice, opened from its link.
  const oldest = all[21];
  const opened = page.waitForResponse((r) => r.url().endsWith(`/v1/invoices/${oldest.invoice_id}`) && r.status() === 200);
  await page.getByRole("link", { name: `Open invoice ${oldest.invoice_id}` }).click();
  const invoice = await (await opened).json();
  assert.deepEqual(invoice, oldest);
  await page.locator("#invoice").waitFor();
  assert.equal(await page.locator("#invoice-h").textContent(), `Invoice ${oldest.invoice_id}`);
  const line = oldest.lines[0];
  assert.deepEqual(await page.locator("#invoice-lines tbody td").allTextContents(), ["1", dkk(line.unit_price), `${line.days}/${line.days_in_period}`, dkk(line.amount)]);
  assert.equal(await page.locator("#invoice-total").textContent(), dkk(oldest.total));
  assert.match(await page.locator("#invoice dl").textContent(), /CustomerFjord ApS.*CurrencyDKK/);
  assert.deepEqual(await lowContrast(page), [], "the invoice is readable");
  await page.shot("invoice");
  // Printed: A4, the invoice alone.
  await page.emulateMedia({ media: "print" });
  assert.equal(await page.locator("#invoice-print").isVisible(), false, "no buttons on paper");
  assert.equal(await page.locator("header .lang").isVisible(), false);
  assert.equal(await page.locator("#licences-table").count(), 0);
  await page.setViewportSize({ width: 794, height: 1123 });
  await page.shot("print");
  const pdf = await page.pdf({ format: "A4", preferCSSPageSize: true });
  assert.ok(pdf.length > 1000);
  await page.emulateMedia({ media: "screen" });
  // An address others can open, and Back returns to the page.
  assert.ok(page.url().endsWith(`#invoice=${oldest.invoice_id}`));
  await page.goBack();
  await page.locator("#licences-table").waitFor();
  const missing = await fetch(`${API}/v1/invoices/inv-nope`, { headers: { Authorization: `Bearer ${bearer}` } });
  assert.equal(missing.status, 404);
  assert.equal((await missing.json()).code, "not_found");
  assert.deepEqual(page.failures, []);
});

test("an administrator sets the renewal reminder's notice on the page", async (t) => {
  const { bearer } = await tenantWith("remind", 1, []);
  const page = await open(t, bearer, "14-reminder");
  const days = page.getByLabel("Days before each period ends");
  assert.equal(await days.inputValue(), "7", "a week by default");
  // Out of bounds: the browser's own check (min 0, max 60) stops the form; nothing is sent.
  let sent = 0;
  page.on("request", (r) => r.url().endsWith("/v1/settings") && sent++);
  await days.fill("61");
  await page.locator("#reminder-save").click();
  assert.equal(await days.evaluate((el) => el.validity.rangeOverflow), true);
  assert.equal(sent, 0);
  await days.fill("14");
  const saved = page.waitForResponse((r) => r.url().endsWith("/v1/settings"));
  await days.press("Enter");
  assert.equal((await saved).status(), 200);
  await page.locator("#notice").getByText("Saved: the reminder comes 14 days before each period ends.").waitFor();
  assert.equal((await call(bearer, "GET", "/v1/account")).renewal_reminder_days, 14);
  assert.match(await page.locator("#reminder-hint").textContent(), /14 days before each period ends/);
  assert.deepEqual(await lowContrast(page), [], "readable");
  assert.deepEqual(page.failures, []);
});
