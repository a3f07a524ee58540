// @vitest-environment node
/** The walk behind the build's script budget: what the first page loads, and nothing else. */
import { describe, expect, it } from "vitest";
import { firstPageScripts } from "../bundleBudget.ts";

const chunk = (fileName: string, bytes: number, imports: string[] = [], facade?: string) => ({
  fileName,
  code: "x".repeat(bytes),
  imports,
  isEntry: fileName === "index.js",
  isDynamicEntry: facade !== undefined,
  facadeModuleId: facade ?? null,
});

describe("firstPageScripts", () => {
  const bundle = [
    chunk("index.js", 300, ["core.js", "runtime.js"]),
    chunk("core.js", 150, ["runtime.js"]),
    chunk("runtime.js", 1),
    chunk(
      "OverviewPage.js",
      6,
      ["core.js", "Link.js"],
      "/app/src/features/overview/OverviewPage.tsx",
    ),
    chunk("Link.js", 3, ["core.js"]),
    chunk(
      "ResourcesPage.js",
      390,
      ["core.js", "charts.js"],
      "/app/src/features/resources/ResourcesPage.tsx",
    ),
    chunk("charts.js", 500),
  ];

  it("counts the entry, the first view and what they import statically, once each", () => {
    const scripts = firstPageScripts(bundle, "src/features/overview/OverviewPage.tsx");
    expect(scripts).toEqual([
      { fileName: "index.js", bytes: 300 },
      { fileName: "core.js", bytes: 150 },
      { fileName: "OverviewPage.js", bytes: 6 },
      { fileName: "Link.js", bytes: 3 },
      { fileName: "runtime.js", bytes: 1 },
    ]);
  });

  it("fails when the first view is no longer its own chunk", () => {
    expect(() => firstPageScripts(bundle, "src/features/alerts/AlertsPage.tsx")).toThrow(
      /no lazily loaded chunk comes from src\/features\/alerts\/AlertsPage.tsx/,
    );
  });
});
