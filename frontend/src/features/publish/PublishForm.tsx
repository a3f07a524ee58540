import AddIcon from "@mui/icons-material/Add";
import RemoveCircleOutlineIcon from "@mui/icons-material/RemoveCircleOutlineOutlined";
import SendIcon from "@mui/icons-material/Send";
import Alert from "@mui/material/Alert";
import Box from "@mui/material/Box";
import Button from "@mui/material/Button";
import Checkbox from "@mui/material/Checkbox";
import FormControlLabel from "@mui/material/FormControlLabel";
import IconButton from "@mui/material/IconButton";
import Link from "@mui/material/Link";
import MenuItem from "@mui/material/MenuItem";
import Paper from "@mui/material/Paper";
import TextField from "@mui/material/TextField";
import Typography from "@mui/material/Typography";
import { STATUSES, type Status } from "@protocol/frames";
import { useState, type ReactNode, type SyntheticEvent } from "react";
import { useAppDispatch, useAppSelector } from "../../app/hooks";
import { routeHref } from "../../common/hashRoute";
import { selectLink } from "../../hub/hubSlice";
import {
  emptyDraft,
  toChange,
  type FieldKind,
  type FieldRow,
  type LabelRow,
  type PublishDraft,
} from "./publishDraft";
import { publishRequested, selectPublishOutcome } from "./publishSlice";

function replaceAt<T>(rows: T[], index: number, row: T): T[] {
  return rows.map((current, at) => (at === index ? row : current));
}

/**
 * The rows of one part of a change (fields or labels): a name per row, the row's
 * own controls, a button to drop it, and one to add a row.
 */
function RowEditor<Row extends { name: string }>({
  legend,
  noun,
  rows,
  blank,
  onChange,
  controls,
}: {
  legend: string;
  noun: string;
  rows: Row[];
  blank: Row;
  onChange: (rows: Row[]) => void;
  controls: (row: Row, update: (row: Row) => void) => ReactNode;
}) {
  return (
    <Box
      component="fieldset"
      sx={{ border: 0, p: 0, m: 0, display: "flex", flexDirection: "column", gap: 1 }}
    >
      <Typography component="legend" variant="h3" sx={{ mb: 1 }}>
        {legend}
      </Typography>
      {rows.map((row, index) => {
        const update = (changed: Row) => {
          onChange(replaceAt(rows, index, changed));
        };
        return (
          <Box key={index} sx={{ display: "flex", gap: 1, alignItems: "center" }}>
            <TextField
              label="Name"
              value={row.name}
              onChange={(event) => {
                update({ ...row, name: event.target.value });
              }}
              sx={{ width: 160 }}
            />
            {controls(row, update)}
            <IconButton
              aria-label={`Drop ${noun} row ${String(index + 1)}`}
              onClick={() => {
                onChange(rows.filter((_, at) => at !== index));
              }}
            >
              <RemoveCircleOutlineIcon fontSize="small" />
            </IconButton>
          </Box>
        );
      })}
      <Box>
        <Button
          startIcon={<AddIcon />}
          onClick={() => {
            onChange([...rows, blank]);
          }}
        >
          Add {noun}
        </Button>
      </Box>
    </Box>
  );
}

function FieldRows({ rows, onChange }: { rows: FieldRow[]; onChange: (rows: FieldRow[]) => void }) {
  return (
    <RowEditor
      legend="Fields"
      noun="field"
      rows={rows}
      blank={{ name: "", kind: "number", value: "" }}
      onChange={onChange}
      controls={(row, update) => (
        <>
          <TextField
            select
            label="Kind"
            value={row.kind}
            onChange={(event) => {
              update({
                ...row,
                kind: event.target.value as FieldKind,
                value: event.target.value === "bool" ? "true" : row.value,
              });
            }}
            sx={{ width: 120 }}
          >
            <MenuItem value="number">number</MenuItem>
            <MenuItem value="text">text</MenuItem>
            <MenuItem value="bool">bool</MenuItem>
            <MenuItem value="remove">remove</MenuItem>
          </TextField>
          {row.kind === "bool" ? (
            <TextField
              select
              label="Value"
              value={row.value}
              onChange={(event) => {
                update({ ...row, value: event.target.value });
              }}
              sx={{ width: 160 }}
            >
              <MenuItem value="true">true</MenuItem>
              <MenuItem value="false">false</MenuItem>
            </TextField>
          ) : (
            <TextField
              label="Value"
              value={row.kind === "remove" ? "" : row.value}
              disabled={row.kind === "remove"}
              placeholder={row.kind === "remove" ? "removed" : ""}
              onChange={(event) => {
                update({ ...row, value: event.target.value });
              }}
              sx={{ width: 160 }}
            />
          )}
        </>
      )}
    />
  );
}

