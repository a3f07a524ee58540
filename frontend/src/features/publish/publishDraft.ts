/**
 * The publish form's contents and their conversion into a `Change`, with the reason when the
 * form cannot become one. Pure, so the rules are tested without rendering the form.
 */
import type { FieldChanges, LabelChanges, Scalar, Status } from "@protocol/frames";
import { checkResourceId } from "../../common/pattern";
import { emptyRecord } from "../../common/records";
import type { Change } from "./publishSlice";

export type FieldKind = "number" | "text" | "bool" | "remove";

export interface FieldRow {
  name: string;
  kind: FieldKind;
  value: string;
}

export interface LabelRow {
  name: string;
  value: string;
  /** Publishes `null` for the label, which removes it. */
  isRemoval: boolean;
}

export interface PublishDraft {
  resource: string;
  /** Empty: leave the status as it is. */
  status: Status | "";
  fields: FieldRow[];
  labels: LabelRow[];
  /** Milliseconds as typed; empty leaves the TTL alone and 0 clears it. */
  ttlMs: string;
}

export const emptyDraft = (resource = ""): PublishDraft => ({
  resource,
  status: "",
  fields: [],
  labels: [],
  ttlMs: "",
});

const MAX_TEXT_BYTES = 256;
const MAX_FIELDS = 64;
const MAX_LABELS = 32;

function toScalar(row: FieldRow): Scalar | null | string {
  switch (row.kind) {
    case "remove":
      return null;
    case "bool":
      return row.value === "true";
    case "number": {
      const number = Number(row.value);
      return row.value.trim() === "" || !Number.isFinite(number)
        ? `field \`${row.name}\`: ${JSON.stringify(row.value)} is not a number`
        : number;
    }
    case "text":
      return row.value;
  }
}

/** The change the form describes, or why it cannot be published. */
export function toChange(draft: PublishDraft): Change | string {
  const resource = draft.resource.trim();
  const idProblem = checkResourceId(resource);
  if (idProblem !== null) return idProblem;

  // Prototype-free: a field named `__proto__` is sent as one, not lost as a prototype.
  const fields: FieldChanges = emptyRecord();
  for (const row of draft.fields) {
    const name = row.name.trim();
    if (name === "") return "every field needs a name";
    const value = toScalar(row);
    if (typeof value === "string" && row.kind === "number") return value;
    if (typeof value === "string" && new TextEncoder().encode(value).length > MAX_TEXT_BYTES) {
      return `field \`${name}\` is longer than 256 bytes`;
    }
    fields[name] = value;
  }
  if (Object.keys(fields).length > MAX_FIELDS) return "a resource holds at most 64 fields";

  const labels: LabelChanges = emptyRecord();
  for (const row of draft.labels) {
    const name = row.name.trim();
    if (name === "") return "every label needs a name";
    labels[name] = row.isRemoval ? null : row.value;
  }
  if (Object.keys(labels).length > MAX_LABELS) return "a resource holds at most 32 labels";

  let ttl: number | undefined;
  if (draft.ttlMs.trim() !== "") {
    ttl = Number(draft.ttlMs);
    if (!Number.isInteger(ttl) || ttl < 0)
      return "TTL must be a whole number of milliseconds (0 clears it)";
  }

  return {
    resource,
    ...(draft.status === "" ? {} : { status: draft.status }),
    ...(draft.fields.length === 0 ? {} : { fields }),
    ...(draft.labels.length === 0 ? {} : { labels }),
    ...(ttl === undefined ? {} : { ttl_ms: ttl }),
  };
}
