import { describe, expect, it } from "vitest";
import { parseRoute, routeHref } from "./hashRoute";

describe("hash routes", () => {
  it("round-trip every view, with resource ids that contain slashes", () => {
    const routes = [
      { view: "overview" },
      { view: "resources", resource: null },
      { view: "resources", resource: "svc/api/latency" },
      { view: "alerts" },
      { view: "system" },
      { view: "publish", resource: "host/web 1" },
    ] as const;
    for (const route of routes) expect(parseRoute(routeHref(route))).toEqual(route);
  });

  it("falls back to the overview for an unknown hash", () => {
    expect(parseRoute("#/nowhere")).toEqual({ view: "overview" });
    expect(parseRoute("")).toEqual({ view: "overview" });
  });
});
