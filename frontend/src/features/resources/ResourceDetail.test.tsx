import { act, screen } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import { welcomed } from "../../hub/hubSlice";
import { delta, snapshot, welcome } from "../../test/frames";
import { renderWithProviders } from "../../test/renderWithProviders";
import { describeTtl, ResourceDetail } from "./ResourceDetail";
import { framesReceived, type Resource } from "./resourcesSlice";

function renderDetail(roles: string[]) {
  vi.stubGlobal("fetch", () => Promise.resolve(new Response("{}", { status: 404 })));
  const rendered = renderWithProviders(<ResourceDetail id="svc/api" onClose={() => undefined} />);
  act(() => {
    rendered.store.dispatch(welcomed(welcome({ roles })));
    rendered.store.dispatch(
      framesReceived([
        snapshot("svc/api", { status: "up", fields: { latency_ms: 12 }, labels: { team: "core" } }),
        delta("svc/api", 2, { status: "down", fields: { latency_ms: 900 } }),
      ]),
    );
  });
  return rendered;
}

describe("ResourceDetail", () => {
  it("shows status, fields, labels and what the last change did", async () => {
    renderDetail(["viewer"]);
    expect(await screen.findByText("status up → down, fields.latency_ms")).toBeVisible();
    expect(screen.getByText("900")).toBeVisible();
    expect(screen.getByText("team: core")).toBeVisible();
  });

  it("offers publish and delete only to the roles that may", async () => {
    renderDetail(["viewer"]);
    await screen.findByText("team: core");
    expect(screen.queryByRole("link", { name: "Publish" })).toBeNull();
    expect(screen.queryByRole("button", { name: "Delete" })).toBeNull();
  });

  it("offers publish and delete to an admin", async () => {
    renderDetail(["admin"]);
    await screen.findByText("team: core");
    expect(screen.getByRole("link", { name: "Publish" })).toHaveAttribute(
      "href",
      "#/publish/svc/api",
    );
    expect(screen.getByRole("button", { name: "Delete" })).toBeVisible();
  });

  it("counts the TTL down on the hub's clock", () => {
    const resource = { updated_at: 10_000, ttl_ms: 30_000 } as Resource;
    expect(describeTtl(resource, 25_000)).toBe("30 s, expires in 15 s");
    expect(describeTtl(resource, 50_000)).toBe("30 s, ran out 10 s ago");
    expect(describeTtl({ ...resource, ttl_ms: null }, 0)).toBe("none");
  });
});
