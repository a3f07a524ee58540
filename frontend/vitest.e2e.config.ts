import { defineConfig } from "vitest/config";
import { protocolAlias } from "./vite.config.ts";

/** End-to-end specs: a real hub, a real Chromium, one scenario after another. */
export default defineConfig({
  resolve: { alias: protocolAlias },
  test: {
    environment: "node",
    include: ["e2e/**/*.e2e.ts"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    fileParallelism: false,
    sequence: { concurrent: false },
  },
});
