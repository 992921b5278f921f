import { createHash, randomBytes } from 'node:crypto';

import { napi } from '../../src/native/binding';
import { NativePair } from '../helpers/nativePair';

/** One direction of a transfer: what to send, what was sent and what arrived. */
class Transfer {
  /** Bytes of `data` that the stream has taken. */
  written = 0;
  /** `streamSend` calls that returned `null` (no capacity) or took less than offered. */
  blocked = 0;
  /** Bytes read at the far end. */
  received = 0;
  /** Whether the far end read the FIN. */
  finished = false;
  private readonly digest = createHash('sha256');

  constructor(readonly data: Buffer) {}

  /** Writes as much as the stream takes now, in 64 KiB chunks, with the FIN on the last byte. */
  write(conn: napi.Connection, streamId: number): void {
    while (this.written < this.data.length) {
      const chunk = this.data.subarray(this.written, this.written + 64 * 1024);
      const fin = this.written + chunk.length === this.data.length;
      const taken = conn.streamSend(streamId, chunk, fin);
      if (taken === null) {
        this.blocked += 1;
        return;
      }
      this.written += taken;
      if (taken < chunk.length) {
        this.blocked += 1;
        return;
      }
    }
  }

  /** Reads everything readable at the far end into the running hash. */
  read(conn: napi.Connection, streamId: number, buf: Uint8Array): void {
    // Once both directions are done quiche collects the stream, and reading it is then an error.
    if (this.finished) return;
    for (;;) {
      const read = conn.streamRecv(streamId, buf);
      if (read === null) return;
      this.digest.update(buf.subarray(0, read.bytes));
      this.received += read.bytes;
      if (read.fin) {
        this.finished = true;
        return;
      }
    }
  }

  sentHash(): string {
    return createHash('sha256').update(this.data).digest('hex');
  }

  receivedHash(): string {
    return this.digest.digest('hex');
  }
}

describe('native stream transfer', () => {
  it('should carry 10 MiB each way on one bidirectional stream, byte for byte, under flow control', () => {
    const size = 10 * 1024 * 1024;
    // Windows far below the transfer size: every few hundred KiB the sender must wait for MAX_DATA.
    const windows: napi.ConfigOptions = {
      initialMaxData: 512 * 1024,
      initialMaxStreamDataBidiLocal: 128 * 1024,
      initialMaxStreamDataBidiRemote: 128 * 1024,
      maxConnectionWindow: 512 * 1024,
      maxStreamWindow: 256 * 1024,
    };
    const pair = NativePair.connect({ client: windows, server: windows });
    pair.handshake();

    const upload = new Transfer(randomBytes(size));
    const download = new Transfer(randomBytes(size));
    const clientBuf = new Uint8Array(64 * 1024);
    const serverBuf = new Uint8Array(64 * 1024);
    const streamId = 0;

    let rounds = 0;
    while (!(upload.finished && download.finished)) {
      rounds += 1;
      if (rounds > 100_000) throw new Error(`stalled: up ${upload.received}, down ${download.received}`);
      upload.write(pair.client, streamId);
      // The server answers on the client's stream once the stream exists at its end.
      if (upload.received > 0) download.write(pair.server, streamId);
      pair.advance();
      upload.read(pair.server, streamId, serverBuf);
      download.read(pair.client, streamId, clientBuf);
    }

    expect(upload.received).toBe(size);
    expect(download.received).toBe(size);
    expect(upload.receivedHash()).toBe(upload.sentHash());
    expect(download.receivedHash()).toBe(download.sentHash());

    // Flow control really held both senders back, and both saw the other blocked.
    expect(upload.blocked).toBeGreaterThan(10);
    expect(download.blocked).toBeGreaterThan(10);
    const client = pair.client.stats();
    const server = pair.server.stats();
    expect(client.streamDataBlockedSentCount + client.dataBlockedSentCount).toBeGreaterThan(0);
    expect(server.streamDataBlockedRecvCount + server.dataBlockedRecvCount).toBeGreaterThan(0);
    expect(server.streamDataBlockedSentCount + server.dataBlockedSentCount).toBeGreaterThan(0);
    expect(client.streamDataBlockedRecvCount + client.dataBlockedRecvCount).toBeGreaterThan(0);

    // Packets crossed in GSO-style batches, each received as one GRO-style recv() call.
    expect(pair.datagramsMoved / pair.batchesMoved).toBeGreaterThan(2);

    // Nothing is lost in memory, and the stream is finished at both ends.
    expect(client.lost).toBe(0);
    expect(server.lost).toBe(0);
    expect(pair.client.streamFinished(streamId)).toBe(true);
    expect(pair.server.streamFinished(streamId)).toBe(true);
    pair.advance();
    expect(pair.client.streamClosed(streamId)).toBe(true);
  });
});
