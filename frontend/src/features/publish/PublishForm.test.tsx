import { screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { renderWithProviders } from "../../test/renderWithProviders";
import { PublishForm } from "./PublishForm";

describe("PublishForm", () => {
  it("explains a resource id the hub would refuse, before sending anything", async () => {
    const { user } = renderWithProviders(<PublishForm resource={null} />);
    await user.type(screen.getByLabelText(/Resource/), "svc//api");
    await user.click(screen.getByRole("button", { name: "Publish" }));
    expect(screen.getByText(/has an empty segment/)).toBeVisible();
  });

  it("sends the change through the hub and shows its answer (here: not connected)", async () => {
    const { user, store } = renderWithProviders(<PublishForm resource="svc/api" />);
    await user.click(screen.getByRole("button", { name: "Add field" }));
    await user.type(screen.getByLabelText("Name"), "latency_ms");
    await user.type(screen.getByLabelText("Value"), "12");
    await user.click(screen.getByRole("button", { name: "Publish" }));
    expect(screen.getByText(/The hub refused \(unavailable\): not connected/)).toBeVisible();
    const [ticket] = store.getState().publish.tickets;
    expect(store.getState().publish.outcomes[ticket!]).toMatchObject({ resource: "svc/api" });
  });
});
