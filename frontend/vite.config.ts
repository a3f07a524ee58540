/// <reference types="vitest/config" />
import { fileURLToPath } from "node:url";
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";
import { bundleBudget } from "./bundleBudget.ts";
import { muiWithoutCssVariables, sideEffectFree } from "./bundleTrims.ts";

const protocolTypes = fileURLToPath(new URL("../protocol/ts", import.meta.url));
/** `@protocol/frames` is `protocol/ts/frames.ts`: the SPA never redeclares frame types. */
export const protocolAlias = { "@protocol": protocolTypes };

/** The hub a dev server or `vite preview` forwards `/ws` and `/api` to. */
const hub = process.env.FILLSTACK_HUB ?? "http://127.0.0.1:8080";
const hubProxy = {
  "/ws": { target: hub.replace(/^http/, "ws"), ws: true },
  "/api": { target: hub },
};

/**
 * What the first page (the overview) may load, in bytes (goal: at most 400 kB): the shell, the
 * socket, the store and the overview; every other view (charts, table, forms), RTK Query,
 * notices and menus load when first needed. React DOM is the largest part: React 18.3's is
 * ~129 kB minified where React 19's client is ~207 kB (one CommonJS module, so nothing of it
 * can be left out), which is why the dashboard stays on React 18 (every library it uses
 * supports 18; see the commit that made the change). The rest is Redux Toolkit + Immer +
 * reselect (~39 kB), Emotion and MUI's theme and components, and the MessagePack codec
 * (@msgpack/msgpack, ~21 kB, needed at once: the first page connects on mount; with the
 * SPA's key decoder and value checks that let no name or value cost a frame). Lower this
 * whenever the shell gets smaller; raise it only with a reason, and never past 400 kB.
 */
const FIRST_PAGE_SCRIPT_BYTES = 384_000;

export default defineConfig({
  plugins: [
    react(),
    muiWithoutCssVariables(),
    sideEffectFree(),
    bundleBudget({
      maxBytes: FIRST_PAGE_SCRIPT_BYTES,
      firstView: "src/features/overview/OverviewPage.tsx",
    }),
  ],
  resolve: { alias: protocolAlias },
  build: {
    // Every asset becomes a hashed file under dist/assets/: no data: URIs for the hub's CSP.
    assetsInlineLimit: 0,
    // In kB: any chunk past it is worth a look (the resources view, charts included, is ~390).
    chunkSizeWarningLimit: 400,
    // Every browser the dashboard supports preloads modules natively: no polyfill in the entry.
    modulePreload: { polyfill: false },
  },
  server: { fs: { allow: [".", protocolTypes] }, proxy: hubProxy },
  preview: { proxy: hubProxy },
  test: {
    environment: "jsdom",
    include: ["src/**/*.test.{ts,tsx}", "test/**/*.test.ts"],
    setupFiles: ["src/test/setup.ts"],
    restoreMocks: true,
    unstubGlobals: true,
  },
});
