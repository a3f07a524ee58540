/** Headless Chromium from the system (never a downloaded browser), one page per scenario. */
import { chromium, type Browser, type Page } from "playwright-core";
import { existsSync, mkdirSync } from "node:fs";
import { resolve } from "node:path";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
export const artifacts = resolve(import.meta.dirname, "../artifacts");

export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `${CHROMIUM} does not exist: apt-get install -y chromium (or set CHROMIUM_PATH)`,
    );
  }
  mkdirSync(artifacts, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
  });
}

/**
 * A page whose console errors and crashes are printed, so a failing scenario says why;
 * `initScript` (a file) runs in the page before any of its own scripts.
 */
export async function openPage(browser: Browser, url: string, initScript?: string): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  if (initScript !== undefined) await page.addInitScript({ path: initScript });
  page.on("console", (message) => {
    if (message.type() === "error") console.log(`[browser] ${message.text()}`);
  });
  page.on("pageerror", (error) => {
    console.log(`[browser] uncaught: ${error.message}`);
  });
  await page.goto(url);
  return page;
}

/** Waits until the connection banner shows `link` (live, waiting, signedOut, ...). */
export async function waitForLink(page: Page, link: string, timeout = 20_000): Promise<void> {
  await page.waitForSelector(`[data-testid="connection-banner"][data-link="${link}"]`, { timeout });
}

/** Waits until the resource table has a row for `resource`, with `status` when given. */
export async function waitForRow(
  page: Page,
  resource: string,
  status?: string,
  timeout = 15_000,
): Promise<void> {
  const selector = `[role="row"][data-resource="${resource}"]${status === undefined ? "" : `[data-status="${status}"]`}`;
  await page.waitForSelector(selector, { timeout });
}

export async function screenshot(page: Page, name: string): Promise<string> {
  const path = resolve(artifacts, `${name}.png`);
  await page.screenshot({ path });
  return path;
}

/** Waits until the number shown by `selector` (digits only, "5,000 resources" → 5000) reaches `atLeast`. */
export async function waitForCount(
  page: Page,
  selector: string,
  atLeast: number,
  timeout: number,
): Promise<void> {
  const deadline = Date.now() + timeout;
  let shown = "";
  while (Date.now() < deadline) {
    shown =
      (await page
        .locator(selector)
        .first()
        .textContent({ timeout })
        .catch(() => "")) ?? "";
    if (Number(shown.replace(/\D/g, "")) >= atLeast) return;
    await page.waitForTimeout(100);
  }
  throw new Error(
    `${selector} showed "${shown}" after ${String(timeout)} ms; expected at least ${String(atLeast)}`,
  );
}
