/**
 * Hub messages with the names and values that break naive clients, as bytes: for tests that
 * feed them through the real decoder (`FakeHub.sayBytes`, `decodeFrame`).
 */
import { Encoder } from "@msgpack/msgpack";

/**
 * Names every plain object already answers to, or that set its prototype when assigned
 * (`__proto__`); @msgpack/msgpack refuses to decode the first three as map keys.
 */
export const PROTOTYPE_NAMES = [
  "__proto__",
  "constructor",
  "prototype",
  "toString",
  "hasOwnProperty",
  "valueOf",
  "isPrototypeOf",
] as const;

/** A map holding exactly `pairs` (`Object.fromEntries` makes `__proto__` an own entry). */
export const mapOf = <V>(pairs: Iterable<readonly [string, V]>): Record<string, V> =>
  Object.fromEntries(pairs);

/** bigints go out as MessagePack uint64/int64, as a hub sends integers past 32 bits. */
const wire = new Encoder({ useBigInt64: true });

/** One hub message as the socket carries it. */
export const hubBytes = (frame: Record<string, unknown>): Uint8Array => wire.encode(frame);

/** 2^64 - 1 and -2^63: the widest integers MessagePack carries. */
export const U64_MAX = 2n ** 64n - 1n;
export const I64_MIN = -(2n ** 63n);
