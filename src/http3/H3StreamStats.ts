/**
 * What happened on one request stream: tokio-quiche's `H3AuditStats`, as a live object the driver
 * updates while the stream is open (read it any time; it keeps its last values after the stream
 * closes). Codes are `null` until the frame was sent or received.
 */
export class H3StreamStats {
  /** Body bytes written to the peer. */
  bytesSent = 0;
  /** Body bytes read from the peer. */
  bytesReceived = 0;
  /** Our FIN was written. */
  sentFin = false;
  /** The peer's FIN was read. */
  receivedFin = false;
  /** The code of the RESET_STREAM we sent. */
  sentResetCode: number | null = null;
  /** The code of the RESET_STREAM the peer sent. */
  receivedResetCode: number | null = null;
  /** The code of the STOP_SENDING we sent. */
  sentStopSendingCode: number | null = null;
  /** The code of the STOP_SENDING the peer sent. */
  receivedStopSendingCode: number | null = null;

  /** @param streamId The stream these are for. */
  constructor(readonly streamId: number) {}
}
