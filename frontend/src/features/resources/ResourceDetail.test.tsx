import { act, screen, waitFor, within } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import { welcomed } from "../../hub/hubSlice";
import { delta, snapshot, welcome } from "../../test/frames";
import { renderWithProviders } from "../../test/renderWithProviders";
import { answerRestRoutes } from "../../test/restRoutes";
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

describe("ResourceDetail of a probed resource", () => {
  const monitoring = {
    probes: [
      {
        resource: "svc/web",
        kind: "http",
        target: "http://127.0.0.1:9000/health",
        interval_ms: 10_000,
        timeout_ms: 500,
        degraded_after_ms: 800,
        expect_status: 200,
      },
    ],
    alerts: [],
    rollups: [],
  };

  function renderProbed(id: string) {
    answerRestRoutes({ "/api/v1/monitoring": { body: monitoring } });
    const rendered = renderWithProviders(<ResourceDetail id={id} onClose={() => undefined} />);
    act(() => {
      rendered.store.dispatch(welcomed(welcome({ roles: ["viewer"] })));
      rendered.store.dispatch(
        framesReceived([
          snapshot("svc/web", {
            status: "down",
            fields: { latency_ms: 3.2, code: 500, error: "unexpected status 500" },
            ttl_ms: 30_000,
          }),
          snapshot("svc/db", { status: "up" }),
        ]),
      );
    });
    return rendered;
  }

  it("shows how the hub probes it and the last check's error first", async () => {
    renderProbed("svc/web");
    const probe = await screen.findByRole("region", { name: "Probe" });
    const error = within(probe).getByTestId("probe-error");
    expect(error).toHaveTextContent("Last check failed");
    expect(error).toHaveTextContent("unexpected status 500");
    const facts = within(probe).getByLabelText("Probe settings");
    expect(facts).toHaveTextContent("kindhttp");
    expect(facts).toHaveTextContent("targethttp://127.0.0.1:9000/health");
    expect(facts).toHaveTextContent("intervalevery 10 s, timeout 500 ms");
    expect(facts).toHaveTextContent("expectsstatus 200");
    expect(facts).toHaveTextContent("degraded after800 ms");
    expect(facts).toHaveTextContent("last check3 ms, HTTP 500");
    // The probe section comes before the rest of the panel.
    const sections = screen
      .getAllByRole("region")
      .map((region) => region.getAttribute("aria-label"));
    expect(sections.slice(0, 2)).toEqual(["Probe", "State"]);
  });

  it("drops the error once a check succeeds", async () => {
    const { store } = renderProbed("svc/web");
    await screen.findByTestId("probe-error");
    act(() => {
      store.dispatch(
        framesReceived([
          delta("svc/web", 2, {
            status: "up",
            fields: { latency_ms: 12, code: 200, error: null },
          }),
        ]),
      );
    });
    await waitFor(() => {
      expect(screen.queryByTestId("probe-error")).toBeNull();
    });
    expect(screen.getByRole("region", { name: "Probe" })).toHaveTextContent(
      "last check12 ms, HTTP 200",
    );
  });

  it("has no probe section for a resource the hub does not probe", async () => {
    renderProbed("svc/db");
    await screen.findByRole("region", { name: "Uptime" });
    await waitFor(() => {
      expect(screen.getByText(/Uptime is not available/)).toBeVisible();
    });
    expect(screen.queryByRole("region", { name: "Probe" })).toBeNull();
  });
});
