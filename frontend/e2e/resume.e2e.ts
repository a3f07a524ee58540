/**
 * Resume after a hub restart, at scale (issue 12): the SPA holds 10,000 resources, the hub
 * stops (SIGTERM) and comes back on the same data dir and port, some resources are deleted
 * and others updated before the SPA reconnects, and the resume must leave exactly the hub's
 * set in the store: every known id goes out in `since` (split over `sub` parts with `more`,
 * each within `max_frame_bytes` and with the epoch it was seen under), the hub answers the
 * deleted ones with `removed` and the updated ones with their deltas, and sends nothing for
 * the rest.
 *
 * What the page sent and received, and how each of its sockets closed, is read off the wire
 * (e2e/support/wireRecorder.js); what the store holds is read off the resource table: its
 * counts under filters, and every row of the updated resources.
 */
import { resolve } from "node:path";
import { decode } from "@msgpack/msgpack";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ClientFrame, ServerFrame, SubFrame, WelcomeFrame } from "@protocol/frames";
import { launchBrowser, openPage, screenshot, waitForLink } from "./support/browser";
import { HubProcess } from "./support/hubProcess";
import { deleteResource, inParallel, postResource } from "./support/rest";

const TOTAL = 10_000;
/** Every 100th resource is deleted while the SPA is away, every 100th + 50 updated. */
const fateOf = (index: number) =>
  index % 100 === 0 ? "doomed" : index % 100 === 50 ? "changed" : "kept";
const ids = Array.from({ length: TOTAL }, (_, index) => `load/r-${String(index).padStart(5, "0")}`);
const doomed = ids.filter((_, index) => fateOf(index) === "doomed");
const changed = ids.filter((_, index) => fateOf(index) === "changed");
const kept = new Set(ids.filter((_, index) => fateOf(index) === "kept"));

const wireRecorder = resolve(import.meta.dirname, "support/wireRecorder.js");

/** What e2e/support/wireRecorder.js keeps in the page. */
interface Wire {
  sent: [number, string][];
  received: [number, string][];
  closes: [number, number, string][];
  urls: [number, string][];
  sockets: number;
  hold: boolean;
}
/** An element of the page, as far as these specs use it (e2e code has no DOM types). */
interface PageElement {
  scrollTop: number;
  readonly clientHeight: number;
  readonly scrollHeight: number;
  readonly textContent: string | null;
  getAttribute(name: string): string | null;
  querySelector(selector: string): PageElement | null;
  querySelectorAll(selector: string): Iterable<PageElement>;
}
/** The page's global scope, as far as these specs use it. */
type PageScope = typeof globalThis & {
  __fillstackWire: Wire;
  document: PageElement;
  dispatchEvent(event: Event): boolean;
  requestAnimationFrame(callback: () => void): number;
};

const BANNER = '[data-testid="connection-banner"]';

/** The frames each socket of the page sent and received so far, decoded, and its close. */
async function readWire(page: Page) {
  const wire = await page.evaluate(() => (globalThis as PageScope).__fillstackWire);
  const raw = (list: [number, string][], socket: number) =>
    list.filter(([index]) => index === socket).map(([, bytes]) => Buffer.from(bytes, "base64"));
  return {
    sockets: wire.sockets,
    /** The frames `socket` sent, as they went out (to measure them). */
    rawSent: (socket: number) => raw(wire.sent, socket),
    sent: (socket: number) => raw(wire.sent, socket).map((bytes) => decode(bytes) as ClientFrame),
    received: (socket: number) =>
      raw(wire.received, socket).map((bytes) => decode(bytes) as ServerFrame),
    /** How `socket` closed, or null while it is open. */
    closeOf: (socket: number) => {
      const close = wire.closes.find(([index]) => index === socket);
      return close === undefined ? null : { code: close[1], reason: close[2] };
    },
    urlOf: (socket: number) => wire.urls.find(([index]) => index === socket)?.[1] ?? "?",
  };
}
type WireView = Awaited<ReturnType<typeof readWire>>;

/** The `welcome` among a socket's frames, or undefined. */
function welcomeOf(frames: readonly ServerFrame[]): WelcomeFrame | undefined {
  return frames.find((frame): frame is WelcomeFrame => frame.t === "welcome");
}

