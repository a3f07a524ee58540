import Box from "@mui/material/Box";
import Chip from "@mui/material/Chip";
import Link from "@mui/material/Link";
import Paper from "@mui/material/Paper";
import Table from "@mui/material/Table";
import TableBody from "@mui/material/TableBody";
import TableCell from "@mui/material/TableCell";
import TableHead from "@mui/material/TableHead";
import TableRow from "@mui/material/TableRow";
import ToggleButton from "@mui/material/ToggleButton";
import ToggleButtonGroup from "@mui/material/ToggleButtonGroup";
import Tooltip from "@mui/material/Tooltip";
import Typography from "@mui/material/Typography";
import { isStatus } from "@protocol/frames";
import { useEffect, useState } from "react";
import { useAppDispatch, useAppSelector } from "../../app/hooks";
import { monospace } from "../../app/theme";
import { routeHref } from "../../common/hashRoute";
import { formatAge, formatDuration, formatTimestamp } from "../../common/time";
import { useNow } from "../../common/useNow";
import {
  selectClockOffsetMs,
  subscriptionRequested,
  unsubscriptionRequested,
} from "../../hub/hubSlice";
import { StatusChip } from "../resources/StatusChip";
import {
  ALERTS_PATTERN,
  selectFiringAlerts,
  selectResolvedAlerts,
  type AlertEpisode,
} from "./alertEpisodes";
import { AlertRules } from "./AlertRules";

/** Resolved alerts shown at most: the most recent ones are the ones worth a look. */
const RESOLVED_SHOWN = 50;

type Shown = "firing" | "resolved";

function ResourceLink({ id }: { id: string }) {
  return (
    <Link
      href={routeHref({ view: "resources", resource: id })}
      sx={{ fontFamily: monospace, fontSize: "0.85rem", overflowWrap: "anywhere" }}
    >
      {id}
    </Link>
  );
}

function EpisodeRow({ episode, hubNow }: { episode: AlertEpisode; hubNow: number }) {
  const isResolved = episode.state === "resolved";
  return (
    <TableRow data-alert={episode.id} data-state={episode.state}>
      <TableCell>
        <Link
          href={routeHref({ view: "resources", resource: episode.id })}
          sx={{ fontWeight: 600 }}
        >
          {episode.name}
        </Link>
      </TableCell>
      <TableCell>
        <ResourceLink id={episode.member} />
      </TableCell>
      <TableCell>
        {isStatus(episode.memberStatus) ? (
          <StatusChip status={episode.memberStatus} />
        ) : (
          (episode.memberStatus ?? "—")
        )}
      </TableCell>
      <TableCell>
        <Chip
          label={episode.state}
          variant={isResolved ? "outlined" : "filled"}
          color={episode.state === "firing" ? "error" : isResolved ? "default" : "warning"}
        />
      </TableCell>
      <TableCell data-testid="alert-age" sx={{ whiteSpace: "nowrap" }}>
        {isResolved ? (
          <Tooltip title={`resolved at ${formatTimestamp(episode.changedAt)}`}>
            <span>resolved {formatAge(episode.changedAt, hubNow)}</span>
          </Tooltip>
        ) : (
          <Tooltip title={`status since ${formatTimestamp(episode.since)}`}>
            <span>for {formatDuration(hubNow - episode.since)}</span>
          </Tooltip>
        )}
      </TableCell>
    </TableRow>
  );
}

function EpisodeTable({
  label,
  episodes,
  hubNow,
}: {
  label: string;
  episodes: readonly AlertEpisode[];
  hubNow: number;
}) {
  return (
    <Paper sx={{ overflowX: "auto" }}>
      <Table size="small" aria-label={label}>
        <TableHead>
          <TableRow>
            <TableCell>Alert</TableCell>
            <TableCell>Resource</TableCell>
            <TableCell>Resource status</TableCell>
            <TableCell>State</TableCell>
            <TableCell>Age</TableCell>
          </TableRow>
        </TableHead>
        <TableBody>
          {episodes.map((episode) => (
            <EpisodeRow key={episode.id} episode={episode} hubNow={hubNow} />
          ))}
        </TableBody>
      </Table>
    </Paper>
  );
}

/**
 * The alerts the hub fires, live: it publishes one resource per (alert, member) under
 * `alert/**`, so this page asks for that pattern (the hub connection merges it with what the
 * dashboard already watches) and lists those firing or flapping, with how long the member's
 * status has lasted. A resolved alert leaves the list as soon as the hub says so; the most
 * recently resolved ones are one toggle away.
 */
export function AlertsPage() {
  const dispatch = useAppDispatch();
  const [shown, setShown] = useState<Shown>("firing");
  const firing = useAppSelector(selectFiringAlerts);
  const resolved = useAppSelector(selectResolvedAlerts);
  const clockOffset = useAppSelector(selectClockOffsetMs);
  const hubNow = useNow() + clockOffset;

  useEffect(() => {
    dispatch(subscriptionRequested({ pattern: ALERTS_PATTERN }));
    return () => {
      dispatch(unsubscriptionRequested({ pattern: ALERTS_PATTERN }));
    };
  }, [dispatch]);

  const episodes = shown === "firing" ? firing : resolved.slice(0, RESOLVED_SHOWN);

  return (
    <Box sx={{ p: 3, overflowY: "auto", flex: 1 }}>
      <Box sx={{ display: "flex", alignItems: "center", gap: 2, mb: 2, flexWrap: "wrap" }}>
        <Typography variant="h1">Alerts</Typography>
        <ToggleButtonGroup
          size="small"
          exclusive
          value={shown}
          aria-label="Alerts shown"
          onChange={(_event, value: Shown | null) => {
            if (value !== null) setShown(value);
          }}
        >
          <ToggleButton value="firing">Firing ({firing.length.toLocaleString()})</ToggleButton>
          <ToggleButton value="resolved">
            Recently resolved ({resolved.length.toLocaleString()})
          </ToggleButton>
        </ToggleButtonGroup>
      </Box>
      {episodes.length === 0 ? (
        <Typography color="text.secondary" data-testid="alerts-empty">
          {shown === "firing" ? "No alert is firing." : "No alert has resolved yet."}
        </Typography>
      ) : (
        <EpisodeTable
          label={shown === "firing" ? "Firing alerts" : "Resolved alerts"}
          episodes={episodes}
          hubNow={hubNow}
        />
      )}
      {shown === "resolved" && resolved.length > RESOLVED_SHOWN && (
        <Typography variant="caption" color="text.secondary">
          The {RESOLVED_SHOWN} most recently resolved of {resolved.length.toLocaleString()}.
        </Typography>
      )}
      <AlertRules />
    </Box>
  );
}
