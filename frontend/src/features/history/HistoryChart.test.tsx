import { screen } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import { renderWithProviders } from "../../test/renderWithProviders";
import type { Resource } from "../resources/resourcesSlice";
import { HistoryChart, statusSpans } from "./HistoryChart";

const resource: Resource = {
  resource: "svc/api",
  seq: 3,
  status: "up",
  fields: { latency_ms: 20 },
  labels: {},
  updated_at: 3000,
  ttl_ms: null,
  lastChange: null,
};

function answer(status: number, body: unknown) {
  const fetch = vi.fn<(request: Request) => Promise<Response>>(() =>
    Promise.resolve(
      new Response(JSON.stringify(body), {
        status,
        headers: { "Content-Type": "application/json" },
      }),
    ),
  );
  vi.stubGlobal("fetch", fetch);
  return fetch;
}

describe("HistoryChart", () => {
  it("lists deltas of a JSON body whatever their names (the REST side of issue 17)", async () => {
    // Written out: JSON.parse makes `__proto__` an own entry; an object literal would not.
    const body = `{"resource":"svc/api","complete":true,"deltas":[
      {"t":"delta","resource":"svc/api","seq":2,"at":2000,"status":"down",
       "fields":{"__proto__":1,"constructor":2,"toString":3},"labels":{"valueOf":"x"}},
      {"t":"delta","resource":"svc/api","seq":3,"at":3000,"status":"up",
       "fields":{"__proto__":4,"constructor":null}}]}`;
    vi.stubGlobal("fetch", () =>
      Promise.resolve(
        new Response(body, { status: 200, headers: { "Content-Type": "application/json" } }),
      ),
    );
    renderWithProviders(<HistoryChart resource={resource} />);
    const changes = await screen.findByRole("list", { name: "Recent changes" });
    expect(changes.textContent).toMatch(
      /#3.*status → up, __proto__=4, −constructor.*#2.*status → down, __proto__=1, constructor=2, toString=3, label valueOf:x/,
    );
    expect(Object.keys(Object.prototype)).toEqual([]);
  });

  it("asks the REST route for the resource's deltas and lists them, newest first", async () => {
    const fetch = answer(200, {
      resource: "svc/api",
      deltas: [
        {
          t: "delta",
          resource: "svc/api",
          seq: 1,
          at: 1000,
          status: "up",
          fields: { latency_ms: 10 },
        },
        {
          t: "delta",
          resource: "svc/api",
          seq: 2,
          at: 2000,
          status: "down",
          fields: { latency_ms: 900, error: "timeout" },
        },
        {
          t: "delta",
          resource: "svc/api",
          seq: 3,
          at: 3000,
          status: "up",
          fields: { latency_ms: 20, error: null },
        },
      ],
      complete: true,
    });
    renderWithProviders(<HistoryChart resource={resource} />);
    const changes = await screen.findByRole("list", { name: "Recent changes" });
    expect(changes.textContent).toMatch(
      /#3.*status → up, latency_ms=20, −error.*#2.*status → down/,
    );
    expect(
      screen.getByRole("img", { name: /Status over time: up, then down, then up/ }),
    ).toBeVisible();
    expect(screen.getByRole("img", { name: "latency_ms from 10 to 900" })).toBeVisible();
    const url = new URL(fetch.mock.calls[0]![0].url);
    expect(url.pathname).toBe("/api/v1/history/svc/api");
    expect(url.search).toBe("?since=0&limit=100");
  });

  it("follows an answer the hub cut (more: true) from its last seq, up to the limit", async () => {
    const entry = (seq: number) => ({
      t: "delta",
      resource: "svc/api",
      seq,
      at: seq * 1000,
      status: seq % 2 === 0 ? "down" : "up",
    });
    const pages = [
      { resource: "svc/api", deltas: [entry(1), entry(2)], complete: false, more: true },
      { resource: "svc/api", deltas: [entry(3)], complete: true },
    ];
    const fetch = vi.fn<(request: Request) => Promise<Response>>(() =>
      Promise.resolve(
        new Response(JSON.stringify(pages.shift()), {
          status: 200,
          headers: { "Content-Type": "application/json" },
        }),
      ),
    );
    vi.stubGlobal("fetch", fetch);
    renderWithProviders(<HistoryChart resource={resource} />);
    const changes = await screen.findByRole("list", { name: "Recent changes" });
    expect(changes.textContent).toMatch(/#3.*#2.*#1/);
    expect(fetch.mock.calls.map(([request]) => new URL(request.url).search)).toEqual([
      "?since=0&limit=100",
      "?since=2&limit=98",
    ]);
    // Older deltas lost is what the first page said.
    expect(screen.queryByText(/The last 3 changes/)).toBeNull();
  });

  it("stops following more when a page brings nothing newer", async () => {
    const fetch = answer(200, { resource: "svc/api", deltas: [], complete: true, more: true });
    renderWithProviders(<HistoryChart resource={resource} />);
    expect(await screen.findByText(/The last 0 changes/)).toBeVisible();
    expect(fetch).toHaveBeenCalledTimes(1);
  });

  it("says history is not available when the route answers 404, and nothing else breaks", async () => {
    answer(404, { error: { code: "not_found", message: "no route /api/v1/history" } });
    renderWithProviders(<HistoryChart resource={resource} />);
    expect(await screen.findByText(/History is not available: 404: no route/)).toBeVisible();
  });

  it("says so when the answer is not a history body", async () => {
    answer(200, { hello: "world" });
    renderWithProviders(<HistoryChart resource={resource} />);
    expect(await screen.findByText(/not a history/)).toBeVisible();
  });
});

describe("statusSpans", () => {
  it("runs each status until the next change, and the current one until now", () => {
    const spans = statusSpans(
      [
        { t: "delta", resource: "r", seq: 1, at: 100, status: "up" },
        { t: "delta", resource: "r", seq: 2, at: 200, fields: { a: 1 } },
        { t: "delta", resource: "r", seq: 3, at: 300, status: "down" },
      ],
      { ...resource, status: "down" },
      1000,
    );
    expect(spans).toEqual([
      { status: "up", from: 100, to: 300 },
      { status: "down", from: 300, to: 1000 },
    ]);
  });
});
