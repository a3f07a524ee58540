/**
 * Monitoring against a real hub: the hub probes a tiny HTTP service of the test's own every
 * second, fires the `web-down` alert into a webhook the test also runs, and rolls the `svc/**`
 * resources up. The service fails and recovers on command; the Alerts page shows the alert
 * while it fires and drops it once resolved, and the webhook gets one firing and one resolved
 * POST. The hub reads all of it from a TOML file (`--config`).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AlertReceiver } from "./support/alertReceiver";
import { launchBrowser, openPage, screenshot, waitForLink } from "./support/browser";
import { HealthTarget } from "./support/healthTarget";
import { HubProcess } from "./support/hubProcess";
import { waitForStatus } from "./support/rest";

const PROBED = "svc/e2e/web";
const ALERT_RESOURCE = "alert/web-down/svc.e2e.web";
/** A probe runs every second: a few of them are plenty for any change to show. */
const WITHIN_MS = 15_000;

function monitoringConfig(target: string, hook: string): string {
  return `[[probe]]
resource = "${PROBED}"
kind = "http"
target = "${target}"
interval = "1s"
timeout = "500ms"

[[alert]]
name = "web-down"
pattern = "svc/**"
on = ["down"]
url = "${hook}"
after = "0s"

[[rollup]]
resource = "rollup/services"
pattern = "svc/**"
`;
}

const alertRow = (state: string) => `[data-alert="${ALERT_RESOURCE}"][data-state="${state}"]`;

describe("monitoring against a real hub", () => {
  let target: HealthTarget;
  let receiver: AlertReceiver;
  let configDir: string;
  let hub: HubProcess;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    target = await HealthTarget.start();
    receiver = await AlertReceiver.start();
    configDir = mkdtempSync(join(tmpdir(), "fillstack-e2e-config-"));
    const config = join(configDir, "fillstack.toml");
    writeFileSync(config, monitoringConfig(target.url, receiver.url));
    hub = new HubProcess({ flags: ["--config", config] });
    await hub.start();
    browser = await launchBrowser();
    page = await openPage(browser, `${hub.httpUrl}/#/alerts`);
    await waitForLink(page, "live");
  });

  afterAll(async () => {
    await browser.close();
    await hub.stop();
    await receiver.stop();
    await target.stop();
    rmSync(configDir, { recursive: true, force: true });
  });

  it("probes the target and shows the probe on the resource's detail", async () => {
    await waitForStatus(hub.httpUrl, PROBED, "up", WITHIN_MS);
    expect(target.checks).toBeGreaterThan(0);

    await page.goto(`${hub.httpUrl}/#/resources/${PROBED}`);
    const probe = page.getByRole("region", { name: "Probe" });
    await probe.waitFor({ timeout: WITHIN_MS });
    expect(await probe.textContent()).toContain(target.url);
    expect(await probe.textContent()).toContain("every 1 s");
    await page.getByRole("region", { name: "Uptime" }).getByTestId("uptime-strip").waitFor();
    console.log(`screenshot: ${await screenshot(page, "probe-up")}`);
  });

  it("fires the alert when the target fails, and shows it on the Alerts page", async () => {
    target.status = 500;
    const down = await waitForStatus(hub.httpUrl, PROBED, "down", WITHIN_MS);
    expect(down.fields).toMatchObject({ code: 500 });

    await page.goto(`${hub.httpUrl}/#/alerts`);
    const row = page.locator(alertRow("firing"));
    await row.waitFor({ timeout: WITHIN_MS });
    expect(await row.textContent()).toContain("web-down");
    expect(await row.getByRole("link", { name: PROBED }).getAttribute("href")).toBe(
      `#/resources/${PROBED}`,
    );
    console.log(`screenshot: ${await screenshot(page, "alert-firing")}`);

    await page.goto(`${hub.httpUrl}/#/resources/${PROBED}`);
    await page.getByTestId("probe-error").waitFor({ timeout: WITHIN_MS });

    await page.goto(`${hub.httpUrl}/#/`);
    await page
      .locator('[data-testid="rollup-card"][data-status="down"]')
      .waitFor({ timeout: WITHIN_MS });
    console.log(`screenshot: ${await screenshot(page, "overview-rollup-down")}`);
  });

  it("resolves the alert when the target recovers: it leaves the firing list live", async () => {
    await page.goto(`${hub.httpUrl}/#/alerts`);
    await page.locator(alertRow("firing")).waitFor({ timeout: WITHIN_MS });

    target.status = 200;
    await waitForStatus(hub.httpUrl, PROBED, "up", WITHIN_MS);
    await page.locator(alertRow("firing")).waitFor({ state: "detached", timeout: WITHIN_MS });
    await page.getByTestId("alerts-empty").waitFor({ timeout: WITHIN_MS });

    await page.getByRole("button", { name: /Recently resolved/ }).click();
    await page.locator(alertRow("resolved")).waitFor({ timeout: WITHIN_MS });
    console.log(`screenshot: ${await screenshot(page, "alert-resolved")}`);
  });

  it("sent the webhook exactly one firing and one resolved POST", async () => {
    await receiver.waitForPosts(2, WITHIN_MS);
    // Three more probe intervals: a repeated firing or resolve would arrive in them.
    await new Promise((settle) => setTimeout(settle, 3000));
    expect(receiver.bodies.map((body) => body.state)).toEqual(["firing", "resolved"]);
    for (const body of receiver.bodies) {
      expect(body).toMatchObject({ alert: "web-down", resource: PROBED });
    }
  });
});
