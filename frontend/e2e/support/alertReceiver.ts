/**
 * A webhook for the hub's alerts: keeps the JSON body of every POST to `/hook`, answers 200,
 * on 127.0.0.1 and a free port.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export type AlertBody = Record<string, unknown>;

export class AlertReceiver {
  readonly bodies: AlertBody[] = [];

  private constructor(private readonly server: Server) {}

  static async start(): Promise<AlertReceiver> {
    const receiver: AlertReceiver = new AlertReceiver(
      createServer((request, response) => {
        const chunks: Buffer[] = [];
        request.on("data", (chunk: Buffer) => chunks.push(chunk));
        request.on("end", () => {
          if (request.method === "POST" && request.url === "/hook") {
            receiver.bodies.push(JSON.parse(Buffer.concat(chunks).toString()) as AlertBody);
          }
          response.writeHead(200).end();
        });
      }),
    );
    await new Promise<void>((listening) => receiver.server.listen(0, "127.0.0.1", listening));
    return receiver;
  }

  get url(): string {
    const { port } = this.server.address() as AddressInfo;
    return `http://127.0.0.1:${String(port)}/hook`;
  }

  /** Waits until `count` POSTs have come; fails naming what did come. */
  async waitForPosts(count: number, timeout: number): Promise<void> {
    const deadline = Date.now() + timeout;
    while (this.bodies.length < count) {
      if (Date.now() > deadline) {
        throw new Error(
          `expected ${String(count)} alert POSTs within ${String(timeout)} ms, got ${JSON.stringify(this.bodies)}`,
        );
      }
      await new Promise((tick) => setTimeout(tick, 100));
    }
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((closed) => this.server.close(closed));
  }
}
