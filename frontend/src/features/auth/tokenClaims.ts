/**
 * Reads a JWT's payload for display only: who the token names (`sub`), its `roles`, the
 * resource patterns it may touch (`res`) and when it expires. Nothing here verifies a
 * signature; the hub does that, and its answer is the only one that counts.
 */

export interface TokenClaims {
  sub: string | null;
  roles: string[];
  /** Patterns the token may touch; `["**"]` when the claim is absent (the contract's default). */
  res: string[];
  /** Unix ms, or null when the token has no `exp`. */
  expiresAt: number | null;
}

const isMap = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

const textList = (value: unknown): string[] | null => {
  if (typeof value === "string") return value.split(/[\s,]+/).filter((item) => item !== "");
  if (Array.isArray(value)) return value.filter((item): item is string => typeof item === "string");
  return null;
};

function decodeBase64Url(segment: string): string {
  const base64 = segment.replace(/-/g, "+").replace(/_/g, "/");
  const padded = base64 + "=".repeat((4 - (base64.length % 4)) % 4);
  const bytes = Uint8Array.from(atob(padded), (char) => char.charCodeAt(0));
  return new TextDecoder().decode(bytes);
}

/** The claims of `token`, or null when it is not a JWT (three dot-separated parts, JSON payload). */
export function readTokenClaims(token: string): TokenClaims | null {
  const parts = token.trim().split(".");
  const payload = parts[1];
  if (parts.length !== 3 || payload === undefined) return null;
  let claims: unknown;
  try {
    claims = JSON.parse(decodeBase64Url(payload));
  } catch {
    return null;
  }
  if (!isMap(claims)) return null;
  return {
    sub: typeof claims.sub === "string" ? claims.sub : null,
    roles: textList(claims.roles) ?? [],
    res: textList(claims.res) ?? ["**"],
    expiresAt: typeof claims.exp === "number" ? claims.exp * 1000 : null,
  };
}
