/**
 * A rollup is a resource the hub derives from the members of a pattern: one integer field per
 * status (`up`, `degraded`, ...) and `total`, and as its status the worst of its members'.
 */
import { STATUSES } from "@protocol/frames";
import type { Resource, StatusCounts } from "../resources/resourcesSlice";

export interface RollupCounts {
  perStatus: StatusCounts;
  total: number;
}

const countIn = (value: unknown) =>
  typeof value === "number" && Number.isInteger(value) && value >= 0 ? value : 0;

/** The member counts a rollup resource carries; a missing or unreadable count is 0. */
export function readRollupCounts(rollup: Resource): RollupCounts {
  const perStatus = Object.fromEntries(
    STATUSES.map((status) => [status, countIn(rollup.fields[status])]),
  ) as StatusCounts;
  const total =
    rollup.fields.total === undefined
      ? Object.values(perStatus).reduce((sum, count) => sum + count, 0)
      : countIn(rollup.fields.total);
  return { perStatus, total };
}
