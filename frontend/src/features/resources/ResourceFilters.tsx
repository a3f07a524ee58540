import ArrowDownwardIcon from "@mui/icons-material/ArrowDownward";
import ArrowUpwardIcon from "@mui/icons-material/ArrowUpward";
import SearchIcon from "@mui/icons-material/Search";
import Box from "@mui/material/Box";
import IconButton from "@mui/material/IconButton";
import InputAdornment from "@mui/material/InputAdornment";
import MenuItem from "@mui/material/MenuItem";
import TextField from "@mui/material/TextField";
import ToggleButton from "@mui/material/ToggleButton";
import ToggleButtonGroup from "@mui/material/ToggleButtonGroup";
import Typography from "@mui/material/Typography";
import type { Status } from "@protocol/frames";
import { useAppDispatch, useAppSelector } from "../../app/hooks";
import { checkPattern } from "../../common/pattern";
import {
  filterChanged,
  selectResourceFilter,
  selectResourceTotal,
  selectStatusCounts,
  selectVisibleResourceIds,
  STATUS_ORDER,
  type SortKey,
} from "./resourcesSlice";
import { statusIcons } from "./StatusChip";

const SORT_LABELS: Record<SortKey, string> = {
  status: "Status (worst first)",
  resource: "Resource id",
  updated_at: "Last change",
};

/** Pattern, status, search and sort for the resource table; all of it lives in the store. */
export function ResourceFilters() {
  const dispatch = useAppDispatch();
  const filter = useAppSelector(selectResourceFilter);
  const counts = useAppSelector(selectStatusCounts);
  const shown = useAppSelector(selectVisibleResourceIds).length;
  const total = useAppSelector(selectResourceTotal);
  const patternProblem = filter.pattern.trim() === "" ? null : checkPattern(filter.pattern.trim());

  return (
    <Box
      component="form"
      role="search"
      aria-label="Filter resources"
      onSubmit={(event) => {
        event.preventDefault();
      }}
      sx={{ display: "flex", flexWrap: "wrap", alignItems: "flex-start", gap: 1.5, p: 2, pb: 1 }}
    >
      <TextField
        label="Pattern"
        placeholder="svc/** · host/* · **"
        value={filter.pattern}
        onChange={(event) => dispatch(filterChanged({ pattern: event.target.value }))}
        error={patternProblem !== null}
        helperText={patternProblem ?? " "}
        sx={{ width: 220 }}
        slotProps={{ htmlInput: { spellCheck: false }, inputLabel: { shrink: true } }}
      />
      <TextField
        label="Search"
        placeholder="id, field or label"
        value={filter.search}
        onChange={(event) => dispatch(filterChanged({ search: event.target.value }))}
        helperText=" "
        sx={{ width: 220 }}
        slotProps={{
          inputLabel: { shrink: true },
          input: {
            startAdornment: (
              <InputAdornment position="start">
                <SearchIcon fontSize="small" />
              </InputAdornment>
            ),
          },
        }}
      />
      <Box sx={{ display: "flex", alignItems: "center", gap: 0.5 }}>
        <TextField
          select
          label="Sort by"
          value={filter.sortKey}
          onChange={(event) => dispatch(filterChanged({ sortKey: event.target.value as SortKey }))}
          sx={{ width: 190 }}
          helperText=" "
        >
          {Object.entries(SORT_LABELS).map(([key, label]) => (
            <MenuItem key={key} value={key}>
              {label}
            </MenuItem>
          ))}
        </TextField>
        <IconButton
          aria-label={filter.sortDescending ? "Sort ascending" : "Sort descending"}
          onClick={() => dispatch(filterChanged({ sortDescending: !filter.sortDescending }))}
          sx={{ mb: 2.5 }}
        >
          {filter.sortDescending ? (
            <ArrowUpwardIcon fontSize="small" />
          ) : (
            <ArrowDownwardIcon fontSize="small" />
          )}
        </IconButton>
      </Box>
      <ToggleButtonGroup
        aria-label="Statuses to show"
        size="small"
        value={filter.statuses}
        onChange={(_, statuses: Status[]) => dispatch(filterChanged({ statuses }))}
        sx={{ flexWrap: "wrap" }}
      >
        {STATUS_ORDER.map((status) => {
          const Icon = statusIcons[status];
          return (
            <ToggleButton
              key={status}
              value={status}
              aria-label={`${status}: ${String(counts[status])}`}
              sx={{ gap: 0.5, py: 0.5 }}
            >
              <Icon sx={{ fontSize: 16 }} aria-hidden />
              {status} {counts[status]}
            </ToggleButton>
          );
        })}
      </ToggleButtonGroup>
      <Typography
        variant="body2"
        sx={{ ml: "auto", alignSelf: "center", color: "text.secondary" }}
        data-testid="resource-count"
      >
        {shown === total
          ? `${total.toLocaleString()} resources`
          : `${shown.toLocaleString()} of ${total.toLocaleString()} resources`}
      </Typography>
    </Box>
  );
}
