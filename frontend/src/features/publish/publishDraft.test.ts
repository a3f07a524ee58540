import { describe, expect, it } from "vitest";
import { emptyDraft, toChange } from "./publishDraft";

describe("publish draft", () => {
  it("becomes a change with only the parts the form filled in", () => {
    expect(toChange({ ...emptyDraft("svc/api"), status: "down" })).toEqual({
      resource: "svc/api",
      status: "down",
    });
  });

  it("types field values and turns removals into null", () => {
    expect(
      toChange({
        ...emptyDraft("svc/api"),
        fields: [
          { name: "latency_ms", kind: "number", value: "12.5" },
          { name: "ok", kind: "bool", value: "false" },
          { name: "region", kind: "text", value: "eu" },
          { name: "error", kind: "remove", value: "" },
        ],
        labels: [
          { name: "team", value: "core", isRemoval: false },
          { name: "old", value: "", isRemoval: true },
        ],
        ttlMs: "30000",
      }),
    ).toEqual({
      resource: "svc/api",
      fields: { latency_ms: 12.5, ok: false, region: "eu", error: null },
      labels: { team: "core", old: null },
      ttl_ms: 30_000,
    });
  });

  it("explains what stops the form from being published", () => {
    expect(toChange(emptyDraft(""))).toMatch(/cannot be empty/);
    expect(toChange(emptyDraft("a//b"))).toMatch(/empty segment/);
    expect(
      toChange({ ...emptyDraft("x"), fields: [{ name: "n", kind: "number", value: "abc" }] }),
    ).toMatch(/not a number/);
    expect(
      toChange({ ...emptyDraft("x"), fields: [{ name: "", kind: "text", value: "v" }] }),
    ).toMatch(/needs a name/);
    expect(
      toChange({
        ...emptyDraft("x"),
        fields: [{ name: "s", kind: "text", value: "é".repeat(200) }],
      }),
    ).toMatch(/256 bytes/);
    expect(toChange({ ...emptyDraft("x"), ttlMs: "-1" })).toMatch(/TTL/);
  });
});
