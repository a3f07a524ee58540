import Box from "@mui/material/Box";
import Typography from "@mui/material/Typography";
import { alpha } from "@mui/material/styles";
import { useVirtualizer } from "@tanstack/react-virtual";
import { memo, useCallback, useEffect, useRef, useState, type KeyboardEvent } from "react";
import { useAppSelector } from "../../app/hooks";
import { monospace } from "../../app/theme";
import { visibleName, visibleText } from "../../common/names";
import { formatAge, formatTimestamp } from "../../common/time";
import { useNow } from "../../common/useNow";
import { selectResourceById, selectVisibleResourceIds } from "./resourcesSlice";
import { StatusChip } from "./StatusChip";

const ROW_HEIGHT = 36;
const COLUMNS = "124px minmax(180px, 2fr) minmax(160px, 3fr) minmax(120px, 2fr) 96px 64px";
const HEADERS = ["Status", "Resource", "Fields", "Labels", "Updated", "Seq"];

/** `cpu=0.42 · mem=512` for the first few fields; the detail panel has them all. */
function summarise(map: Record<string, unknown>, separator: string): string {
  return Object.entries(map)
    .map(([key, value]) => `${visibleName(key)}${separator}${visibleText(String(value))}`)
    .join(" · ");
}

const cellText = {
  overflow: "hidden",
  textOverflow: "ellipsis",
  whiteSpace: "nowrap",
  minWidth: 0,
} as const;

interface RowProps {
  id: string;
  index: number;
  start: number;
  isActive: boolean;
  isSelected: boolean;
  onOpen: (id: string, index: number) => void;
}

/** One row; re-renders only when its own resource (or the clock) changes. */
const ResourceRow = memo(function ResourceRow({
  id,
  index,
  start,
  isActive,
  isSelected,
  onOpen,
}: RowProps) {
  const resource = useAppSelector((state) => selectResourceById(state, id));
  const now = useNow();
  if (resource === undefined) return null;
  return (
    <Box
      role="row"
      aria-rowindex={index + 2}
      aria-selected={isSelected}
      tabIndex={isActive ? 0 : -1}
      data-index={index}
      data-resource={resource.resource}
      data-status={resource.status}
      onClick={() => {
        onOpen(id, index);
      }}
      sx={(theme) => ({
        position: "absolute",
        top: 0,
        left: 0,
        right: 0,
        height: ROW_HEIGHT,
        transform: `translateY(${String(start)}px)`,
        display: "grid",
        gridTemplateColumns: COLUMNS,
        alignItems: "center",
        columnGap: 2,
        px: 2,
        cursor: "pointer",
        borderBottom: 1,
        borderColor: "divider",
        bgcolor: isSelected ? alpha(theme.palette.primary.main, 0.12) : "transparent",
        "&:hover": { bgcolor: alpha(theme.palette.primary.main, isSelected ? 0.16 : 0.05) },
        "&:focus-visible": {
          outline: `2px solid ${theme.palette.primary.main}`,
          outlineOffset: -2,
        },
      })}
    >
      <Box role="gridcell">
        <StatusChip status={resource.status} />
      </Box>
      <Box
        role="gridcell"
        sx={{ ...cellText, fontFamily: monospace, fontSize: "0.8rem" }}
        title={resource.resource}
      >
        {resource.resource}
      </Box>
      <Box
        role="gridcell"
        sx={{ ...cellText, color: "text.secondary", fontFamily: monospace, fontSize: "0.75rem" }}
      >
        {summarise(resource.fields, "=")}
      </Box>
      <Box role="gridcell" sx={{ ...cellText, color: "text.secondary", fontSize: "0.75rem" }}>
        {summarise(resource.labels, ":")}
      </Box>
      <Box
        role="gridcell"
        sx={{ ...cellText, fontSize: "0.75rem" }}
        title={formatTimestamp(resource.updated_at)}
      >
        {formatAge(resource.updated_at, now)}
      </Box>
      <Box
        role="gridcell"
        sx={{ ...cellText, fontSize: "0.75rem", fontFamily: monospace, textAlign: "right" }}
      >
        {resource.seq}
      </Box>
    </Box>
  );
});

/**
 * Every resource that passes the filter, virtualised: only the rows in view are in the DOM,
 * so 10,000 resources scroll like 30. Arrow keys, Page Up/Down, Home and End move between
 * rows; Enter opens the detail panel.
 */