/** The sockets from `first` on: where each went, whether it was welcomed, how it closed. */
function describeSockets(wire: WireView, first: number): string {
  const lines: string[] = [];
  for (let socket = first; socket < wire.sockets; socket += 1) {
    const close = wire.closeOf(socket);
    lines.push(
      `socket ${String(socket)} to ${wire.urlOf(socket)}: ${welcomeOf(wire.received(socket)) === undefined ? "not welcomed" : "welcomed"}, ${close === null ? "open" : `closed ${String(close.code)} "${close.reason}"`}`,
    );
  }
  return lines.length === 0 ? `no socket from ${String(first)} on` : lines.join("\n");
}

/** The connection banner: its `data-link` and its words. */
async function bannerOf(page: Page): Promise<{ link: string; text: string }> {
  const banner = page.locator(BANNER);
  return {
    link: (await banner.getAttribute("data-link")) ?? "?",
    text: ((await banner.textContent()) ?? "").trim(),
  };
}

/** The table's count: "9,900 of 10,004 resources" → 9900; "12 resources" → 12. */
async function shownCount(page: Page): Promise<number> {
  const text = (await page.getByTestId("resource-count").textContent()) ?? "";
  const match = /^([\d,]+)/.exec(text.trim());
  return match?.[1] === undefined ? -1 : Number(match[1].replace(/,/g, ""));
}

/** Polls `check` until it returns null (done) or the time is up; fails with its last words. */
async function waitUntil(
  check: () => Promise<string | null>,
  timeout: number,
  explain: () => Promise<string> = () => Promise.resolve(""),
): Promise<void> {
  const deadline = Date.now() + timeout;
  for (;;) {
    const reason = await check();
    if (reason === null) return;
    if (Date.now() >= deadline) {
      throw new Error(`after ${String(timeout)} ms: ${reason}\n${await explain()}`);
    }
    await new Promise((resume) => setTimeout(resume, 100));
  }
}

/** Sets the table's filter as a person would, and waits until it shows `expected` rows. */
async function filterTable(
  page: Page,
  filter: { search?: string; status?: string },
  expected: number,
  explain?: () => Promise<string>,
): Promise<void> {
  await page.getByLabel("Search", { exact: true }).fill(filter.search ?? "");
  const statuses = page.getByRole("group", { name: "Statuses to show" });
  for (const button of await statuses.getByRole("button").all()) {
    const name = (await button.getAttribute("aria-label")) ?? "";
    const wanted = filter.status !== undefined && name.startsWith(`${filter.status}: `);
    if ((await button.getAttribute("aria-pressed")) !== String(wanted)) await button.click();
  }
  await waitUntil(
    async () => {
      const shown = await shownCount(page);
      return shown === expected
        ? null
        : `with ${JSON.stringify(filter)} the table shows ${String(shown)} load/** resources, not ${String(expected)}`;
    },
    5000,
    explain,
  );
}

interface Row {
  status: string;
  fields: string;
  seq: string;
}

/**
 * Every row the table shows under its filter (it renders only those in view): scrolls it
 * half a view at a time, a couple of frames apart, reading the rows in view, until
 * `expected` distinct rows were read (from the top again if the bottom came first).
 */
async function readAllRows(page: Page, expected: number): Promise<Map<string, Row>> {
  const rows = new Map<string, Row>();
  const deadline = Date.now() + 10_000;
  for (let first = true; ; first = false) {
    const view = await page.evaluate(async (fromTop) => {
      const scope = globalThis as PageScope;
      const table = scope.document.querySelector('[data-testid="resource-table"]');
      if (table === null) return null;
      if (fromTop) table.scrollTop = 0;
      // Two frames: the virtualiser renders the rows of the new scroll position.
      await new Promise<void>((done) => {
        scope.requestAnimationFrame(() => scope.requestAnimationFrame(done));
      });
      const seen = [...table.querySelectorAll('[role="row"][data-resource]')].map((row) => {
        const cells = [...row.querySelectorAll('[role="gridcell"]')];
        return [
          row.getAttribute("data-resource") ?? "",
          row.getAttribute("data-status") ?? "",
          cells[2]?.textContent ?? "",
          cells.at(-1)?.textContent ?? "",
        ] as const;
      });
      const at = table.scrollTop;
      const atEnd = at + table.clientHeight >= table.scrollHeight - 1;
      table.scrollTop = atEnd ? 0 : at + Math.max(1, Math.floor(table.clientHeight / 2));
      return { seen, at, height: table.scrollHeight };
    }, first);
    if (view === null) throw new Error("the page shows no resource table");
    for (const [id, status, fields, seq] of view.seen) rows.set(id, { status, fields, seq });
    if (rows.size >= expected) return rows;
    const lastView = `at ${String(view.at)} of ${String(view.height)} px: ${view.seen.map(([id]) => id).join(", ")}`;
    if (Date.now() >= deadline) {
      throw new Error(
        `read ${String(rows.size)} of ${String(expected)} rows in 10 s; last view ${lastView}`,
      );
    }
  }
}

