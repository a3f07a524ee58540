import { describe, expect, it } from "vitest";
import { checkPattern, checkResourceId, matchesPattern } from "./pattern";

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
});
