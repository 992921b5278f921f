/**
 * Timing of a connection's handshake: tokio-quiche's `HandshakeInfo`.
 *
 * Times are in milliseconds on the clock of the scheduler that drives the connection.
 */
export class HandshakeInfo {
  private elapsedMs = 0;

  /**
   * @param startTime When the handshake started (the first Initial was received or sent).
   * @param timeout The handshake timeout in milliseconds, if any.
   */
  constructor(
    readonly startTime: number,
    readonly timeout?: number,
  ) {}

  /** How long the handshake took; `0` until it completes. */
  get elapsed(): number {
    return this.elapsedMs;
  }

  /** When the handshake times out, or `undefined` without a timeout. */
  get deadline(): number | undefined {
    return this.timeout === undefined ? undefined : this.startTime + this.timeout;
  }

  /** Whether the deadline has passed at `now`. */
  isExpired(now: number): boolean {
    const deadline = this.deadline;
    return deadline !== undefined && now >= deadline;
  }

  /** @internal Records the handshake's duration when it completes. */
  setElapsed(now: number): void {
    this.elapsedMs = now - this.startTime;
  }
}
