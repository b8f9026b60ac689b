/**
 * A hand-rolled WebSocket client over a raw TCP connection (RFC 6455), for
 * tests that need what a well-behaved client never does: stop reading, send
 * one byte at a time, send text frames, or hang in the middle of a frame.
 */

import { concat } from "../../lib/util/bytes.ts";

export class RawWebSocket {
  /** The code of the server's close frame, once `readToEnd` saw one (null for an empty close). */
  closeCode: number | null | undefined;
  private constructor(readonly conn: Deno.Conn, readonly leftover: Uint8Array) {}

  /** Opens `path` on 127.0.0.1:`port` (over TLS when `caCerts` are given) and completes the upgrade handshake. */
  static async connect(port: number, path = "/", caCerts?: string[]): Promise<RawWebSocket> {
    const conn = caCerts
      ? await Deno.connectTls({ hostname: "localhost", port, caCerts })
      : await Deno.connect({ hostname: "127.0.0.1", port });
    const key = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))));
    const request = `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\n` +
      `Connection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`;
    await conn.write(new TextEncoder().encode(request));
    let response: Uint8Array = new Uint8Array(0);
    for (;;) {
      const buffer = new Uint8Array(4096);
      const n = await conn.read(buffer);
      if (n === null) throw new Error("EOF during WebSocket handshake");
      response = concat([response, buffer.subarray(0, n)]);
      const text = new TextDecoder().decode(response);
      const end = text.indexOf("\r\n\r\n");
      if (end >= 0) {
        if (!text.startsWith("HTTP/1.1 101")) throw new Error(`upgrade refused: ${text.split("\r\n")[0]}`);
        return new RawWebSocket(conn, response.subarray(end + 4));
      }
    }
  }

  /** One masked frame with `opcode` (2 binary, 1 text, 8 close) and FIN set unless `fin` is false. */
  static frame(payload: Uint8Array, opcode = 2, fin = true): Uint8Array {
    const mask = crypto.getRandomValues(new Uint8Array(4));
    const header: number[] = [(fin ? 0x80 : 0) | opcode];
    if (payload.length < 126) header.push(0x80 | payload.length);
    else if (payload.length < 65536) header.push(0x80 | 126, payload.length >> 8, payload.length & 0xff);
    else {
      header.push(0x80 | 127, 0, 0, 0, 0);
      for (let shift = 24; shift >= 0; shift -= 8) header.push((payload.length >>> shift) & 0xff);
    }
    const masked = payload.map((byte, i) => byte ^ mask[i % 4]);
    return concat([new Uint8Array(header), mask, masked]);
  }

  /** Writes raw bytes (a frame, or part of one). */
  async writeRaw(bytes: Uint8Array): Promise<void> {
    let offset = 0;
    while (offset < bytes.length) offset += await this.conn.write(bytes.subarray(offset));
  }

  /** Sends `payload` as one binary frame. */
  send(payload: Uint8Array, opcode = 2): Promise<void> {
    return this.writeRaw(RawWebSocket.frame(payload, opcode));
  }

  /**
   * Reads frames until the server's close frame (answered, then the socket is
   * closed), EOF or an error; resolves with the payload bytes received.
   */
  async readToEnd(): Promise<number> {
    let buffer: Uint8Array = this.leftover;
    let payload = 0;
    const chunk = new Uint8Array(64 * 1024);
    for (;;) {
      // Parse every whole frame in the buffer (server frames are not masked).
      for (;;) {
        if (buffer.length < 2) break;
        let length = buffer[1] & 0x7f;
        let offset = 2;
        if (length === 126) {
          if (buffer.length < 4) break;
          length = (buffer[2] << 8) | buffer[3];
          offset = 4;
        } else if (length === 127) {
          if (buffer.length < 10) break;
          length = Number(new DataView(buffer.buffer, buffer.byteOffset + 2, 8).getBigUint64(0));
          offset = 10;
        }
        if (buffer.length < offset + length) break;
        const opcode = buffer[0] & 0x0f;
        if (opcode === 8) {
          this.closeCode = length >= 2 ? (buffer[offset] << 8) | buffer[offset + 1] : null;
          await this.writeRaw(RawWebSocket.frame(buffer.slice(offset, offset + Math.min(length, 2)), 8))
            .catch(() => {});
          this.close();
          return payload;
        }
        payload += length;
        buffer = buffer.subarray(offset + length);
      }
      const n = await this.conn.read(chunk).catch(() => null);
      if (n === null) return payload;
      buffer = concat([buffer, chunk.subarray(0, n)]);
    }
  }

  close(): void {
    try {
      this.conn.close();
    } catch {
      // already closed
    }
  }
}