function LabelRows({ rows, onChange }: { rows: LabelRow[]; onChange: (rows: LabelRow[]) => void }) {
  return (
    <RowEditor
      legend="Labels"
      noun="label"
      rows={rows}
      blank={{ name: "", value: "", isRemoval: false }}
      onChange={onChange}
      controls={(row, update) => (
        <>
          <TextField
            label="Value"
            value={row.value}
            disabled={row.isRemoval}
            onChange={(event) => {
              update({ ...row, value: event.target.value });
            }}
            sx={{ width: 160 }}
          />
          <FormControlLabel
            control={
              <Checkbox
                checked={row.isRemoval}
                onChange={(event) => {
                  update({ ...row, isRemoval: event.target.checked });
                }}
              />
            }
            label="remove"
          />
        </>
      )}
    />
  );
}

/** Publishes a change to one resource through the hub (`pub` → `ack`); for publishers and admins. */
export function PublishForm({ resource }: { resource: string | null }) {
  const dispatch = useAppDispatch();
  const link = useAppSelector(selectLink);
  const [draft, setDraft] = useState<PublishDraft>(() => emptyDraft(resource ?? ""));
  const [problem, setProblem] = useState<string | null>(null);
  const [ticket, setTicket] = useState<string | null>(null);
  const outcome = useAppSelector((state) => selectPublishOutcome(state, ticket));

  const submit = (event: SyntheticEvent) => {
    event.preventDefault();
    const change = toChange(draft);
    if (typeof change === "string") {
      setProblem(change);
      return;
    }
    setProblem(null);
    setTicket(dispatch(publishRequested(change)).payload.ticket);
  };

  return (
    <Box sx={{ p: 3, overflowY: "auto", flex: 1 }}>
      <Typography variant="h1" sx={{ mb: 2 }}>
        Publish
      </Typography>
      <Paper
        component="form"
        aria-label="Publish a change"
        onSubmit={submit}
        noValidate
        sx={{ p: 2, maxWidth: 720, display: "flex", flexDirection: "column", gap: 2.5 }}
      >
        <Typography variant="body2" color="text.secondary">
          Status replaces the current one; fields and labels merge (a removed one is deleted). Empty
          parts are left as they are.
        </Typography>
        <Box sx={{ display: "flex", gap: 1.5, flexWrap: "wrap" }}>
          <TextField
            label="Resource"
            required
            value={draft.resource}
            onChange={(event) => {
              setDraft({ ...draft, resource: event.target.value });
            }}
            placeholder="svc/api/health"
            sx={{ width: 320 }}
            slotProps={{ htmlInput: { spellCheck: false } }}
          />
          <TextField
            select
            label="Status"
            value={draft.status}
            onChange={(event) => {
              setDraft({ ...draft, status: event.target.value as Status | "" });
            }}
            sx={{ width: 170 }}
            slotProps={{ inputLabel: { shrink: true }, select: { displayEmpty: true } }}
          >
            <MenuItem value="">(unchanged)</MenuItem>
            {STATUSES.map((status) => (
              <MenuItem key={status} value={status}>
                {status}
              </MenuItem>
            ))}
          </TextField>
          <TextField
            label="TTL (ms)"
            value={draft.ttlMs}
            onChange={(event) => {
              setDraft({ ...draft, ttlMs: event.target.value });
            }}
            helperText="0 clears it"
            placeholder="unchanged"
            sx={{ width: 140 }}
            slotProps={{ htmlInput: { inputMode: "numeric" }, inputLabel: { shrink: true } }}
          />
        </Box>
        <FieldRows
          rows={draft.fields}
          onChange={(fields) => {
            setDraft({ ...draft, fields });
          }}
        />
        <LabelRows
          rows={draft.labels}
          onChange={(labels) => {
            setDraft({ ...draft, labels });
          }}
        />
        {problem !== null && <Alert severity="error">{problem}</Alert>}
        {outcome?.state === "pending" && (
          <Alert severity="info">Publishing to {outcome.resource}…</Alert>
        )}
        {outcome?.state === "acknowledged" && (
          <Alert severity="success">
            Published:{" "}
            <Link href={routeHref({ view: "resources", resource: outcome.resource })}>
              {outcome.resource}
            </Link>{" "}
            is at seq {outcome.seq}.
          </Alert>
        )}
        {outcome?.state === "rejected" && (
          <Alert severity="error">
            The hub refused ({outcome.code}): {outcome.message}
          </Alert>
        )}
        <Box sx={{ display: "flex", gap: 1, alignItems: "center" }}>
          <Button
            type="submit"
            variant="contained"
            startIcon={<SendIcon />}
            disabled={outcome?.state === "pending"}
          >
            Publish
          </Button>
          {link !== "live" && (
            <Typography variant="body2" color="text.secondary">
              Not connected: the publish will be refused until the dashboard is live.
            </Typography>
          )}
        </Box>
      </Paper>
    </Box>
  );
}
