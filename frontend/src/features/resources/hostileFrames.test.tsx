/**
 * Issue 17, "values that break clients": hub messages holding names and values that break
 * naive clients go through the real decoder (as bytes, `FakeHub.sayBytes`), the real
 * middleware and store, and the detail panel and banner a person reads. No such name or
 * value may cost a frame: the resource still shows `down`. A message that is no frame at all
 * is counted on the banner, and the frames after it still arrive.
 */
import { act, screen, within } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { makeStore } from "../../app/store";
import { BURST_MS } from "../../hub/hubMiddleware";
import { connectRequested, subscriptionRequested } from "../../hub/hubSlice";
import { signedOut } from "../auth/authSlice";
import { ConnectionBanner } from "../session/ConnectionBanner";
import { FakeHub } from "../../test/fakeHub";
import { welcome } from "../../test/frames";
import { hubBytes, I64_MIN, mapOf, PROTOTYPE_NAMES, U64_MAX } from "../../test/hostileFrames";
import { renderWithProviders } from "../../test/renderWithProviders";
import { ResourceDetail } from "./ResourceDetail";
import { selectResourceById } from "./resourcesSlice";

const NOW = 1_800_000_000_000;
const LONG_NAME = "n".repeat(300);

/** Stores whose sockets are open: closed after each test, which also stops their heartbeat. */
const live: ReturnType<typeof makeStore>[] = [];

beforeEach(() => {
  vi.useFakeTimers({ now: NOW });
  vi.stubGlobal("fetch", () => Promise.resolve(new Response("{}", { status: 404 })));
});
afterEach(() => {
  for (const store of live.splice(0)) store.dispatch(signedOut());
  vi.useRealTimers();
});

/** The banner and the detail of `svc/api` on the real store, middleware and decoder. */
function watch() {
  const hub = new FakeHub();
  const store = makeStore(undefined, {
    openSocket: hub.openSocket,
    socketUrl: () => "ws://hub.test/ws",
  });
  live.push(store);
  const view = renderWithProviders(
    <>
      <ConnectionBanner />
      <ResourceDetail id="svc/api" onClose={() => undefined} />
    </>,
    { store },
  );
  act(() => {
    store.dispatch(subscriptionRequested({ pattern: "**" }));
    store.dispatch(connectRequested());
    hub.open();
    hub.sayBytes(hubBytes({ ...welcome({ id: hub.sent("hello")[0]?.id ?? 0 }) }));
    hub.sayBytes(hubBytes({ t: "ok", id: hub.sent("sub")[0]?.id ?? 0, count: 1 }));
  });
  return { hub, ...view };
}

/** Plays the hub's messages as bytes and lets the burst reach the store and the page. */
function hubSends(hub: FakeHub, ...frames: Record<string, unknown>[]) {
  act(() => {
    hub.sayBytes(...frames.map(hubBytes));
    vi.advanceTimersByTime(BURST_MS);
    vi.advanceTimersToNextFrame();
  });
}

const downSnapshot = (fields: Record<string, unknown>, labels: Record<string, unknown> = {}) => ({
  t: "snapshot",
  resource: "svc/api",
  seq: 1,
  status: "down",
  fields,
  labels,
  updated_at: BigInt(NOW - 1000),
  reset: false,
});

/** The detail's fields as name → shown value. */
function shownFields(): Record<string, string> {
  const section = screen.getByRole("region", { name: "Fields" });
  const names = within(section).getAllByRole("term");
  const values = within(section).getAllByRole("definition");
  return Object.fromEntries(
    names.map((name, index) => [name.textContent, values[index]?.textContent ?? ""]),
  );
}

describe("a dashboard fed hostile frames", () => {
  it("shows the status and every field of a resource whose names every object answers to", () => {
    const { hub, store } = watch();
    hubSends(
      hub,
      downSnapshot(
        mapOf(PROTOTYPE_NAMES.map((name, index) => [name, index])),
        mapOf(PROTOTYPE_NAMES.map((name) => [name, "x"])),
      ),
    );

    const detail = screen.getByTestId("resource-detail");
    expect(detail.querySelector('[data-status="down"]')).toHaveTextContent("down");
    expect(shownFields()).toEqual(
      Object.fromEntries(PROTOTYPE_NAMES.map((name, index) => [name, String(index)])),
    );
    for (const name of PROTOTYPE_NAMES) expect(screen.getByText(`${name}: x`)).toBeVisible();
    expect(screen.getByTestId("connection-banner")).not.toHaveTextContent("could not be read");

    // A delta removes `__proto__` (null), changes `toString` and brings the resource back up.
    hubSends(hub, {
      t: "delta",
      resource: "svc/api",
      seq: 2,
      at: BigInt(NOW),
      status: "up",
      fields: mapOf([
        ["__proto__", null],
        ["toString", 42],
      ]),
    });
    expect(detail.querySelector('[data-status="up"]')).toHaveTextContent("up");
    const fields = shownFields();
    expect(fields).not.toHaveProperty(["__proto__"]);
    expect(fields).toMatchObject({ toString: "42", constructor: "1" });
    expect(screen.getByText("status down → up, fields.__proto__, fields.toString")).toBeVisible();
    expect(Object.keys(Object.prototype)).toEqual([]);
    expect(selectResourceById(store.getState(), "svc/api")?.seq).toBe(2);
  });

  it("shows non-finite floats, 64-bit integers and long or invisible-character names", () => {
    const { hub } = watch();
    hubSends(
      hub,
      downSnapshot(
        mapOf<unknown>([
          ["nan", NaN],
          ["inf", Infinity],
          ["neg_inf", -Infinity],
          ["u64", U64_MAX],
          ["i64", I64_MIN],
          ["nil", null],
          [LONG_NAME, 1],
          ["\u202Erevo", 2],
          ["u\u200Bp", 3],
        ]),
        mapOf([["note", "\u202Eevil"]]),
      ),
    );
    expect(
      screen.getByTestId("resource-detail").querySelector('[data-status="down"]'),
    ).toHaveTextContent("down");
    expect(shownFields()).toEqual({
      nan: "NaN",
      inf: "Infinity",
      neg_inf: "-Infinity",
      u64: String(2 ** 64),
      i64: String(-(2 ** 63)),
      [LONG_NAME]: "1",
      // Characters that draw nothing or reorder the line are shown as code points.
      "⟨U+202E⟩revo": "2",
      "u⟨U+200B⟩p": "3",
    });
    expect(screen.getByText("note: ⟨U+202E⟩evil")).toBeVisible();
  });

  it("counts a message that is no frame on the banner, and takes the frames after it", () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => undefined);
    const { hub } = watch();
    act(() => {
      hub.sayBytes(new Uint8Array([0xc1]));
    });
    expect(warn).toHaveBeenCalledWith(expect.stringMatching(/ignored a frame from the hub/));
    hubSends(hub, downSnapshot(mapOf([["__proto__", 1]])));
    expect(screen.getByTestId("connection-banner")).toHaveTextContent(
      "1 message from the hub could not be read (last: undecodable MessagePack",
    );
    expect(
      screen.getByTestId("resource-detail").querySelector('[data-status="down"]'),
    ).toHaveTextContent("down");
    expect(shownFields()).toEqual(mapOf([["__proto__", "1"]]));
  });
});
