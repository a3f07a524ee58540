import Alert from "@mui/material/Alert";
import AlertTitle from "@mui/material/AlertTitle";
import Box from "@mui/material/Box";
import Typography from "@mui/material/Typography";
import { monospace } from "../../app/theme";
import { Fact } from "../../common/Fact";
import { formatDuration } from "../../common/time";
import type { Resource } from "../resources/resourcesSlice";
import type { Probe } from "./monitoringApi";

/** "1 s" for 1000, "500 ms" below a second (probe timeouts often are). */
function formatInterval(ms: number): string {
  return ms < 1000 ? `${String(ms)} ms` : formatDuration(ms);
}

/** What an http probe counts as up, in words. */
function describeExpectation(probe: Probe): string {
  const status =
    probe.expect_status === undefined ? "any 2xx" : `status ${String(probe.expect_status)}`;
  return probe.body_contains === undefined
    ? status
    : `${status}, body holding “${probe.body_contains}”`;
}

/** The outcome of the last check, as the probe's fields tell it. */
function describeLastCheck(resource: Resource): string {
  const { latency_ms: latency, code } = resource.fields;
  const parts: string[] = [];
  if (typeof latency === "number") parts.push(`${String(Math.round(latency))} ms`);
  if (typeof code === "number") parts.push(`HTTP ${String(code)}`);
  return parts.length === 0 ? "not reported yet" : parts.join(", ");
}

/**
 * How the hub checks this resource (kind, target, interval) and how the last check went.
 * A failed check's `error` comes first and stands out: it is what an operator opens the
 * panel for. The probe removes `error` again on its next successful check.
 */
export function ProbeSummary({ probe, resource }: { probe: Probe; resource: Resource }) {
  const { error } = resource.fields;
  return (
    <Box sx={{ display: "flex", flexDirection: "column", gap: 1 }}>
      {typeof error === "string" && (
        <Alert severity="error" data-testid="probe-error">
          <AlertTitle>Last check failed</AlertTitle>
          <Box component="span" sx={{ fontFamily: monospace, overflowWrap: "anywhere" }}>
            {error}
          </Box>
        </Alert>
      )}
      {resource.status === "maintenance" && (
        <Alert severity="info" variant="outlined">
          In maintenance: the probe goes on checking, but does not change the status until another
          status is published.
        </Alert>
      )}
      <Box
        component="dl"
        aria-label="Probe settings"
        sx={{
          display: "grid",
          gridTemplateColumns: "110px 1fr",
          rowGap: 0.5,
          m: 0,
          fontSize: "0.85rem",
        }}
      >
        <Fact label="kind">{probe.kind}</Fact>
        <Fact label="target">
          <Typography component="span" sx={{ fontFamily: monospace, fontSize: "0.8rem" }}>
            {probe.target}
          </Typography>
        </Fact>
        <Fact label="interval">
          every {formatInterval(probe.interval_ms)}, timeout {formatInterval(probe.timeout_ms)}
        </Fact>
        {probe.kind === "http" && <Fact label="expects">{describeExpectation(probe)}</Fact>}
        {probe.degraded_after_ms !== undefined && (
          <Fact label="degraded after">{formatInterval(probe.degraded_after_ms)}</Fact>
        )}
        <Fact label="last check">{describeLastCheck(resource)}</Fact>
      </Box>
    </Box>
  );
}
