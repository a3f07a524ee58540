import Alert from "@mui/material/Alert";
import Box from "@mui/material/Box";
import MenuItem from "@mui/material/MenuItem";
import Skeleton from "@mui/material/Skeleton";
import TextField from "@mui/material/TextField";
import Typography from "@mui/material/Typography";
import { useTheme } from "@mui/material/styles";
import { BarChart, type BarSeries } from "@mui/x-charts/BarChart";
import { LineChart } from "@mui/x-charts/LineChart";
import type { DeltaFrame, HistoryEntry, Status } from "@protocol/frames";
import { useEffect, useMemo, useState } from "react";
import { monospace, statusColor } from "../../app/theme";
import { visibleName, visibleText } from "../../common/names";
import { hasEntry } from "../../common/records";
import { describeRestError } from "../../common/rest";
import { formatDuration, formatShortTimestamp, formatTimestamp } from "../../common/time";
import { useNow } from "../../common/useNow";
import type { Resource } from "../resources/resourcesSlice";
import { HISTORY_LIMIT, historyWindowStart, useGetHistoryQuery } from "./historyApi";

/** A live resource refetches its history at most this often. */
const REFRESH_MS = 5000;

interface Span {
  status: Status;
  from: number;
  to: number;
}

/** Status spans from the deltas that set a status, ending with the current status at `now`. */
export function statusSpans(deltas: readonly DeltaFrame[], current: Resource, now: number): Span[] {
  const changes = deltas.filter((delta) => delta.status !== undefined);
  const spans: Span[] = [];
  changes.forEach((delta, index) => {
    const next = changes[index + 1];
    if (delta.status !== undefined) {
      spans.push({ status: delta.status, from: delta.at, to: next?.at ?? now });
    }
  });
  const last = spans.at(-1);
  if (last?.status !== current.status) {
    // The change to the current status is older than the deltas kept, or not fetched yet.
    spans.push({ status: current.status, from: last?.to ?? current.updated_at, to: now });
  }
  return spans;
}

/** The numeric fields the deltas carry at least twice: one point makes no line. */
function numericFields(deltas: readonly DeltaFrame[]): string[] {
  const points = new Map<string, number>();
  for (const delta of deltas) {
    for (const [name, value] of Object.entries(delta.fields ?? {})) {
      if (typeof value === "number") points.set(name, (points.get(name) ?? 0) + 1);
    }
  }
  return [...points]
    .filter(([, count]) => count >= 2)
    .map(([name]) => name)
    .sort();
}

function describeEntry(entry: HistoryEntry): string {
  if (entry.t === "removed") return "removed";
  const parts: string[] = [];
  if (entry.status !== undefined) parts.push(`status → ${entry.status}`);
  for (const [key, value] of Object.entries(entry.fields ?? {})) {
    const name = visibleName(key);
    parts.push(value === null ? `−${name}` : `${name}=${visibleText(String(value))}`);
  }
  for (const [key, value] of Object.entries(entry.labels ?? {})) {
    const name = visibleName(key);
    parts.push(value === null ? `−label ${name}` : `label ${name}:${visibleText(value)}`);
  }
  if (entry.ttl_ms !== undefined)
    parts.push(entry.ttl_ms === 0 ? "ttl cleared" : `ttl ${formatDuration(entry.ttl_ms)}`);
  return parts.length === 0 ? "refreshed" : parts.join(", ");
}

/**
 * The status spans as one horizontal stacked bar: each span a segment as long as it lasted,
 * in its status colour, named in the tooltip. The axis counts from the first span's start,
 * so time before the first status change the deltas show stays blank on its left.
 */
function StatusBand({ spans, from, to }: { spans: Span[]; from: number; to: number }) {
  const theme = useTheme();
  const start = spans[0]?.from ?? from;
  const series: BarSeries[] = spans.map((span) => ({
    id: `${String(span.from)}-${span.status}`,
    stack: "band",
    data: [Math.max(0, span.to - span.from)],
    color: statusColor(theme, span.status),
    label: span.status,
    valueFormatter: () =>
      `from ${formatTimestamp(span.from)} for ${formatDuration(span.to - span.from)}`,
  }));
  return (
    <Box
      role="img"
      aria-label={`Status over time: ${spans.map((span) => span.status).join(", then ")}`}
    >
      <BarChart
        layout="horizontal"
        height={28}
        margin={0}
        hideLegend
        skipAnimation
        axisHighlight={{ y: "none" }}
        xAxis={[{ min: from - start, max: Math.max(1, to - start), position: "none" }]}
        yAxis={[{ scaleType: "band", data: ["status"], position: "none", categoryGapRatio: 0 }]}
        series={series}
        slotProps={{ tooltip: { trigger: "item" } }}
      />
    </Box>
  );
}

