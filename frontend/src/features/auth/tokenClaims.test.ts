import { describe, expect, it } from "vitest";
import { base64Url, unsignedJwt as jwt } from "../../test/tokens";
import { readTokenClaims } from "./tokenClaims";

describe("token claims", () => {
  it("reads sub, roles, res and exp for display", () => {
    expect(
      readTokenClaims(
        jwt({ sub: "ops", roles: ["viewer", "publisher"], res: ["svc/**"], exp: 1_900_000_000 }),
      ),
    ).toEqual({
      sub: "ops",
      roles: ["viewer", "publisher"],
      res: ["svc/**"],
      expiresAt: 1_900_000_000_000,
    });
  });

  it("defaults res to everything and accepts comma-separated text", () => {
    expect(readTokenClaims(jwt({ sub: "ops", roles: "viewer,admin" }))).toMatchObject({
      roles: ["viewer", "admin"],
      res: ["**"],
      expiresAt: null,
    });
  });

  it("reads non-ASCII subjects", () => {
    expect(readTokenClaims(jwt({ sub: "Zoë" }))?.sub).toBe("Zoë");
  });

  it("returns null for text that is not a JWT", () => {
    expect(readTokenClaims("not a token")).toBeNull();
    expect(readTokenClaims("a.b")).toBeNull();
    expect(readTokenClaims("a.%%%.c")).toBeNull();
    expect(readTokenClaims(`a.${base64Url([1, 2])}.c`)).toBeNull();
  });
});
