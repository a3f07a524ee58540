// @vitest-environment node
/**
 * Golden frames shared with the Rust side: `protocol/fixtures/<name>.json` and `<name>.msgpack`
 * hold the same frame. Both must decode to the same value, and that value must pass the
 * runtime guard for the frame type its `t` names, so a frame that drifts on either side fails.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { basename, extname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { decode } from "@msgpack/msgpack";
import { describe, expect, it } from "vitest";
import { isClientFrame, isServerFrame, type ClientFrame, type ServerFrame } from "@protocol/frames";

const fixtures = fileURLToPath(new URL("../../protocol/fixtures", import.meta.url));

/** Every `t` of the contract, client and hub side (`history` is both). */
const FRAME_TYPES: readonly (ClientFrame["t"] | ServerFrame["t"])[] = [
  "hello",
  "sub",
  "unsub",
  "pub",
  "get",
  "history",
  "ping",
  "welcome",
  "ok",
  "ack",
  "snapshot",
  "delta",
  "removed",
  "error",
  "pong",
];

/**
 * The guard for a fixture: `client-*` files hold client frames and `server-*` files hub frames
 * (the Rust side's naming); a file named otherwise may hold either.
 */
function guardFor(name: string): (value: unknown) => boolean {
  if (name.startsWith("client-")) return isClientFrame;
  if (name.startsWith("server-")) return isServerFrame;
  return (value) => isClientFrame(value) || isServerFrame(value);
}

if (!existsSync(fixtures)) {
  console.warn(`golden frames: ${fixtures} does not exist yet; nothing to check`);
  describe.skip("golden frames (protocol/fixtures does not exist yet)", () => {
    it("decodes each fixture", () => undefined);
  });
} else {
  const files = readdirSync(fixtures);
  const names = [
    ...new Set(
      files
        .filter((file) => [".json", ".msgpack"].includes(extname(file)))
        .map((file) => basename(file, extname(file))),
    ),
  ].sort();
  const read = (name: string) => {
    const json: unknown = JSON.parse(readFileSync(join(fixtures, `${name}.json`), "utf8"));
    const msgpack = decode(readFileSync(join(fixtures, `${name}.msgpack`)));
    return { json, msgpack };
  };

  describe("golden frames in protocol/fixtures", () => {
    it("come as pairs: every <name>.json has a <name>.msgpack and the other way round", () => {
      const unpaired = names.filter(
        (name) => !files.includes(`${name}.json`) || !files.includes(`${name}.msgpack`),
      );
      expect(unpaired).toEqual([]);
    });

    it.each(
      names.filter((name) => files.includes(`${name}.json`) && files.includes(`${name}.msgpack`)),
    )("%s decodes to the same frame from JSON and MessagePack, of the type its t names", (name) => {
      const { json, msgpack } = read(name);
      expect(msgpack).toStrictEqual(json);
      expect(json).toHaveProperty("t");
      expect(guardFor(name)(json), `${name}.json: ${JSON.stringify(json)}`).toBe(true);
    });

    it("cover every frame type of the contract", () => {
      const seen = new Set(
        names
          .filter((name) => files.includes(`${name}.json`))
          .map((name) => (read(name).json as { t?: unknown }).t),
      );
      expect(FRAME_TYPES.filter((type) => !seen.has(type))).toEqual([]);
    });
  });
}