/** A numeric field over time, a point per delta that set it, over the same span as the band. */
function FieldLine({
  deltas,
  field,
  from,
  to,
}: {
  deltas: DeltaFrame[];
  field: string;
  from: number;
  to: number;
}) {
  const theme = useTheme();
  const points = deltas.flatMap((delta) => {
    // Own entries only: a REST body's plain map answers `constructor` without holding one.
    const value =
      delta.fields !== undefined && hasEntry(delta.fields, field) ? delta.fields[field] : null;
    return typeof value === "number" ? [{ at: delta.at, value }] : [];
  });
  if (points.length === 0) return null;
  const values = points.map((point) => point.value);
  const low = Math.min(...values);
  const high = Math.max(...values);
  return (
    <Box role="img" aria-label={`${visibleName(field)} from ${String(low)} to ${String(high)}`}>
      <LineChart
        height={140}
        margin={{ top: 8, right: 12, bottom: 0, left: 0 }}
        hideLegend
        skipAnimation
        xAxis={[
          {
            scaleType: "time",
            data: points.map((point) => new Date(point.at)),
            min: new Date(from),
            max: new Date(Math.max(to, from + 1)),
            valueFormatter: (at: Date) => formatShortTimestamp(at.getTime()),
            tickNumber: 3,
          },
        ]}
        yAxis={[{ width: 44 }]}
        series={[
          {
            label: field,
            data: values,
            color: theme.palette.primary.main,
            // Samples, not a trend: straight lines between them, nothing smoothed in.
            curve: "linear",
            showMark: points.length <= 20,
            valueFormatter: (value) => (value === null ? null : String(value)),
          },
        ]}
      />
    </Box>
  );
}

/**
 * The last changes of one resource from `GET /api/v1/history/{id}`: a status band, a line for
 * a numeric field and a list of changes (the list says in words what the shapes show).
 * A failed fetch (the route may not exist yet) says so and leaves the rest of the panel alone.
 */
export function HistoryChart({ resource }: { resource: Resource }) {
  const { data, error, isLoading, fulfilledTimeStamp, refetch } = useGetHistoryQuery({
    resource: resource.resource,
    since: historyWindowStart(resource.seq),
  });
  const now = useNow();
  const [pickedField, setPickedField] = useState<string | null>(null);

  const lastFetchedSeq = data?.deltas.at(-1)?.seq ?? 0;
  useEffect(() => {
    if (fulfilledTimeStamp === undefined || resource.seq <= lastFetchedSeq) return;
    const timer = setTimeout(
      () => void refetch(),
      Math.max(0, fulfilledTimeStamp + REFRESH_MS - Date.now()),
    );
    return () => {
      clearTimeout(timer);
    };
  }, [resource.seq, lastFetchedSeq, fulfilledTimeStamp, refetch]);

  const deltas = useMemo(
    () => (data?.deltas ?? []).filter((entry): entry is DeltaFrame => entry.t === "delta"),
    [data],
  );
  const fields = useMemo(() => numericFields(deltas), [deltas]);

  if (isLoading) return <Skeleton variant="rounded" height={120} />;
  if (error !== undefined) {
    return (
      <Alert severity="info" variant="outlined">
        History is not available: {describeRestError(error)}.
      </Alert>
    );
  }
  if (data === undefined || data === null) {
    return (
      <Alert severity="warning" variant="outlined">
        The hub answered with something that is not a history.
      </Alert>
    );
  }

  const from = Math.min(deltas[0]?.at ?? resource.updated_at, resource.updated_at);
  const spans = statusSpans(deltas, resource, now);
  const field =
    pickedField !== null && fields.includes(pickedField) ? pickedField : (fields[0] ?? null);
  const recent = data.deltas.slice(-20).reverse();

  return (
    <Box sx={{ display: "flex", flexDirection: "column", gap: 1 }}>
      <StatusBand spans={spans} from={from} to={now} />
      <Box
        sx={{
          display: "flex",
          justifyContent: "space-between",
          color: "text.secondary",
          fontSize: "0.72rem",
        }}
      >
        <span>{formatTimestamp(from)}</span>
        <span>now</span>
      </Box>
      {field !== null && (
        <>
          <TextField
            select
            label="Field"
            value={field}
            onChange={(event) => {
              setPickedField(event.target.value);
            }}
            sx={{ width: 200, mt: 1 }}
          >
            {fields.map((name) => (
              <MenuItem key={name} value={name}>
                {visibleName(name)}
              </MenuItem>
            ))}
          </TextField>
          <FieldLine deltas={deltas} field={field} from={from} to={now} />
        </>
      )}
      <Typography variant="h3" component="h4" sx={{ mt: 1 }}>
        Recent changes
      </Typography>
      {recent.length === 0 ? (
        <Typography variant="body2" color="text.secondary">
          No changes recorded.
        </Typography>
      ) : (
        <Box
          component="ol"
          aria-label="Recent changes"
          sx={{ listStyle: "none", m: 0, p: 0, maxHeight: 220, overflowY: "auto" }}
        >
          {recent.map((entry) => (
            <Box
              component="li"
              key={entry.seq}
              sx={{
                display: "grid",
                gridTemplateColumns: "56px 150px 1fr",
                gap: 1,
                py: 0.25,
                fontSize: "0.75rem",
                borderBottom: 1,
                borderColor: "divider",
              }}
            >
              <Box sx={{ fontFamily: monospace, textAlign: "right" }}>#{entry.seq}</Box>
              <Box sx={{ color: "text.secondary", whiteSpace: "nowrap" }}>
                {entry.t === "delta" ? formatShortTimestamp(entry.at) : ""}
              </Box>
              <Box sx={{ fontFamily: monospace, overflowWrap: "anywhere" }}>
                {describeEntry(entry)}
              </Box>
            </Box>
          ))}
        </Box>
      )}
      <Typography variant="caption" color="text.secondary">
        {data.complete
          ? `The last ${String(data.deltas.length)} changes (at most ${String(HISTORY_LIMIT)} are fetched).`
          : "Older changes are no longer kept by the hub."}
      </Typography>
    </Box>
  );
}
