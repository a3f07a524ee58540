import { screen, within } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import { delta, snapshot } from "../../test/frames";
import { renderWithProviders } from "../../test/renderWithProviders";
import { framesReceived } from "./resourcesSlice";
import { ResourceFilters } from "./ResourceFilters";
import { ResourceTable } from "./ResourceTable";
import { StatusChip } from "./StatusChip";

function renderTable(frames: Parameters<typeof framesReceived>[0]) {
  const onOpen = vi.fn<(id: string) => void>();
  const rendered = renderWithProviders(
    <>
      <ResourceFilters />
      <ResourceTable selected={null} onOpen={onOpen} />
    </>,
  );
  rendered.store.dispatch(framesReceived(frames));
  return { ...rendered, onOpen };
}

const rowOf = (resource: string) => {
  const row = document.querySelector<HTMLElement>(`[data-resource="${resource}"]`);
  if (row === null) throw new Error(`no row for ${resource}`);
  return row;
};

describe("StatusChip", () => {
  it("tells the status by word and icon, not colour alone", () => {
    renderWithProviders(<StatusChip status="down" />);
    const chip = screen.getByText("down");
    expect(chip).toHaveAttribute("data-status", "down");
    expect(chip.querySelector("svg")).not.toBeNull();
  });
});

describe("ResourceTable", () => {
  it("shows each resource with its status, fields, labels and seq, worst first", async () => {
    renderTable([
      snapshot("svc/db", { status: "up", seq: 2, fields: { engine: "postgres" } }),
      snapshot("svc/api", { status: "down", seq: 7, labels: { team: "core" } }),
    ]);
    await screen.findByText("svc/api");
    const rows = screen.getAllByRole("row");
    // Header, then down before up.
    expect(rows.map((row) => row.getAttribute("data-resource"))).toEqual([
      null,
      "svc/api",
      "svc/db",
    ]);
    expect(within(rowOf("svc/api")).getByText("down")).toBeVisible();
    expect(within(rowOf("svc/api")).getByText("team:core")).toBeVisible();
    expect(within(rowOf("svc/db")).getByText("engine=postgres")).toBeVisible();
    expect(within(rowOf("svc/api")).getByText("7")).toBeVisible();
  });

  it("updates a row in place when a delta changes its status", async () => {
    const { store } = renderTable([snapshot("svc/api", { status: "up" })]);
    expect(await screen.findByText("up")).toBeVisible();
    store.dispatch(framesReceived([delta("svc/api", 2, { status: "down" })]));
    expect(await screen.findByText("down")).toBeVisible();
    expect(rowOf("svc/api")).toHaveAttribute("data-status", "down");
  });

  it("filters by status and by search text", async () => {
    const { user } = renderTable([
      snapshot("svc/api", { status: "down" }),
      snapshot("svc/db", { status: "up" }),
      snapshot("host/web-1", { status: "up", labels: { zone: "eu" } }),
    ]);
    await user.click(await screen.findByRole("button", { name: "down: 1" }));
    expect(screen.getAllByRole("row")).toHaveLength(2);
    expect(screen.getByTestId("resource-count")).toHaveTextContent("1 of 3 resources");
    await user.click(screen.getByRole("button", { name: "down: 1" }));
    await user.type(screen.getByLabelText("Search"), "eu");
    expect(screen.getAllByRole("row").map((row) => row.getAttribute("data-resource"))).toEqual([
      null,
      "host/web-1",
    ]);
  });

  it("explains a pattern that is not one", async () => {
    const { user } = renderTable([snapshot("svc/api")]);
    await user.type(screen.getByLabelText("Pattern"), "svc/***");
    expect(screen.getByText(/is not an id, p\/\*, p\/\*\* or \*\*/)).toBeVisible();
  });

  it("opens a resource by click, or by arrow keys and Enter", async () => {
    const { user, onOpen } = renderTable([snapshot("svc/a"), snapshot("svc/b"), snapshot("svc/c")]);
    await user.click(await screen.findByText("svc/b"));
    expect(onOpen).toHaveBeenLastCalledWith("svc/b");
    await user.keyboard("{ArrowDown}{Enter}");
    expect(onOpen).toHaveBeenLastCalledWith("svc/c");
    expect(rowOf("svc/c")).toHaveFocus();
    await user.keyboard("{Home}{Enter}");
    expect(onOpen).toHaveBeenLastCalledWith("svc/a");
  });

  it("renders only the rows in view out of 10,000", async () => {
    renderTable(Array.from({ length: 10_000 }, (_, index) => snapshot(`load/r-${String(index)}`)));
    expect(await screen.findByTestId("resource-count")).toHaveTextContent("10,000 resources");
    expect(screen.getAllByRole("row").length).toBeLessThan(60);
  });
});
