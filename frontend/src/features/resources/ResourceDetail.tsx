import CloseIcon from "@mui/icons-material/Close";
import DeleteIcon from "@mui/icons-material/Delete";
import PublishIcon from "@mui/icons-material/Publish";
import Alert from "@mui/material/Alert";
import Box from "@mui/material/Box";
import Button from "@mui/material/Button";
import Chip from "@mui/material/Chip";
import Dialog from "@mui/material/Dialog";
import DialogActions from "@mui/material/DialogActions";
import DialogContent from "@mui/material/DialogContent";
import DialogContentText from "@mui/material/DialogContentText";
import DialogTitle from "@mui/material/DialogTitle";
import IconButton from "@mui/material/IconButton";
import Typography from "@mui/material/Typography";
import { useState, type ReactNode } from "react";
import { useAppSelector } from "../../app/hooks";
import { monospace } from "../../app/theme";
import { Fact } from "../../common/Fact";
import { routeHref } from "../../common/hashRoute";
import { visibleName, visibleText } from "../../common/names";
import { describeRestError } from "../../common/rest";
import { formatAge, formatDuration, formatTimestamp } from "../../common/time";
import { useNow } from "../../common/useNow";
import { selectCanPublish, selectClockOffsetMs, selectIsAdmin } from "../../hub/hubSlice";
import { HistoryChart } from "../history/HistoryChart";
import { useMonitoring } from "../monitoring/monitoringApi";
import { ProbeSummary } from "../monitoring/ProbeSummary";
import { ResourceUptime } from "../uptime/ResourceUptime";
import { useDeleteResourceMutation } from "./resourcesApi";
import { selectResourceById, type Resource } from "./resourcesSlice";
import { StatusChip } from "./StatusChip";

/** "expires in 12 s", or how long ago the TTL ran out (the hub then marks it stale). */
export function describeTtl(resource: Resource, hubNow: number): string {
  if (resource.ttl_ms === null) return "none";
  const left = resource.updated_at + resource.ttl_ms - hubNow;
  return left >= 0
    ? `${formatDuration(resource.ttl_ms)}, expires in ${formatDuration(left)}`
    : `${formatDuration(resource.ttl_ms)}, ran out ${formatDuration(-left)} ago`;
}

function Section({ title, children }: { title: string; children: ReactNode }) {
  return (
    <Box
      component="section"
      aria-label={title}
      sx={{ px: 2, py: 1.5, borderTop: 1, borderColor: "divider" }}
    >
      <Typography variant="h3" component="h3" sx={{ mb: 1 }}>
        {title}
      </Typography>
      {children}
    </Box>
  );
}

function DeleteButton({ resource }: { resource: string }) {
  const [isConfirming, setConfirming] = useState(false);
  const [deleteResource, { isLoading, error }] = useDeleteResourceMutation();
  return (
    <>
      <Button
        color="error"
        variant="outlined"
        startIcon={<DeleteIcon />}
        onClick={() => {
          setConfirming(true);
        }}
      >
        Delete
      </Button>
      {error !== undefined && (
        <Alert severity="error" sx={{ mt: 1 }}>
          Delete failed: {describeRestError(error)}.
        </Alert>
      )}
      <Dialog
        open={isConfirming}
        onClose={() => {
          setConfirming(false);
        }}
        aria-labelledby="delete-title"
      >
        <DialogTitle id="delete-title">Delete {resource}?</DialogTitle>
        <DialogContent>
          <DialogContentText>
            The hub forgets this resource and its history, and every dashboard drops it. An agent
            that publishes to it again creates it anew.
          </DialogContentText>
        </DialogContent>
        <DialogActions>
          <Button
            onClick={() => {
              setConfirming(false);
            }}
          >
            Cancel
          </Button>
          <Button
            color="error"
            variant="contained"
            disabled={isLoading}
            onClick={() => {
              setConfirming(false);
              void deleteResource(resource);
            }}
          >
            Delete
          </Button>
        </DialogActions>
      </Dialog>
    </>
  );
}

/**
 * Everything about one resource: status, the hub's probe of it (if any), fields, labels, TTL,
 * last change, uptime and history.
 */
