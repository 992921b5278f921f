import { release } from 'node:os';

import { detectSocketCapabilities } from '../../src/socket/detectSocketCapabilities';

/** The running kernel's version as [major, minor], or null off Linux. */
function kernelVersion(): [number, number] | null {
  if (process.platform !== 'linux') return null;
  const [major, minor] = release().split('.').map((n) => parseInt(n, 10));
  return [major!, minor!];
}

function atLeast(v: [number, number], major: number, minor: number): boolean {
  return v[0] > major || (v[0] === major && v[1] >= minor);
}

describe('detectSocketCapabilities', () => {
  it.each(['udp4', 'udp6'] as const)('reports what the %s kernel socket accepts', (family) => {
    const caps = detectSocketCapabilities(family);
    const kernel = kernelVersion();
    if (kernel === null) {
      expect(caps).toEqual({ gso: false, gro: false, txtime: false, checkUdpDrop: false, mmsg: false, pktinfo: false });
      return;
    }
    // UDP_SEGMENT arrived in Linux 4.18, UDP_GRO in 5.0, SO_TXTIME in 4.19; SO_RXQ_OVFL long before.
    expect(caps.gso).toBe(atLeast(kernel, 4, 18));
    expect(caps.gro).toBe(atLeast(kernel, 5, 0));
    expect(caps.txtime).toBe(atLeast(kernel, 4, 19));
    expect(caps.checkUdpDrop).toBe(true);
    expect(caps.mmsg).toBe(true);
    // IP_PKTINFO and IPV6_RECVPKTINFO are older than any kernel Node runs on.
    expect(caps.pktinfo).toBe(true);
    expect(Object.isFrozen(caps)).toBe(true);
  });
});
