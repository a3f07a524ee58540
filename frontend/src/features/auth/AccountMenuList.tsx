import LogoutIcon from "@mui/icons-material/Logout";
import Box from "@mui/material/Box";
import Divider from "@mui/material/Divider";
import Menu from "@mui/material/Menu";
import MenuItem from "@mui/material/MenuItem";
import { useAppDispatch } from "../../app/hooks";
import { signedOut } from "./authSlice";
import { ClaimsPreview } from "./ClaimsPreview";
import type { TokenClaims } from "./tokenClaims";

/**
 * The account menu's pop-up: the token's claims and sign-out. Its own chunk, loaded on the
 * first click, because a menu (popover, modal, focus trap) is a large part of a shell that
 * is otherwise only a bar of tabs.
 */
export function AccountMenuList({
  anchor,
  claims,
  onClose,
}: {
  anchor: HTMLElement | null;
  claims: TokenClaims;
  onClose: () => void;
}) {
  const dispatch = useAppDispatch();
  return (
    <Menu anchorEl={anchor} open={anchor !== null} onClose={onClose}>
      <Box sx={{ px: 2, py: 1, minWidth: 320 }}>
        <ClaimsPreview claims={claims} />
      </Box>
      <Divider />
      <MenuItem
        onClick={() => {
          onClose();
          dispatch(signedOut());
        }}
      >
        <LogoutIcon fontSize="small" sx={{ mr: 1 }} />
        Sign out
      </MenuItem>
    </Menu>
  );
}
