/**
 * A test's own agent: publishes to the hub over the WebSocket with the JSON subprotocol
 * (text frames, the same maps as MessagePack), and waits for each `ack`.
 */
import { SUBPROTOCOL_JSON, isServerFrame, type PubFrame, type ServerFrame } from "@protocol/frames";
import WebSocket from "ws";

type Change = Omit<PubFrame, "t" | "id">;

const ANSWER_WITHIN_MS = 15_000;

export class Publisher {
  private nextId = 1;
  private readonly waiting = new Map<number, (frame: ServerFrame) => void>();

  private constructor(private readonly socket: WebSocket) {
    socket.on("message", (data: Buffer) => {
      const frame: unknown = JSON.parse(data.toString());
      if (!isServerFrame(frame) || !("id" in frame)) return;
      const answer = this.waiting.get(frame.id);
      this.waiting.delete(frame.id);
      answer?.(frame);
    });
  }

  /** Connects to `hubUrl` (http://HOST:PORT) and says hello (with `token` when given). */
  static async connect(hubUrl: string, token?: string): Promise<Publisher> {
    const socket = new WebSocket(`${hubUrl.replace(/^http/, "ws")}/ws`, SUBPROTOCOL_JSON, {
      origin: hubUrl,
    });
    await new Promise<void>((open, fail) => {
      socket.once("open", () => {
        open();
      });
      socket.once("error", fail);
    });
    const publisher = new Publisher(socket);
    const welcome = await publisher.request({ t: "hello", id: 0, ...(token ? { token } : {}) });
    if (welcome.t !== "welcome")
      throw new Error(`hello was answered with ${JSON.stringify(welcome)}`);
    return publisher;
  }

  private request(
    frame: { t: string; id: number } & Record<string, unknown>,
  ): Promise<ServerFrame> {
    const id = this.nextId++;
    return new Promise((answer, fail) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        fail(new Error(`no answer to ${frame.t} ${String(id)} within 15 s`));
      }, ANSWER_WITHIN_MS);
      this.waiting.set(id, (reply) => {
        clearTimeout(timer);
        answer(reply);
      });
      this.socket.send(JSON.stringify({ ...frame, id }));
    });
  }

  /** Publishes one change; resolves with the acknowledged seq. */
  async publish(change: Change): Promise<number> {
    const answer = await this.request({ t: "pub", id: 0, ...change });
    if (answer.t !== "ack")
      throw new Error(`pub ${change.resource} was answered with ${JSON.stringify(answer)}`);
    return answer.seq;
  }

  /** Publishes many changes with up to `inFlight` unacknowledged at a time. */
  async publishAll(changes: Change[], inFlight = 256): Promise<void> {
    let next = 0;
    const lane = async () => {
      while (next < changes.length) {
        const change = changes[next++];
        if (change !== undefined) await this.publish(change);
      }
    };
    await Promise.all(Array.from({ length: inFlight }, lane));
  }

  close() {
    this.socket.close(1000);
  }
}
