import type { QuicConnectionStats } from './QuicConnectionStats';

/**
 * A connection's transport statistics in the flat shape tokio-quiche's `SocketStats` gives them
 * (its `AsSocketStats` mapping of `QuicConnectionStats`). Times are in microseconds; path figures
 * are the first path's, 0 when there is none.
 */
export interface SocketStats {
  readonly pmtu: number;
  readonly rttUs: number;
  readonly minRttUs: number;
  readonly maxRttUs: number;
  readonly rttVarUs: number;
  readonly cwnd: number;
  readonly totalPtoCount: number;
  readonly packetsSent: number;
  readonly packetsRecvd: number;
  readonly packetsLost: number;
  readonly packetsLostSpurious: number;
  readonly packetsRetrans: number;
  readonly bytesSent: number;
  readonly bytesRecvd: number;
  readonly bytesLost: number;
  readonly bytesRetrans: number;
  /** Always 0, as in tokio-quiche. */
  readonly bytesUnsent: number;
  readonly deliveryRate: number;
  readonly maxBandwidth: number;
  readonly startupExit?: { readonly cwnd: number; readonly bandwidth?: number; readonly reason: string };
  readonly bytesInFlightDurationUs: number;
}

/** Maps {@link QuicConnectionStats} to {@link SocketStats}, field by field as tokio-quiche does. */
export function toSocketStats({ stats: s, pathStats: p }: QuicConnectionStats): SocketStats {
  return {
    pmtu: p?.pmtu ?? 0,
    rttUs: p?.rttUs ?? 0,
    minRttUs: p?.minRttUs ?? 0,
    maxRttUs: p?.maxRttUs ?? 0,
    rttVarUs: p?.rttVarUs ?? 0,
    cwnd: p?.cwnd ?? 0,
    totalPtoCount: p?.totalPtoCount ?? 0,
    packetsSent: s.sent,
    packetsRecvd: s.recv,
    packetsLost: s.lost,
    packetsLostSpurious: s.spuriousLost,
    packetsRetrans: s.retrans,
    bytesSent: s.sentBytes,
    bytesRecvd: s.recvBytes,
    bytesLost: s.lostBytes,
    bytesRetrans: s.streamRetransBytes,
    bytesUnsent: 0,
    deliveryRate: p?.deliveryRate ?? 0,
    maxBandwidth: p?.maxBandwidth ?? 0,
    ...(p?.startupExitReason
      ? {
          startupExit: {
            cwnd: p.startupExitCwnd ?? 0,
            ...(p.startupExitBandwidth !== undefined && p.startupExitBandwidth !== null ? { bandwidth: p.startupExitBandwidth } : {}),
            reason: p.startupExitReason,
          },
        }
      : {}),
    bytesInFlightDurationUs: s.bytesInFlightDurationUs,
  };
}
