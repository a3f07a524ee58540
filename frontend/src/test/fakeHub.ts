/**
 * A fake socket for the hub middleware: records what the middleware sent and lets a test play
 * the hub. The one place a fake is allowed, because there the unit under test is the protocol
 * state machine, not the socket; the e2e specs drive a real hub.
 */
import type { ClientFrame, ServerFrame } from "@protocol/frames";
import { receiveMessage, type OpenSocket, type SocketEvents } from "../hub/connection";

/** One fake socket per connect: what the middleware sent, and a way to play the hub. */
export class FakeHub {
  sockets: { events: SocketEvents; sent: ClientFrame[]; closedWith: number | null }[] = [];
  readonly openSocket: OpenSocket = (_url, events) => {
    const socket = { events, sent: [] as ClientFrame[], closedWith: null as number | null };
    this.sockets.push(socket);
    return {
      send: (frame) => socket.sent.push(frame),
      close: (code) => {
        socket.closedWith = code;
      },
    };
  };
  get current() {
    const socket = this.sockets.at(-1);
    if (socket === undefined) throw new Error("no socket was opened");
    return socket;
  }
  open() {
    this.current.events.opened();
  }
  say(...frames: ServerFrame[]) {
    for (const frame of frames) this.current.events.frameReceived(frame);
  }
  /**
   * Plays the hub's messages as bytes, read as the browser's socket reads them: through the
   * real decoder, so a test can send what no `ServerFrame` can spell.
   */
  sayBytes(...messages: Uint8Array[]) {
    for (const bytes of messages) {
      const data = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
      receiveMessage(data, this.current.events);
    }
  }
  close(code: number, reason = "") {
    this.current.events.closed(code, reason);
  }
  sent<T extends ClientFrame["t"]>(type: T) {
    return this.current.sent.filter(
      (frame): frame is Extract<ClientFrame, { t: T }> => frame.t === type,
    );
  }
}