export function ResourceDetail({ id, onClose }: { id: string; onClose: () => void }) {
  const resource = useAppSelector((state) => selectResourceById(state, id));
  const { data: monitoring } = useMonitoring();
  const probe = monitoring?.probes.find((candidate) => candidate.resource === id);
  const canPublish = useAppSelector(selectCanPublish);
  const isAdmin = useAppSelector(selectIsAdmin);
  const clockOffset = useAppSelector(selectClockOffsetMs);
  const now = useNow();
  const hubNow = now + clockOffset;

  return (
    <Box
      component="aside"
      aria-label={`Resource ${id}`}
      data-testid="resource-detail"
      onKeyDown={(event) => {
        if (event.key === "Escape") onClose();
      }}
      sx={{
        flex: 1,
        display: "flex",
        flexDirection: "column",
        minHeight: 0,
        overflowY: "auto",
        bgcolor: "background.paper",
      }}
    >
      <Box sx={{ display: "flex", alignItems: "center", gap: 1, px: 2, py: 1.5 }}>
        <Typography
          variant="h2"
          component="h2"
          sx={{ flex: 1, fontFamily: monospace, overflowWrap: "anywhere" }}
        >
          {id}
        </Typography>
        <IconButton aria-label="Close details" onClick={onClose} autoFocus>
          <CloseIcon fontSize="small" />
        </IconButton>
      </Box>
      {resource === undefined ? (
        <Typography sx={{ px: 2, pb: 2, color: "text.secondary" }}>
          This session does not know {id}: it was deleted, or the hub has not reported it yet.
        </Typography>
      ) : (
        <>
          <Box
            sx={{
              px: 2,
              pb: 1.5,
              display: "flex",
              alignItems: "center",
              gap: 1.5,
              flexWrap: "wrap",
            }}
          >
            <StatusChip status={resource.status} size="large" />
            <Typography variant="body2" color="text.secondary">
              changed {formatAge(resource.updated_at, hubNow)}
            </Typography>
            <Box sx={{ flex: 1 }} />
            {canPublish && (
              <Button
                variant="outlined"
                startIcon={<PublishIcon />}
                href={routeHref({ view: "publish", resource: resource.resource })}
              >
                Publish
              </Button>
            )}
            {isAdmin && <DeleteButton resource={resource.resource} />}
          </Box>
          {probe !== undefined && (
            <Section title="Probe">
              <ProbeSummary probe={probe} resource={resource} />
            </Section>
          )}
          <Section title="State">
            <Box
              component="dl"
              sx={{
                display: "grid",
                gridTemplateColumns: "110px 1fr",
                rowGap: 0.5,
                m: 0,
                fontSize: "0.85rem",
              }}
            >
              <Fact label="seq">
                <span style={{ fontFamily: monospace }}>{resource.seq}</span>
              </Fact>
              <Fact label="updated">{formatTimestamp(resource.updated_at)}</Fact>
              <Fact label="TTL">{describeTtl(resource, hubNow)}</Fact>
              <Fact label="last change">
                {resource.lastChange === null
                  ? "not seen by this session"
                  : [
                      resource.lastChange.previousStatus !== null
                        ? `status ${resource.lastChange.previousStatus} → ${resource.status}`
                        : null,
                      ...resource.lastChange.keys
                        .filter((key) => key !== "status")
                        .map(visibleName),
                    ]
                      .filter((part) => part !== null)
                      .join(", ") || "refreshed"}
              </Fact>
            </Box>
          </Section>
          <Section title="Fields">
            {Object.keys(resource.fields).length === 0 ? (
              <Typography variant="body2" color="text.secondary">
                No fields.
              </Typography>
            ) : (
              <Box
                component="dl"
                sx={{
                  display: "grid",
                  gridTemplateColumns: "minmax(90px, max-content) 1fr",
                  columnGap: 2,
                  rowGap: 0.25,
                  m: 0,
                  fontSize: "0.8rem",
                  fontFamily: monospace,
                }}
              >
                {Object.entries(resource.fields)
                  .sort(([a], [b]) => a.localeCompare(b))
                  .map(([key, value]) => (
                    <Fact key={key} label={visibleName(key)}>
                      {visibleText(String(value))}
                    </Fact>
                  ))}
              </Box>
            )}
          </Section>
          <Section title="Labels">
            {Object.keys(resource.labels).length === 0 ? (
              <Typography variant="body2" color="text.secondary">
                No labels.
              </Typography>
            ) : (
              <Box sx={{ display: "flex", flexWrap: "wrap", gap: 0.5 }}>
                {Object.entries(resource.labels).map(([key, value]) => (
                  <Chip
                    key={key}
                    variant="outlined"
                    label={`${visibleName(key)}: ${visibleText(value)}`}
                    title={`${visibleName(key)}: ${visibleText(value)}`}
                    sx={{ fontFamily: monospace, maxWidth: "100%" }}
                  />
                ))}
              </Box>
            )}
          </Section>
          <Section title="Uptime">
            <ResourceUptime resource={resource.resource} />
          </Section>
          <Section title="History">
            <HistoryChart resource={resource} />
          </Section>
        </>
      )}
    </Box>
  );
}
