/** Unsigned JWTs for tests: the SPA reads a token's claims but never checks its signature. */

/** base64url of the value's JSON in UTF-8, as a JWT encodes its parts. */
export const base64Url = (value: unknown) =>
  btoa(String.fromCharCode(...new TextEncoder().encode(JSON.stringify(value))))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");

/** A JWT carrying `claims`, with a signature no hub would accept. */
export const unsignedJwt = (claims: unknown) =>
  `${base64Url({ alg: "HS256", typ: "JWT" })}.${base64Url(claims)}.signature`;
