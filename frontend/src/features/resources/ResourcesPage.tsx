import Box from "@mui/material/Box";
import { useCallback } from "react";
import { useRoute } from "../../common/hashRoute";
import { ResourceDetail } from "./ResourceDetail";
import { ResourceFilters } from "./ResourceFilters";
import { ResourceTable } from "./ResourceTable";

/** Filters, the table, and the detail panel of the resource named in the URL. */
export function ResourcesPage({ selected }: { selected: string | null }) {
  const [, navigate] = useRoute();
  const open = useCallback(
    (resource: string) => {
      navigate({ view: "resources", resource });
    },
    [navigate],
  );
  const close = useCallback(() => {
    navigate({ view: "resources", resource: null });
  }, [navigate]);

  return (
    <Box sx={{ display: "flex", flex: 1, minHeight: 0 }}>
      <Box
        component="section"
        aria-label="Resource table"
        sx={{
          display: "flex",
          flexDirection: "column",
          flex: 1,
          minWidth: 0,
          bgcolor: "background.paper",
        }}
      >
        <ResourceFilters />
        <ResourceTable selected={selected} onOpen={open} />
      </Box>
      {selected !== null && (
        <Box
          sx={{
            width: { xs: "100%", md: 460 },
            flexShrink: 0,
            borderLeft: 1,
            borderColor: "divider",
            display: "flex",
            minHeight: 0,
            position: { xs: "absolute", md: "static" },
            inset: { xs: 0, md: "auto" },
            zIndex: 2,
          }}
        >
          <ResourceDetail key={selected} id={selected} onClose={close} />
        </Box>
      )}
    </Box>
  );
}