export function ResourceTable({
  selected,
  onOpen,
}: {
  selected: string | null;
  onOpen: (id: string) => void;
}) {
  const ids = useAppSelector(selectVisibleResourceIds);
  const scroller = useRef<HTMLDivElement>(null);
  const [activeIndex, setActiveIndex] = useState(0);
  // eslint-disable-next-line react-hooks/incompatible-library -- no React Compiler here; rows are memoised by hand
  const virtualizer = useVirtualizer({
    count: ids.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 12,
  });
  const active = Math.min(activeIndex, Math.max(0, ids.length - 1));

  // Keyboard moves focus with the active row, once it is rendered.
  const isKeyboardMove = useRef(false);
  useEffect(() => {
    if (!isKeyboardMove.current) return;
    isKeyboardMove.current = false;
    scroller.current?.querySelector<HTMLElement>(`[data-index="${String(active)}"]`)?.focus();
  });

  // A resource opened from elsewhere (a link, the URL) scrolls into view once.
  const selectedIndex = selected === null ? -1 : ids.indexOf(selected);
  const scrolledTo = useRef<string | null>(null);
  useEffect(() => {
    if (selectedIndex < 0 || scrolledTo.current === selected) return;
    scrolledTo.current = selected;
    setActiveIndex(selectedIndex);
    virtualizer.scrollToIndex(selectedIndex, { align: "center" });
  }, [selected, selectedIndex, virtualizer]);

  const open = useCallback(
    (id: string, index: number) => {
      setActiveIndex(index);
      onOpen(id);
    },
    [onOpen],
  );

  const onKeyDown = (event: KeyboardEvent) => {
    const pageRows = Math.max(
      1,
      Math.floor((scroller.current?.clientHeight ?? 0) / ROW_HEIGHT) - 1,
    );
    const moves: Record<string, number> = {
      ArrowDown: active + 1,
      ArrowUp: active - 1,
      PageDown: active + pageRows,
      PageUp: active - pageRows,
      Home: 0,
      End: ids.length - 1,
    };
    const target = moves[event.key];
    if (target !== undefined) {
      event.preventDefault();
      const next = Math.max(0, Math.min(ids.length - 1, target));
      isKeyboardMove.current = true;
      setActiveIndex(next);
      virtualizer.scrollToIndex(next);
    } else if (event.key === "Enter") {
      const id = ids[active];
      if (id !== undefined) onOpen(id);
    }
  };

  return (
    <Box
      role="grid"
      aria-label="Resources"
      aria-rowcount={ids.length + 1}
      onKeyDown={onKeyDown}
      sx={{ display: "flex", flexDirection: "column", minHeight: 0, flex: 1 }}
    >
      <Box
        role="row"
        aria-rowindex={1}
        sx={{
          display: "grid",
          gridTemplateColumns: COLUMNS,
          columnGap: 2,
          px: 2,
          py: 0.75,
          borderBottom: 1,
          borderColor: "divider",
          bgcolor: "background.default",
          fontSize: "0.72rem",
          fontWeight: 600,
          textTransform: "uppercase",
          letterSpacing: "0.04em",
          color: "text.secondary",
          // Leave room for the body's scrollbar so the columns line up.
          pr: 3.5,
        }}
      >
        {HEADERS.map((header) => (
          <Box
            role="columnheader"
            key={header}
            sx={header === "Seq" ? { textAlign: "right" } : undefined}
          >
            {header}
          </Box>
        ))}
      </Box>
      <Box
        ref={scroller}
        data-testid="resource-table"
        sx={{ flex: 1, minHeight: 0, overflowY: "scroll", position: "relative" }}
      >
        {ids.length === 0 ? (
          <Typography sx={{ p: 3, color: "text.secondary" }}>
            No resources match. Clear the filter, or wait for the hub to report some.
          </Typography>
        ) : (
          <Box role="rowgroup" sx={{ height: virtualizer.getTotalSize(), position: "relative" }}>
            {virtualizer.getVirtualItems().map((item) => {
              const id = ids[item.index];
              return id === undefined ? null : (
                <ResourceRow
                  key={id}
                  id={id}
                  index={item.index}
                  start={item.start}
                  isActive={item.index === active}
                  isSelected={id === selected}
                  onOpen={open}
                />
              );
            })}
          </Box>
        )}
      </Box>
    </Box>
  );
}
