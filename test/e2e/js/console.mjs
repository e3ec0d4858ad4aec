// The web console in a real browser: Debian's chromium driven by
// playwright-core (no browser download: CHROMIUM is the system's binary).
// Run by test/e2e/console_test.go:
//
//   node console.mjs
//
// HADRON_ENDPOINT is the server; ADMIN_KEY/ADMIN_SECRET may do everything,
// READ_KEY/READ_SECRET only proton:Get* and proton:List*. ENVIRONMENT is an
// environment on the ticker template that has deployed once; SEARCH is a
// part of its name. Screenshots go to ARTIFACTS. Prints one JSON object of
// what it saw; exits 1, with the step that failed, on the first failure.
import { chromium } from "playwright-core";
import { ProtonClient, UpdateEnvironmentCommand } from "@aws-sdk/client-proton";
import { join } from "node:path";

const env = process.env;
const base = env.HADRON_ENDPOINT;
const name = env.ENVIRONMENT;
const seen = { steps: [], statuses: [] };
const timeout = 30_000;

const step = (what) => seen.steps.push(what);

function fail(err) {
  seen.error = `${seen.steps.at(-1) ?? "start"}: ${err?.stack ?? err}`;
  console.log(JSON.stringify(seen));
  process.exit(1);
}

async function shot(page, file) {
  await page.screenshot({ path: join(env.ARTIFACTS, file), fullPage: true });
}

async function signIn(page, key, secret) {
  await page.goto(`${base}/console/`);
  await page.waitForURL(/\/console\/signin/, { timeout });
  await page.fill("input[name=accessKeyId]", key);
  await page.fill("input[name=secretAccessKey]", secret);
  await Promise.all([page.waitForURL(/\/console\/environments$/, { timeout }), page.click("button[type=submit]")]);
}

const browser = await chromium.launch({
  executablePath: env.CHROMIUM,
  headless: true,
  // Root in a container: Chromium's own sandbox needs user namespaces
  // this machine may not give it.
  args: ["--no-sandbox", "--disable-dev-shm-usage"],
});
try {
  const admin = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await admin.newPage();
  page.setDefaultTimeout(timeout);

  step("sign in");
  await page.goto(`${base}/console/environments`);
  await page.waitForURL(/\/console\/signin/);
  await page.fill("input[name=accessKeyId]", env.ADMIN_KEY);
  await page.fill("input[name=secretAccessKey]", "not-the-secret");
  await page.click("button[type=submit]");
  await page.locator(".error", { hasText: "is wrong" }).waitFor();
  await signIn(page, env.ADMIN_KEY, env.ADMIN_SECRET);
  await shot(page, "environments.png");

  step("find the environment");
  await page.fill("input[name=q]", env.SEARCH);
  await Promise.all([page.waitForURL(/[?&]q=/), page.click("form.search button")]);
  const rows = await page.locator("table.list tbody tr").count();
  seen.searchRows = rows;
  await Promise.all([page.waitForURL(new RegExp(`/console/environments/${name}$`)), page.click(`a[href="/console/environments/${name}"]`)]);
  await page.locator("[data-status]", { hasText: "SUCCEEDED" }).first().waitFor();
  await shot(page, "environment.png");

  step("start an update through the API");
  const sdk = new ProtonClient({
    endpoint: base, region: "us-east-1", maxAttempts: 3,
    credentials: { accessKeyId: env.ADMIN_KEY, secretAccessKey: env.ADMIN_SECRET },
  });
  const out = await sdk.send(new UpdateEnvironmentCommand({
    name, deploymentType: "CURRENT_VERSION", spec: "proton: EnvironmentSpec\nspec:\n  seconds: 120\n",
  }));
  const id = out.environment.lastAttemptedDeploymentId;
  seen.deployment = id;

  step("follow the log");
  await page.reload();
  await Promise.all([page.waitForURL(new RegExp(`/console/deployments/${id}`)), page.click("a.follow")]);
  const log = page.locator("#log");
  await log.filter({ hasText: "tick 1" }).waitFor();
  const early = (await log.textContent()).length;
  // The page is not reloaded: its script appends what the log endpoint gives.
  await log.filter({ hasText: "tick 3" }).waitFor();
  seen.logGrew = (await log.textContent()).length > early;
  seen.specDiff = await page.locator(".diff .add").allTextContents();
  await shot(page, "deployment-live.png");
  const deploymentURL = page.url();

  step("a key without cancel sees no button, and a forged cancel is refused");
  const reader = await browser.newContext();
  const rpage = await reader.newPage();
  rpage.setDefaultTimeout(timeout);
  await signIn(rpage, env.READ_KEY, env.READ_SECRET);
  await rpage.goto(deploymentURL);
  await rpage.locator("[data-status]", { hasText: "IN_PROGRESS" }).waitFor();
  seen.readerCancelButtons = await rpage.locator("form.cancel").count();
  const csrf = await rpage.locator("form.signout input[name=csrf]").inputValue();
  const forged = await rpage.request.post(deploymentURL.replace(`/deployments/${id}`, `/deployments/${id}/cancel`), {
    form: { csrf, confirmed: "yes" }, maxRedirects: 0,
  });
  seen.forgedCancelStatus = forged.status();
  seen.forgedCancelBody = (await forged.text()).includes("not authorized to perform: proton:CancelEnvironmentDeployment");
  await reader.close();

  step("cancel");
  seen.cancelButtons = await page.locator("form.cancel").count();
  page.once("dialog", (d) => {
    seen.confirm = d.message();
    d.accept();
  });
  const badge = page.locator("#deployment [data-status]");
  await Promise.all([page.waitForURL(new RegExp(`/console/deployments/${id}`)), page.click("form.cancel button")]);
  await badge.filter({ hasText: /^CANCELLING$/ }).waitFor();
  seen.statuses.push(await badge.textContent());
  await shot(page, "deployment-cancelling.png");
  await badge.filter({ hasText: /^CANCELLED$/ }).waitFor({ timeout: 60_000 });
  seen.statuses.push(await badge.textContent());
  await page.locator("#log", { hasText: "SIGTERM" }).waitFor();
  seen.message = await page.locator("#deployment [data-message]").textContent();
  await shot(page, "deployment-cancelled.png");

  step("overview");
  // The README's screenshot (docs/console.png): the environments list with
  // one cancelled, one failed and one deploying. The viewport, not the
  // whole page, so that the file stays small.
  await page.goto(`${base}/console/environments`);
  await page.locator("table.list").waitFor();
  await page.screenshot({ path: join(env.ARTIFACTS, "overview.png"), clip: { x: 0, y: 0, width: 1280, height: 560 } });

  step("history and templates");
  await page.goto(`${base}/console/deployments?status=CANCELLED`);
  seen.cancelledListed = await page.locator(`a[href*="${id}"]`).count();
  seen.startedBy = (await page.locator("td.starter").first().textContent()).trim();
  await shot(page, "deployments.png");
  await page.goto(`${base}/console/templates`);
  await shot(page, "templates.png");

  step("sign out");
  await Promise.all([page.waitForURL(/\/console\/signin/), page.click("form.signout button")]);
  await page.goto(`${base}/console/environments`);
  seen.signedOut = /\/console\/signin/.test(page.url());
  step("done");
  console.log(JSON.stringify(seen));
} catch (err) {
  fail(err);
} finally {
  await browser.close();
}
