import type { HandshakeFailureReason, Metrics, RejectedPacketReason } from './Metrics';

/**
 * {@link Metrics} kept in memory: plain counters you can read or snapshot at any time.
 *
 * ## Example
 * ```ts
 * const metrics = new DefaultMetrics();
 * listen$(socket, params, { metrics }).subscribe(...);
 * setInterval(() => console.log(metrics.snapshot()), 10_000);
 * ```
 */
export class DefaultMetrics implements Metrics {
  /** Connections currently held (opened and not yet closed). */
  connectionsInMemory = 0;
  /** Initials accepted. */
  acceptedInitialPackets = 0;
  /** Datagrams dropped before a connection, by reason. */
  readonly rejectedPackets: Record<RejectedPacketReason, number> = {
    failedToParse: 0,
    wrongType: 0,
    unknownConnectionId: 0,
    tokenValidationFail: 0,
    acceptQueueOverflow: 0,
    connectionQueueFull: 0,
    notAccepting: 0,
    unexpected: 0,
  };
  /** Failed handshakes, by reason. */
  readonly failedHandshakes: Record<HandshakeFailureReason, number> = {
    cryptoFail: 0,
    tlsFail: 0,
    timeout: 0,
    disconnect: 0,
    other: 0,
  };
  /** Socket write errors. */
  writeErrors = 0;
  /** Packets held back by the anti-amplification limit (RFC 9000 §8.1). */
  amplificationLimitHits = 0;
  /** Retry packets sent. */
  retriesSent = 0;
  /** Version negotiation packets sent. */
  versionNegotiationsSent = 0;

  connectionOpened(): void {
    this.connectionsInMemory++;
  }
  connectionClosed(): void {
    this.connectionsInMemory--;
  }
  acceptedInitialPacket(): void {
    this.acceptedInitialPackets++;
  }
  rejectedPacket(reason: RejectedPacketReason): void {
    this.rejectedPackets[reason]++;
  }
  failedHandshake(reason: HandshakeFailureReason): void {
    this.failedHandshakes[reason]++;
  }
  writeError(): void {
    this.writeErrors++;
  }
  amplificationLimitHit(): void {
    this.amplificationLimitHits++;
  }
  retrySent(): void {
    this.retriesSent++;
  }
  versionNegotiationSent(): void {
    this.versionNegotiationsSent++;
  }

  /** A plain copy of every counter. */
  snapshot(): {
    connectionsInMemory: number;
    acceptedInitialPackets: number;
    rejectedPackets: Record<RejectedPacketReason, number>;
    failedHandshakes: Record<HandshakeFailureReason, number>;
    writeErrors: number;
    amplificationLimitHits: number;
    retriesSent: number;
    versionNegotiationsSent: number;
  } {
    return {
      connectionsInMemory: this.connectionsInMemory,
      acceptedInitialPackets: this.acceptedInitialPackets,
      rejectedPackets: { ...this.rejectedPackets },
      failedHandshakes: { ...this.failedHandshakes },
      writeErrors: this.writeErrors,
      amplificationLimitHits: this.amplificationLimitHits,
      retriesSent: this.retriesSent,
      versionNegotiationsSent: this.versionNegotiationsSent,
    };
  }
}
