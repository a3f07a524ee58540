import { describe, expect, it } from "vitest";
import { checkPattern, checkResourceId, isWithin, matchesPattern, narrowToScope } from "./pattern";

describe("resource ids and patterns", () => {
  it("accepts ids that follow the contract and names what is wrong with others", () => {
    expect(checkResourceId("host/web-1")).toBeNull();
    expect(checkResourceId("svc/api/latency")).toBeNull();
    expect(checkResourceId("a//b")).toContain("empty segment");
    expect(checkResourceId("-x")).toContain("must start with a letter or digit");
    expect(checkResourceId("a/b/c/d/e/f/g/h/i")).toContain("9 segments");
    expect(checkResourceId("x".repeat(129))).toContain("129 bytes");
  });

  it("matches exact ids, children, descendants and everything like the hub", () => {
    expect(matchesPattern("**", "anything/at/all")).toBe(true);
    expect(matchesPattern("host/web-1", "host/web-1")).toBe(true);
    expect(matchesPattern("host/web-1", "host/web-10")).toBe(false);
    expect(matchesPattern("svc/*", "svc/api")).toBe(true);
    expect(matchesPattern("svc/*", "svc/api/latency")).toBe(false);
    expect(matchesPattern("svc/*", "svc")).toBe(false);
    expect(matchesPattern("svc/**", "svc/api/latency")).toBe(true);
    expect(matchesPattern("svc/**", "svc")).toBe(false);
    expect(matchesPattern("svc/**", "svcx/api")).toBe(false);
  });

  it("explains a pattern that is not an id, p/*, p/** or **", () => {
    expect(checkPattern("svc/**")).toBeNull();
    expect(checkPattern("x/***")).toContain("is not an id");
  });

  it("tells when one pattern lies within another, as the hub's scope check does", () => {
    expect(isWithin("svc/**", "**")).toBe(true);
    expect(isWithin("**", "svc/**")).toBe(false);
    expect(isWithin("svc/**", "svc/**")).toBe(true);
    expect(isWithin("svc/api/**", "svc/**")).toBe(true);
    expect(isWithin("svc/*", "svc/**")).toBe(true);
    expect(isWithin("svc/**", "svc/*")).toBe(false);
    expect(isWithin("svc/*", "svc/*")).toBe(true);
    expect(isWithin("svc/api/*", "svc/*")).toBe(false);
    expect(isWithin("svcx/**", "svc/**")).toBe(false);
    expect(isWithin("svc/api", "svc/*")).toBe(true);
    expect(isWithin("svc/api", "svc/api")).toBe(true);
    expect(isWithin("svc/*", "svc")).toBe(false);
  });

  it("narrows requested patterns to a token's res, without overlap", () => {
    expect(narrowToScope(["**"], null)).toEqual(["**"]);
    expect(narrowToScope(["**"], ["**"])).toEqual(["**"]);
    expect(narrowToScope(["**"], ["svc/**", "host/a"])).toEqual(["svc/**", "host/a"]);
    expect(narrowToScope(["host/*"], ["svc/**", "host/a"])).toEqual(["host/a"]);
    expect(narrowToScope(["svc/api/**"], ["svc/**"])).toEqual(["svc/api/**"]);
    expect(narrowToScope(["other/**"], ["svc/**"])).toEqual([]);
    expect(narrowToScope(["**"], [])).toEqual([]);
    // A res that repeats itself, or lists a pattern inside another, still gives each id once.
    expect(narrowToScope(["**"], ["svc/**", "svc/api", "svc/**", "svc/*"])).toEqual(["svc/**"]);
    expect(narrowToScope(["**", "svc/**"], null)).toEqual(["**"]);
  });
});
