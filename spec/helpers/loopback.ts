import { createSocket, type Socket } from 'node:dgram';

import { napi } from '../../src/native/binding';
import { ConnectionParams } from '../../src/settings/ConnectionParams';
import type { QuicSettings } from '../../src/settings/QuicSettings';

/** A CA and a leaf certificate for localhost / 127.0.0.1 / ::1 signed by it, made fresh per call. */
export function testCertificates(): { ca: string; cert: string; key: string } {
  const ca = napi.generateCertificate({ isCa: true, commonName: 'rxjs-quiche test CA', subjectAltNames: [] });
  const leaf = napi.generateCertificate({ issuerCert: ca.cert, issuerKey: ca.key });
  return { ca: ca.cert, cert: leaf.cert, key: leaf.key };
}

/** Binds a UDP socket on loopback (port 0 unless given). */
export function bindUdp(type: 'udp4' | 'udp6' = 'udp4', port = 0): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = createSocket(type);
    socket.once('error', reject);
    socket.bind(port, type === 'udp4' ? '127.0.0.1' : '::1', () => {
      socket.off('error', reject);
      resolve(socket);
    });
  });
}

/** Closes sockets, ignoring ones already closed. */
export function closeAll(...sockets: Socket[]): void {
  for (const s of sockets) {
    try {
      s.close();
    } catch {
      // already closed
    }
  }
}

/** Server and client parameters that trust each other, for raw QUIC (ALPN `echo`). */
export function loopbackParams(
  server: Partial<QuicSettings> = {},
  client: Partial<QuicSettings> = {},
  certs = testCertificates(),
): { server: ConnectionParams; client: ConnectionParams; certs: ReturnType<typeof testCertificates> } {
  return {
    server: ConnectionParams.newServer({ alpn: ['echo'], ...server }, { certChain: certs.cert, privateKey: certs.key }),
    client: ConnectionParams.newClient({ alpn: ['echo'], ...client }, undefined, {}, { trust: { ca: certs.ca } }),
    certs,
  };
}

/** Resolves after `ms` milliseconds of real time. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
