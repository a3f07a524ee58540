/// <reference types="vitest/config" />
import { fileURLToPath } from "node:url";
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

const protocolTypes = fileURLToPath(new URL("../protocol/ts", import.meta.url));
/** `@protocol/frames` is `protocol/ts/frames.ts`: the SPA never redeclares frame types. */
export const protocolAlias = { "@protocol": protocolTypes };

/** The hub a dev server or `vite preview` forwards `/ws` and `/api` to. */
const hub = process.env.FILLSTACK_HUB ?? "http://127.0.0.1:8080";
const hubProxy = {
  "/ws": { target: hub.replace(/^http/, "ws"), ws: true },
  "/api": { target: hub },
};

export default defineConfig({
  plugins: [react()],
  resolve: { alias: protocolAlias },
  build: {
    // Every asset becomes a hashed file under dist/assets/: no data: URIs for the hub's CSP.
    assetsInlineLimit: 0,
    chunkSizeWarningLimit: 1000,
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
