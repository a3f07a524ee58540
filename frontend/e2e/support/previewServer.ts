/**
 * Serves the built dist/ the way the hub will (same origin for `/`, `/ws` and `/api`), by
 * running `vite preview` with `/ws` and `/api` proxied to the hub. Once the hub serves the
 * SPA itself, the browser can be pointed at the hub directly and this stays as it is.
 */
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { preview, type PreviewServer } from "vite";

const frontend = resolve(import.meta.dirname, "../..");

/** Starts the preview server in front of the hub at `hubUrl` (a restarted hub keeps its port). */
export async function startPreview(
  hubUrl: string,
): Promise<{ url: string; server: PreviewServer }> {
  if (!existsSync(resolve(frontend, "dist/index.html"))) {
    throw new Error("dist/index.html is missing: run `npm run build` first (`npm run e2e` does)");
  }
  const server = await preview({
    root: frontend,
    configFile: false,
    logLevel: "warn",
    preview: {
      host: "127.0.0.1",
      port: 0,
      proxy: {
        "/ws": { target: hubUrl, ws: true },
        "/api": { target: hubUrl },
      },
    },
  });
  const url = server.resolvedUrls?.local[0];
  if (url === undefined) throw new Error("vite preview did not report its URL");
  return { url: url.replace(/\/$/, ""), server };
}
