//! Socket capability detection: what the kernel lets a UDP socket do beyond
//! plain `sendto`/`recvfrom`. tokio-quiche's `SocketCapabilities` tries each
//! option on the listening socket; here a throwaway socket is probed, so the
//! answer is known before any socket is bound. The native batched socket that
//! uses these lives in the performance work; this is its detection half.

/// What the kernel accepted on a probe socket.
#[napi(object)]
pub struct SocketCapabilityProbe {
  /// UDP_SEGMENT (GSO): one `sendmsg` carries many equal-sized datagrams.
  pub gso: bool,
  /// UDP_GRO: one receive returns many datagrams from one peer.
  pub gro: bool,
  /// SO_TXTIME: the kernel releases datagrams at a given time (pacing).
  pub txtime: bool,
  /// SO_RXQ_OVFL: the kernel reports datagrams dropped for a full receive queue.
  pub check_udp_drop: bool,
  /// `recvmmsg`/`sendmmsg`: many datagrams per system call.
  pub mmsg: bool,
  /// IP_PKTINFO / IPV6_RECVPKTINFO: a wildcard-bound socket learns which
  /// local address each datagram was sent to, and can send from it.
  pub pktinfo: bool,
}

#[cfg(target_os = "linux")]
fn probe(family: libc::c_int) -> SocketCapabilityProbe {
  // SAFETY: plain socket syscalls on a descriptor we own and close.
  unsafe {
    let fd = libc::socket(family, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
    if fd < 0 {
      return SocketCapabilityProbe { gso: false, gro: false, txtime: false, check_udp_drop: false, mmsg: false, pktinfo: false };
    }
    let set = |level: libc::c_int, name: libc::c_int, value: &[u8]| -> bool {
      libc::setsockopt(fd, level, name, value.as_ptr().cast(), value.len() as libc::socklen_t) == 0
    };
    let one = 1i32.to_ne_bytes();
    let segment = 1200i32.to_ne_bytes();
    // struct sock_txtime { clockid_t clockid; u32 flags; }
    let mut txtime = [0u8; 8];
    txtime[..4].copy_from_slice(&(libc::CLOCK_MONOTONIC as i32).to_ne_bytes());
    let caps = SocketCapabilityProbe {
      gso: set(libc::SOL_UDP, libc::UDP_SEGMENT, &segment),
      gro: set(libc::SOL_UDP, libc::UDP_GRO, &one),
      txtime: set(libc::SOL_SOCKET, libc::SO_TXTIME, &txtime),
      check_udp_drop: set(libc::SOL_SOCKET, libc::SO_RXQ_OVFL, &one),
      mmsg: true,
      pktinfo: if family == libc::AF_INET {
        set(libc::IPPROTO_IP, libc::IP_PKTINFO, &one)
      } else {
        set(libc::IPPROTO_IPV6, libc::IPV6_RECVPKTINFO, &one)
      },
    };
    libc::close(fd);
    caps
  }
}

#[cfg(not(target_os = "linux"))]
fn probe(_family: i32) -> SocketCapabilityProbe {
  SocketCapabilityProbe { gso: false, gro: false, txtime: false, check_udp_drop: false, mmsg: false, pktinfo: false }
}

/// Probes what a UDP socket of the given family can do on this machine.
/// Defaults to IPv4.
#[napi(catch_unwind)]
pub fn probe_socket_capabilities(ipv6: Option<bool>) -> SocketCapabilityProbe {
  #[cfg(target_os = "linux")]
  let family = if ipv6.unwrap_or(false) { libc::AF_INET6 } else { libc::AF_INET };
  #[cfg(not(target_os = "linux"))]
  let family = { let _ = ipv6; 0 };
  probe(family)
}