describe("resume against a real hub", () => {
  const hub = new HubProcess();
  let browser: Browser | undefined;

  beforeAll(async () => {
    browser = await launchBrowser();
    await hub.start();
  });

  afterAll(async () => {
    // Whatever failed, the hub process goes (by its PID) and its data dir with it.
    await browser?.close();
    await hub.stop();
  });

  it(`the SPA resumes ${TOTAL.toLocaleString()} resources after a hub restart with nothing trimmed and no ghost`, async () => {
    if (browser === undefined) throw new Error("no browser");
    const started = Date.now();
    const elapsed = () => `${String(Date.now() - started)} ms`;
    await inParallel(
      ids.map((id, index) => ({ id, index })),
      64,
      ({ id, index }) =>
        postResource(hub.httpUrl, id, {
          status: "up",
          fields: { n: index },
          labels: { fate: fateOf(index) },
        }),
    );
    console.log(`created ${String(TOTAL)} resources over REST after ${elapsed()}`);

    const page = await openPage(browser, `${hub.httpUrl}/#/resources`, wireRecorder);
    await waitForLink(page, "live");
    await page.getByLabel("Pattern", { exact: true }).fill("load/**");
    await waitUntil(async () => {
      const shown = await shownCount(page);
      return shown === TOTAL ? null : `the table shows ${String(shown)} load/** resources`;
    }, 30_000);
    const before = await readWire(page);
    // The socket the SPA is live on: the last one welcomed.
    let liveSocket = -1;
    for (let socket = 0; socket < before.sockets; socket += 1) {
      if (welcomeOf(before.received(socket)) !== undefined) liveSocket = socket;
    }
    const firstWelcome = welcomeOf(before.received(liveSocket));
    if (firstWelcome === undefined) throw new Error(describeSockets(before, 0));
    const { epoch } = firstWelcome;
    console.log(`the SPA holds ${String(TOTAL)} resources after ${elapsed()}`);

    // The hub stops. From now on every attempt of the SPA fails as if the hub were still
    // down, until the changes below are made.
    await page.evaluate(() => {
      (globalThis as PageScope).__fillstackWire.hold = true;
    });
    await hub.terminate();
    const whileAway = async () =>
      `banner: ${JSON.stringify(await bannerOf(page))}\n${describeSockets(await readWire(page), liveSocket)}`;
    // The hub closed the live session with 1001 (going away), and the SPA shows it lost the
    // hub: between attempts it waits ("waiting"), during one it connects ("connecting").
    await waitUntil(
      async () => {
        const close = (await readWire(page)).closeOf(liveSocket);
        if (close === null) return `socket ${String(liveSocket)} has not closed`;
        if (close.code !== 1001) return `socket ${String(liveSocket)} closed ${String(close.code)}`;
        const { link } = await bannerOf(page);
        return link === "waiting" || link === "connecting" ? null : `the banner shows ${link}`;
      },
      5000,
      whileAway,
    );
    console.log(`the hub stopped; the banner says: ${(await bannerOf(page)).text}`);

    await hub.start(hub.address); // the same binary, data dir and port
    await inParallel(doomed, 32, (id) => deleteResource(hub.httpUrl, id));
    const newSeqs = new Map(
      await inParallel(changed, 32, async (id) => {
        const seq = await postResource(hub.httpUrl, id, {
          status: "maintenance",
          fields: { n: -1 },
        });
        return [id, seq] as const;
      }),
    );
    // Held off all along: no session since the hub stopped, the last known state on screen.
    const held = await readWire(page);
    for (let socket = liveSocket + 1; socket < held.sockets; socket += 1) {
      expect(welcomeOf(held.received(socket)), describeSockets(held, liveSocket)).toBeUndefined();
    }
    expect((await bannerOf(page)).link, "the SPA was held off the hub").not.toBe("live");
    expect(await shownCount(page), "nothing changed while the SPA was away from the hub").toBe(
      TOTAL,
    );
    console.log(
      `deleted ${String(doomed.length)} and updated ${String(changed.length)} while the SPA made ${String(held.sockets - liveSocket - 1)} held attempts, after ${elapsed()}`,
    );

    // Let the SPA through, and spare it the rest of its backoff: the "online" event makes a
    // waiting dashboard reconnect at once (one that is connecting ignores it).
    const firstFree = await page.evaluate(() => {
      const wire = (globalThis as PageScope).__fillstackWire;
      wire.hold = false;
      return wire.sockets;
    });
    await waitUntil(
      async () => {
        const { link } = await bannerOf(page);
        if (link === "live") return null;
        await page.evaluate(() => (globalThis as PageScope).dispatchEvent(new Event("online")));
        return `the banner shows ${link}`;
      },
      20_000,
      async () =>
        `banner: ${JSON.stringify(await bannerOf(page))}\n${describeSockets(await readWire(page), firstFree)}`,
    );
    // A held attempt may still have been under way: the resume is the first socket welcomed.
    const resumedSocket = await (async () => {
      const wire = await readWire(page);
      for (let socket = firstFree; socket < wire.sockets; socket += 1) {
        if (welcomeOf(wire.received(socket)) !== undefined) return socket;
      }
      throw new Error(`no socket from ${String(firstFree)} on was welcomed`);
    })();

    /** What the SPA sent and the hub answered on the resumed socket, for a failure message. */
    const hubSide = async () => {
      const wire = await readWire(page);
      const received = wire.received(resumedSocket);
      const count = (t: string, of: Iterable<string>) => {
        const wanted = new Set(of);
        return received.filter(
          (frame) => frame.t === t && "resource" in frame && wanted.has(frame.resource),
        ).length;
      };
      const subs = wire.sent(resumedSocket).filter((frame) => frame.t === "sub");
      const answers = received
        .filter((frame) => frame.t === "ok" || frame.t === "error")
        .map((frame) => JSON.stringify(frame));
      return [
        `the SPA sent ${String(subs.length)} sub frames: ${subs
          .map(
            (sub) =>
              `{id ${String(sub.id)}, ${String(Object.keys(sub.since ?? {}).length)} ids, more ${String(sub.more)}, epoch ${String(sub.epoch)}}`,
          )
          .join(", ")}`,
        `the hub answered: ${answers.join(", ")}`,
        `removed for deleted ids: ${String(count("removed", doomed))} of ${String(doomed.length)}`,
        `deltas for updated ids: ${String(count("delta", changed))}, snapshots: ${String(count("snapshot", changed))} (of ${String(changed.length)})`,
        `snapshots for untouched ids: ${String(count("snapshot", kept))}, deltas: ${String(count("delta", kept))} (of ${String(kept.size)})`,
        `snapshots for deleted ids: ${String(count("snapshot", doomed))}`,
        `banner: ${JSON.stringify(await bannerOf(page))}`,
      ].join("\n");
    };

    // The store: the deleted ones gone (no ghost), the updated ones at their new seq, the
    // rest as they were.
    const expected = TOTAL - doomed.length;
    await waitUntil(
      async () => {
        const shown = await shownCount(page);
        return shown === expected
          ? null
          : `the table shows ${String(shown)} load/** resources, not ${String(expected)}`;
      },
      20_000,
      hubSide,
    );
    console.log(`the SPA resumed after ${elapsed()}`);
    await filterTable(page, { search: "doomed" }, 0, hubSide);
    await filterTable(page, { search: "kept" }, kept.size, hubSide);
    await filterTable(page, { search: "kept", status: "up" }, kept.size, hubSide);
    await filterTable(page, { search: "changed", status: "maintenance" }, changed.length, hubSide);
    await filterTable(page, { status: "maintenance" }, changed.length, hubSide);
    const rows = await readAllRows(page, changed.length);
    expect([...rows.keys()].sort(), "the rows in maintenance are the updated ones").toEqual(
      changed,
    );
    for (const [id, row] of rows) {
      expect(row, id).toEqual({
        status: "maintenance",
        fields: "n=-1",
        seq: String(newSeqs.get(id)),
      });
    }
    console.log(`screenshot: ${await screenshot(page, "resumed-maintenance")}`);

    // The wire: every known id went out once, over parts within the frame limit, with the epoch.
    const wire = await readWire(page);
    const welcome = welcomeOf(wire.received(resumedSocket));
    expect(welcome?.epoch, "the same data dir keeps its epoch").toBe(epoch);
    const maxFrameBytes = welcome?.max_frame_bytes ?? 0;
    const sent = wire.sent(resumedSocket);
    const rawSent = wire.rawSent(resumedSocket);
    const subIndexes = sent.flatMap((frame, index) => (frame.t === "sub" ? [index] : []));
    const subs = subIndexes.map((index) => sent[index] as SubFrame);
    const report = await hubSide();
    for (const index of subIndexes) {
      expect(rawSent[index]?.length, `sub part ${String(index)}`).toBeLessThanOrEqual(
        maxFrameBytes,
      );
    }
    expect(subs.length, `10,000 ids do not fit one frame\n${report}`).toBeGreaterThan(1);
    expect(subs.map((sub) => sub.pattern)).toEqual(subs.map(() => "**"));
    expect(subs.map((sub) => sub.more)).toEqual([...subs.slice(1).map(() => true), undefined]);
    expect(subs.map((sub) => sub.epoch)).toEqual(subs.map(() => epoch));
    expect(
      subIndexes.map((index) => index - (subIndexes[0] ?? 0)),
      "the parts went out back to back",
    ).toEqual(subIndexes.map((_, part) => part));
    const since = new Map<string, number>();
    for (const sub of subs) {
      for (const [id, seq] of Object.entries(sub.since ?? {})) {
        expect(since.has(id), `${id} went out twice`).toBe(false);
        since.set(id, seq);
      }
    }
    const missing = ids.filter((id) => since.get(id) !== 1);
    expect(missing, "every load/** id went out in since, at seq 1").toEqual([]);

    // The hub: ok without count for each more part, ok with count for the last; then removed
    // for the deleted, deltas (or a snapshot) at the new seq for the updated, nothing for the rest.
    const received = wire.received(resumedSocket);
    const answers = new Map(
      received.flatMap((frame) =>
        frame.t === "ok" || frame.t === "error" ? [[frame.id, frame] as const] : [],
      ),
    );
    expect(
      subs.slice(0, -1).map((sub) => answers.get(sub.id)),
      `each more part is answered ok without count\n${report}`,
    ).toEqual(subs.slice(0, -1).map((sub) => ({ t: "ok", id: sub.id })));
    const last = subs.at(-1);
    expect(answers.get(last?.id ?? -1), `the last part starts the subscription\n${report}`).toEqual(
      {
        t: "ok",
        id: last?.id,
        count: expect.any(Number) as number,
      },
    );
    const lastSeq = new Map<string, { t: string; seq: number }>();
    for (const frame of received) {
      if (frame.t === "snapshot" || frame.t === "delta" || frame.t === "removed") {
        lastSeq.set(frame.resource, { t: frame.t, seq: frame.seq });
      }
    }
    expect(
      doomed.filter((id) => lastSeq.get(id)?.t !== "removed"),
      `every deleted id is answered removed\n${report}`,
    ).toEqual([]);
    expect(
      changed.filter((id) => lastSeq.get(id)?.seq !== newSeqs.get(id)),
      `every updated id is brought to its new seq\n${report}`,
    ).toEqual([]);
    expect(
      [...kept].filter((id) => lastSeq.has(id)),
      `nothing is sent for the untouched ids\n${report}`,
    ).toEqual([]);
    console.log(`resumed and checked after ${elapsed()}\n${report}`);
    await page.close();
  }, 90_000);
});
