import { secureRandomBytes } from './secureRandomBytes';

/**
 * Makes the source connection IDs a server hands out: tokio-quiche's `ConnectionIdGenerator`.
 *
 * A load balancer that routes by connection ID wants routing information encoded in them; give
 * `listen$()` a generator that does so. Clients always use {@link SimpleConnectionIdGenerator}, and
 * (unlike tokio-quiche's) keep spare IDs issued too, so that they can migrate.
 */
export interface ConnectionIdGenerator {
  /** The length of every ID this generator makes (1 to 20 bytes); the router reads short headers with it. */
  readonly length: number;
  /** A new connection ID of {@link length} bytes. */
  newConnectionId(): Uint8Array;
  /**
   * Checks a connection ID the router does not know (telemetry only: a packet for an unknown CID
   * that this generator could not have made is counted apart). Throw to reject it.
   */
  verifyConnectionId(cid: Uint8Array): void;
}

/**
 * The default {@link ConnectionIdGenerator}: random connection IDs of 20 bytes.
 */
export class SimpleConnectionIdGenerator implements ConnectionIdGenerator {
  /**
   * @param length The length of every ID. Defaults to `20`, QUIC v1's maximum.
   */
  constructor(readonly length = 20) {
    if (!Number.isInteger(length) || length < 1 || length > 20) {
      throw new RangeError(`connection ID length must be 1 to 20, got ${length}`);
    }
  }

  newConnectionId(): Uint8Array {
    return secureRandomBytes(this.length);
  }

  verifyConnectionId(): void {}
}
