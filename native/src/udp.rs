//! A native Linux UDP socket for the hot path: GSO sends (`sendmsg` with a
//! UDP_SEGMENT control message), `sendmmsg` for mixed batches, and
//! `recvmmsg` receives (with UDP_GRO and SO_RXQ_OVFL) handed to JavaScript
//! one call per batch, read either on Node's own event loop (`uv_poll.rs`,
//! what JavaScript asks for by default) or by a receive thread that blocks
//! in `poll` and queues each batch through an unref'd threadsafe function.
//!
//! Sends happen on the JavaScript thread and never block (the socket is
//! non-blocking): EAGAIN/ENOBUFS and other write errors are counted and
//! reported as a number of datagrams not sent, never thrown; QUIC treats them
//! as loss. The receive thread is stopped by an eventfd; `close()` joins it
//! (or closes the loop's watcher). Off Linux, `bind` fails with `Unsupported`
//! and the TypeScript side falls back to `node:dgram`.

use crate::addr::SocketAddress;
use crate::error::Result;
#[cfg(target_os = "linux")]
use crate::error::{err, invalid_arg};

use napi::bindgen_prelude::{Buffer, Function, ToNapiValue, Uint32Array, Uint8Array};
use napi::Env;

/// One receive batch: every datagram (or GRO train) a `recvmmsg` returned,
/// handed to JavaScript as a single Buffer, so a batch costs one JavaScript
/// value however many messages it holds. Layout, in little-endian u32
/// words from the start (`src/socket/NativeUdpSocket.ts` reads it):
///
/// - word 0: messages `n`; word 1: datagrams the kernel dropped for a full
///   receive queue since the previous batch (SO_RXQ_OVFL; 0 when
///   unsupported); word 2: the peer index of the first new peer record;
///   word 3: new peer records `m`;
/// - `n` triples: byte length, GRO segment size (0: one datagram), peer index;
/// - `m` peer records: family (4 or 6), port, text length `L`, local text
///   length `K`, then the peer's address text in `L` bytes padded to a word,
///   then in `K` bytes padded to a word the local address the peer sent to
///   (only on a socket bound to a wildcard address, from IP_PKTINFO /
///   IPV6_PKTINFO; `K` is 0 otherwise: the bound address);
/// - the messages' bytes, back to back.
///
/// Peer indexes refer to a table both sides keep: the receiver numbers each
/// new pair of sender and local address and sends their addresses once, so
/// a batch from known peers creates no address strings or objects. When the
/// table is full it starts again at index 0 (the batch then re-sends its
/// peers from index 0).
pub struct RecvBatch {
  bytes: Vec<u8>,
  /// Messages in the batch.
  pub count: usize,
}

/// Batches up to this size are copied into memory V8 owns (by the loop
/// receiver into its slab, see `uv_poll.rs`; by the receive thread into a
/// Buffer per batch); larger ones are handed over as they are. Handing a
/// `Vec` over makes an external buffer: a finalizer, a weak handle and an
/// N-API reference per batch, created now and processed by a later GC. For
/// the one or two datagrams of a request that costs more than copying them;
/// for a bulk batch of GRO trains the copy would cost more.
pub(crate) const RECV_COPY_MAX: usize = 16 * 1024;

impl ToNapiValue for RecvBatch {
  unsafe fn to_napi_value(env: napi::sys::napi_env, val: Self) -> napi::Result<napi::sys::napi_value> {
    if val.bytes.len() > RECV_COPY_MAX {
      return Buffer::to_napi_value(env, val.bytes.into());
    }
    let mut value = std::ptr::null_mut();
    // SAFETY: the source is a live Vec of the given length; N-API copies it
    // (and may leave the copy's address unreported: null).
    let status = unsafe {
      napi::sys::napi_create_buffer_copy(env, val.bytes.len(), val.bytes.as_ptr().cast(), std::ptr::null_mut(), &mut value)
    };
    if status != napi::sys::Status::napi_ok {
      return Err(napi::Error::from_reason("cannot create the receive batch's Buffer"));
    }
    Ok(value)
  }
}

/// Counters of a native socket.
#[napi(object)]
pub struct UdpSocketStats {
  /// `sendmsg`/`sendmmsg`/`sendto` system calls made.
  pub send_calls: f64,
  /// Datagrams handed to the kernel.
  pub datagrams_sent: f64,
  /// Datagrams not sent because the socket buffer was full (EAGAIN/ENOBUFS).
  pub would_block: f64,
  /// Datagrams not sent for any other error.
  pub send_errors: f64,
  /// Receive batches handed to JavaScript.
  pub recv_batches: f64,
  /// Messages received (a GRO train counts once).
  pub recv_messages: f64,
  /// Datagrams the kernel dropped for a full receive queue (SO_RXQ_OVFL).
  pub rx_dropped: f64,
  /// Whether GSO is in use for uniform batches.
  pub gso: bool,
  /// Whether UDP_GRO is enabled on the socket.
  pub gro: bool,
  /// Whether SO_RXQ_OVFL drop counting is enabled on the socket.
  pub check_udp_drop: bool,
  /// Whether SO_TXTIME is enabled: sends can carry quiche's pacing time.
  pub txtime: bool,
  /// Send calls that carried a release time in the future (pacing).
  pub paced_sends: f64,
  /// Whether the socket is bound to a wildcard address and learns, with
  /// IP_PKTINFO / IPV6_RECVPKTINFO, which of the host's addresses each peer
  /// sent to, so what it sends that peer leaves from that address.
  pub pktinfo: bool,
}

#[cfg(target_os = "linux")]
#[path = "uv_poll.rs"]
mod uv_poll;

#[cfg(target_os = "linux")]
mod imp {
  use std::mem;
  use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
  use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
  use std::sync::Arc;
  use std::thread::JoinHandle;

  use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
  use napi::Status;

  use super::*;

  /// Messages per `recvmmsg`.
  pub const RECV_MSGS: usize = 32;
  /// Room per message: a full GRO train.
  const RECV_MSG_SIZE: usize = 65536;
  /// Batches queued to JavaScript before the thread stops reading (the
  /// kernel queue then absorbs or drops, which is the right place for it).
  const MAX_PENDING: usize = 16;
  /// The kernel's limit on segments per GSO send.
  const GSO_MAX_SEGMENTS: usize = 64;
  /// Bytes per GSO send (UDP length limit, less headers).
  const GSO_MAX_BYTES: usize = 65000;
  /// Messages per `sendmmsg`.
  const SEND_MMSG: usize = 64;

  pub type BatchFn = ThreadsafeFunction<RecvBatch, (), RecvBatch, Status, false, true>;

  pub struct Shared {
    pub fd: libc::c_int,
    pub wake: libc::c_int,
    pub stop: AtomicBool,
    /// Set by pause(): the thread stays but does not read the socket.
    pub paused: AtomicBool,
    pub pending: AtomicUsize,
    pub send_calls: AtomicU64,
    pub sent: AtomicU64,
    pub would_block: AtomicU64,
    pub send_errors: AtomicU64,
    pub recv_batches: AtomicU64,
    pub recv_messages: AtomicU64,
    pub rx_dropped: AtomicU64,
    pub gso: AtomicBool,
    pub gro: bool,
    pub ovfl: bool,
    /// SO_TXTIME is on (CLOCK_MONOTONIC): a send may carry a release time.
    pub txtime: bool,
    /// Send calls that carried a release time in the future.
    pub paced: AtomicU64,
    /// Bound to a wildcard address with packet info on: see [`Sources`].
    pub pktinfo: bool,
    pub sources: std::sync::Mutex<Sources>,
    /// An IPv6 socket (its IPv4 peers are IPv4-mapped).
    pub v6: bool,
  }

  /// The local address each peer last sent to, on a socket bound to a
  /// wildcard address: sends to that peer carry it as their source
  /// (IP_PKTINFO / IPV6_PKTINFO), so a host with several addresses answers
  /// from the one the peer used instead of the one its route prefers, which
  /// the peer would not recognize. Written by the receiver, read by sends.
  #[derive(Default)]
  pub struct Sources {
    by_peer: std::collections::HashMap<SocketAddr, std::net::IpAddr>,
  }

  /// Peers remembered before the table starts again (a peer not in it is
  /// answered from the route's address until it sends again).
  const SOURCES_MAX: usize = 65536;

  /// A peer as the table keys it: without an IPv6 flow label or scope,
  /// which the addresses JavaScript hands to sends do not carry.
  fn peer_key(a: &SocketAddr) -> SocketAddr {
    match a {
      SocketAddr::V6(v6) => SocketAddr::V6(SocketAddrV6::new(*v6.ip(), v6.port(), 0, 0)),
      v4 => *v4,
    }
  }

  impl Sources {
    fn note(&mut self, peer: SocketAddr, local: std::net::IpAddr) {
      let peer = peer_key(&peer);
      if self.by_peer.get(&peer) == Some(&local) {
        return;
      }
      if self.by_peer.len() >= SOURCES_MAX {
        self.by_peer.clear();
      }
      self.by_peer.insert(peer, local);
    }
  }

  impl Drop for Shared {
    fn drop(&mut self) {
      // SAFETY: descriptors we own; nothing else uses them once Shared drops.
      unsafe {
        libc::close(self.fd);
        libc::close(self.wake);
      }
    }
  }

  pub struct Inner {
    pub shared: Arc<Shared>,
    pub thread: Option<JoinHandle<()>>,
    /// The event-loop receiver, when receiving on the JavaScript thread.
    pub poller: Option<super::uv_poll::Poller>,
    pub closed: bool,
  }

  pub fn last_errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
  }

  pub fn to_sockaddr(a: &SocketAddr) -> (libc::sockaddr_storage, libc::socklen_t) {
    // SAFETY: sockaddr_storage is plain data; zero is a valid value.
    let mut ss: libc::sockaddr_storage = unsafe { mem::zeroed() };
    let len = match a {
      SocketAddr::V4(v4) => {
        let sin = &mut ss as *mut _ as *mut libc::sockaddr_in;
        // SAFETY: sockaddr_storage is large and aligned enough for sockaddr_in.
        unsafe {
          (*sin).sin_family = libc::AF_INET as libc::sa_family_t;
          (*sin).sin_port = v4.port().to_be();
          (*sin).sin_addr.s_addr = u32::from_ne_bytes(v4.ip().octets());
        }
        mem::size_of::<libc::sockaddr_in>()
      }
      SocketAddr::V6(v6) => {
        let sin6 = &mut ss as *mut _ as *mut libc::sockaddr_in6;
        // SAFETY: as above, for sockaddr_in6.
        unsafe {
          (*sin6).sin6_family = libc::AF_INET6 as libc::sa_family_t;
          (*sin6).sin6_port = v6.port().to_be();
          (*sin6).sin6_addr.s6_addr = v6.ip().octets();
          (*sin6).sin6_flowinfo = v6.flowinfo();
          (*sin6).sin6_scope_id = v6.scope_id();
        }
        mem::size_of::<libc::sockaddr_in6>()
      }
    };
    (ss, len as libc::socklen_t)
  }

  pub fn from_sockaddr(ss: &libc::sockaddr_storage) -> Option<SocketAddr> {
    match ss.ss_family as libc::c_int {
      libc::AF_INET => {
        // SAFETY: the family says this is a sockaddr_in.
        let sin = unsafe { &*(ss as *const _ as *const libc::sockaddr_in) };
        let ip = Ipv4Addr::from(sin.sin_addr.s_addr.to_ne_bytes());
        Some(SocketAddr::V4(SocketAddrV4::new(ip, u16::from_be(sin.sin_port))))
      }
      libc::AF_INET6 => {
        // SAFETY: the family says this is a sockaddr_in6.
        let sin6 = unsafe { &*(ss as *const _ as *const libc::sockaddr_in6) };
        let ip = Ipv6Addr::from(sin6.sin6_addr.s6_addr);
        // v4-mapped peers stay `::ffff:a.b.c.d`, as node:dgram reports them.
        Some(SocketAddr::V6(SocketAddrV6::new(
          ip,
          u16::from_be(sin6.sin6_port),
          sin6.sin6_flowinfo,
          sin6.sin6_scope_id,
        )))
      }
      _ => None,
    }
  }

  fn set_int(fd: libc::c_int, level: libc::c_int, name: libc::c_int, value: i32) -> bool {
    // SAFETY: setsockopt with a pointer to a live i32.
    unsafe {
      libc::setsockopt(
        fd,
        level,
        name,
        (&value as *const i32).cast(),
        mem::size_of::<i32>() as libc::socklen_t,
      ) == 0
    }
  }

  pub fn bind(addr: SocketAddr) -> Result<Shared> {
    let family = if addr.is_ipv4() { libc::AF_INET } else { libc::AF_INET6 };
    // SAFETY: plain syscalls; the descriptors are closed on every error path.
    unsafe {
      let fd = libc::socket(family, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK, 0);
      if fd < 0 {
        return Err(err("SocketError", format!("SocketError: socket(): {}", std::io::Error::last_os_error())));
      }
      let (ss, len) = to_sockaddr(&addr);
      if libc::bind(fd, &ss as *const _ as *const libc::sockaddr, len) != 0 {
        let e = std::io::Error::last_os_error();
        libc::close(fd);
        return Err(err("SocketError", format!("SocketError: bind({addr}): {e}")));
      }
      let wake = libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK);
      if wake < 0 {
        let e = std::io::Error::last_os_error();
        libc::close(fd);
        return Err(err("SocketError", format!("SocketError: eventfd(): {e}")));
      }
      // Larger buffers: a GSO send or a burst of GRO trains is 64 KiB at a time.
      set_int(fd, libc::SOL_SOCKET, libc::SO_RCVBUF, 4 << 20);
      set_int(fd, libc::SOL_SOCKET, libc::SO_SNDBUF, 4 << 20);
      let gro = set_int(fd, libc::SOL_UDP, libc::UDP_GRO, 1);
      let ovfl = set_int(fd, libc::SOL_SOCKET, libc::SO_RXQ_OVFL, 1);
      // A wildcard bind learns each datagram's destination address (see Sources).
      let pktinfo = addr.ip().is_unspecified()
        && if addr.is_ipv4() {
          set_int(fd, libc::IPPROTO_IP, libc::IP_PKTINFO, 1)
        } else {
          // IPv4-mapped traffic on a dual-stack socket reports IPV6_PKTINFO too.
          set_int(fd, libc::IPPROTO_IPV6, libc::IPV6_RECVPKTINFO, 1)
        };
      // GSO is per send (a cmsg); probe that the option exists, then leave it off.
      let gso = set_int(fd, libc::SOL_UDP, libc::UDP_SEGMENT, 0);
      // Release times (pacing): on for the socket, used per send only when
      // quiche's pacer asks for a later time; a send without one leaves at once.
      let txtime = {
        let cfg = libc::sock_txtime { clockid: libc::CLOCK_MONOTONIC, flags: 0 };
        libc::setsockopt(
          fd,
          libc::SOL_SOCKET,
          libc::SO_TXTIME,
          (&cfg as *const libc::sock_txtime).cast(),
          mem::size_of::<libc::sock_txtime>() as libc::socklen_t,
        ) == 0
      };
      Ok(Shared {
        fd,
        wake,
        stop: AtomicBool::new(false),
        paused: AtomicBool::new(false),
        pending: AtomicUsize::new(0),
        send_calls: AtomicU64::new(0),
        sent: AtomicU64::new(0),
        would_block: AtomicU64::new(0),
        send_errors: AtomicU64::new(0),
        recv_batches: AtomicU64::new(0),
        recv_messages: AtomicU64::new(0),
        rx_dropped: AtomicU64::new(0),
        gso: AtomicBool::new(gso),
        gro,
        ovfl,
        txtime,
        paced: AtomicU64::new(0),
        pktinfo,
        sources: std::sync::Mutex::new(Sources::default()),
        v6: !addr.is_ipv4(),
      })
    }
  }

  pub fn local_addr(fd: libc::c_int) -> Result<SocketAddr> {
    // SAFETY: getsockname into a sockaddr_storage we own.
    unsafe {
      let mut ss: libc::sockaddr_storage = mem::zeroed();
      let mut len = mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
      if libc::getsockname(fd, &mut ss as *mut _ as *mut libc::sockaddr, &mut len) != 0 {
        return Err(err("SocketError", format!("SocketError: getsockname(): {}", std::io::Error::last_os_error())));
      }
      from_sockaddr(&ss).ok_or_else(|| err("SocketError", "SocketError: unknown address family".to_string()))
    }
  }

  /// `ip` as a socket of the given family names it: an IPv4 address is
  /// IPv4-mapped (`::ffff:a.b.c.d`) on an IPv6 (dual-stack) socket.
  fn in_family(ip: std::net::IpAddr, v6: bool) -> std::net::IpAddr {
    match ip {
      std::net::IpAddr::V4(v4) if v6 => std::net::IpAddr::V6(v4.to_ipv6_mapped()),
      ip => ip,
    }
  }

  /// The local address datagrams to `peer` leave from: on a socket bound to
  /// a wildcard address, the source address the kernel's routes pick for
  /// `peer` (asked of a throwaway socket connected to it), in the socket's
  /// family and with its port; otherwise, or if the routes have no answer,
  /// the bound address.
  pub fn local_addr_for(shared: &Shared, peer: SocketAddr) -> Result<SocketAddr> {
    let bound = local_addr(shared.fd)?;
    if !shared.pktinfo {
      return Ok(bound);
    }
    if peer.is_ipv6() && !shared.v6 {
      return Ok(bound);
    }
    let target = SocketAddr::new(in_family(peer.ip(), shared.v6), peer.port());
    let family = if shared.v6 { libc::AF_INET6 } else { libc::AF_INET };
    // SAFETY: a socket we create, connect, name and close here.
    unsafe {
      let fd = libc::socket(family, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
      if fd < 0 {
        return Ok(bound);
      }
      let (ss, len) = to_sockaddr(&target);
      let routed = libc::connect(fd, &ss as *const _ as *const libc::sockaddr, len) == 0;
      let source = if routed { local_addr(fd).ok() } else { None };
      libc::close(fd);
      Ok(source.map_or(bound, |s| SocketAddr::new(s.ip(), bound.port())))
    }
  }

  /// A pacer's send time as a CLOCK_MONOTONIC time in nanoseconds for
  /// SCM_TXTIME, or `None` when it is not in the future (send at once).
  /// Rust's `Instant` is CLOCK_MONOTONIC on Linux but opaque, so the time is
  /// carried over as an offset from now.
  pub fn release_time(at: std::time::Instant) -> Option<u64> {
    let now = std::time::Instant::now();
    let ahead = at.checked_duration_since(now)?;
    if ahead < std::time::Duration::from_micros(10) {
      return None;
    }
    // SAFETY: clock_gettime into a live timespec.
    let mut ts: libc::timespec = unsafe { mem::zeroed() };
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    Some(ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64 + ahead.as_nanos() as u64)
  }

  /// The source address a send asks for, in the socket's family: an IPv6
  /// socket's IPv4 peers are IPv4-mapped, and so is their source.
  #[derive(Clone, Copy)]
  pub enum Source {
    V4(Ipv4Addr),
    V6(Ipv6Addr),
  }

  /// Room for a UDP_SEGMENT (u16), an SCM_TXTIME (u64) and an IPV6_PKTINFO
  /// (20 bytes) cmsg.
  const SEND_CTRL_WORDS: usize = 14;

  /// Writes the send cmsgs into `control` and returns their length.
  ///
  /// # Safety
  /// `msg.msg_control` must point at `control`, with `msg_controllen` set to
  /// its full size before the call.
  unsafe fn put_send_cmsgs(msg: &mut libc::msghdr, segment: Option<u16>, txtime: Option<u64>, source: Option<Source>) -> usize {
    let mut used = 0usize;
    let mut cmsg = libc::CMSG_FIRSTHDR(msg);
    if let Some(seg) = segment {
      (*cmsg).cmsg_level = libc::SOL_UDP;
      (*cmsg).cmsg_type = libc::UDP_SEGMENT;
      (*cmsg).cmsg_len = libc::CMSG_LEN(mem::size_of::<u16>() as u32) as _;
      std::ptr::write_unaligned(libc::CMSG_DATA(cmsg) as *mut u16, seg);
      used += libc::CMSG_SPACE(mem::size_of::<u16>() as u32) as usize;
      cmsg = libc::CMSG_NXTHDR(msg, cmsg);
    }
    if let Some(t) = txtime {
      (*cmsg).cmsg_level = libc::SOL_SOCKET;
      (*cmsg).cmsg_type = libc::SCM_TXTIME;
      (*cmsg).cmsg_len = libc::CMSG_LEN(mem::size_of::<u64>() as u32) as _;
      std::ptr::write_unaligned(libc::CMSG_DATA(cmsg) as *mut u64, t);
      used += libc::CMSG_SPACE(mem::size_of::<u64>() as u32) as usize;
      cmsg = libc::CMSG_NXTHDR(msg, cmsg);
    }
    match source {
      Some(Source::V4(ip)) => {
        (*cmsg).cmsg_level = libc::IPPROTO_IP;
        (*cmsg).cmsg_type = libc::IP_PKTINFO;
        (*cmsg).cmsg_len = libc::CMSG_LEN(mem::size_of::<libc::in_pktinfo>() as u32) as _;
        let info = libc::in_pktinfo {
          ipi_ifindex: 0,
          ipi_spec_dst: libc::in_addr { s_addr: u32::from_ne_bytes(ip.octets()) },
          ipi_addr: libc::in_addr { s_addr: 0 },
        };
        std::ptr::write_unaligned(libc::CMSG_DATA(cmsg) as *mut libc::in_pktinfo, info);
        used += libc::CMSG_SPACE(mem::size_of::<libc::in_pktinfo>() as u32) as usize;
      }
      Some(Source::V6(ip)) => {
        (*cmsg).cmsg_level = libc::IPPROTO_IPV6;
        (*cmsg).cmsg_type = libc::IPV6_PKTINFO;
        (*cmsg).cmsg_len = libc::CMSG_LEN(mem::size_of::<libc::in6_pktinfo>() as u32) as _;
        let info = libc::in6_pktinfo { ipi6_addr: libc::in6_addr { s6_addr: ip.octets() }, ipi6_ifindex: 0 };
        std::ptr::write_unaligned(libc::CMSG_DATA(cmsg) as *mut libc::in6_pktinfo, info);
        used += libc::CMSG_SPACE(mem::size_of::<libc::in6_pktinfo>() as u32) as usize;
      }
      None => {}
    }
    used
  }

  impl Shared {
    /// Wakes the receive thread out of `poll` to look at its flags.
    pub fn kick(&self) {
      let one: u64 = 1;
      // SAFETY: writing 8 bytes to our eventfd.
      unsafe { libc::write(self.wake, (&one as *const u64).cast(), 8) };
    }

    /// Resets the eventfd once its wakeup was seen.
    fn clear_wake(&self) {
      let mut v: u64 = 0;
      // SAFETY: reading 8 bytes from our non-blocking eventfd.
      unsafe { libc::read(self.wake, (&mut v as *mut u64).cast(), 8) };
    }

    fn count_error(&self, errno: i32, datagrams: u64) {
      if errno == libc::EAGAIN || errno == libc::ENOBUFS {
        self.would_block.fetch_add(datagrams, Ordering::Relaxed);
      } else {
        self.send_errors.fetch_add(datagrams, Ordering::Relaxed);
      }
    }

    /// The source address for sends to `to`: the local address `to` last
    /// sent to, on a wildcard-bound socket; `None` lets the route choose.
    fn source_for(&self, to: &SocketAddr) -> Option<Source> {
      if !self.pktinfo {
        return None;
      }
      // The table holds addresses in the socket's family (see `in_family`).
      let local = *self.sources.lock().unwrap().by_peer.get(&peer_key(to))?;
      Some(match local {
        std::net::IpAddr::V4(ip) if !self.v6 => Source::V4(ip),
        std::net::IpAddr::V6(ip) if self.v6 => Source::V6(ip),
        _ => return None,
      })
    }

    /// One datagram with `sendto` (`sendmsg` when it needs a source
    /// address). Returns whether it went out.
    pub fn send_to(&self, buf: &[u8], to: &SocketAddr) -> bool {
      self.send_one(buf, None, self.source_for(to), to)
    }

    /// One datagram with `sendto`, from the address the route picks.
    fn send_plain(&self, buf: &[u8], to: &SocketAddr) -> bool {
      let (ss, len) = to_sockaddr(to);
      // SAFETY: buf and ss live across the call.
      let n = unsafe {
        libc::sendto(self.fd, buf.as_ptr().cast(), buf.len(), 0, &ss as *const _ as *const libc::sockaddr, len)
      };
      self.send_calls.fetch_add(1, Ordering::Relaxed);
      if n < 0 {
        self.count_error(last_errno(), 1);
        false
      } else {
        self.sent.fetch_add(1, Ordering::Relaxed);
        true
      }
    }

    /// One `sendmsg`: equal-sized segments (the last may be shorter) with
    /// UDP_SEGMENT when `segment` is given, else one datagram; with a release
    /// time when `txtime` is given. Returns the errno on failure.
    fn send_msg(
      &self,
      buf: &[u8],
      segment: Option<u16>,
      txtime: Option<u64>,
      source: Option<Source>,
      to: &SocketAddr,
    ) -> std::result::Result<(), i32> {
      let (mut ss, len) = to_sockaddr(to);
      let mut iov = libc::iovec { iov_base: buf.as_ptr() as *mut _, iov_len: buf.len() };
      let mut control = [0u64; SEND_CTRL_WORDS];
      // SAFETY: msghdr/cmsg built over live stack buffers; CMSG_* compute
      // offsets within `control`, whose size covers both cmsgs.
      unsafe {
        let mut msg: libc::msghdr = mem::zeroed();
        msg.msg_name = &mut ss as *mut _ as *mut libc::c_void;
        msg.msg_namelen = len;
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        if segment.is_some() || txtime.is_some() || source.is_some() {
          msg.msg_control = control.as_mut_ptr().cast();
          msg.msg_controllen = mem::size_of_val(&control) as _;
          msg.msg_controllen = put_send_cmsgs(&mut msg, segment, txtime, source) as _;
        }
        let n = libc::sendmsg(self.fd, &msg, 0);
        self.send_calls.fetch_add(1, Ordering::Relaxed);
        if txtime.is_some() {
          self.paced.fetch_add(1, Ordering::Relaxed);
        }
        if n < 0 {
          return Err(last_errno());
        }
      }
      Ok(())
    }

    /// One datagram with a release time or a source address (`sendmsg`),
    /// or plainly (`sendto`).
    fn send_one(&self, buf: &[u8], txtime: Option<u64>, source: Option<Source>, to: &SocketAddr) -> bool {
      if txtime.is_none() && source.is_none() {
        return self.send_plain(buf, to);
      }
      match self.send_msg(buf, None, txtime, source, to) {
        Ok(()) => {
          self.sent.fetch_add(1, Ordering::Relaxed);
          true
        }
        Err(errno) => {
          self.count_error(errno, 1);
          false
        }
      }
    }

    /// Packets of any sizes with `sendmmsg`. Returns how many were not sent.
    fn send_mmsg(&self, out: &[u8], lengths: &[u32], to: &SocketAddr, txtime: Option<u64>, source: Option<Source>) -> u32 {
      let (mut ss, len) = to_sockaddr(to);
      // The same release time for every message of the batch.
      let mut controls = [[0u64; SEND_CTRL_WORDS]; SEND_MMSG];
      let mut failed = 0u32;
      let mut offset = 0usize;
      for chunk in lengths.chunks(SEND_MMSG) {
        let mut iovs: [libc::iovec; SEND_MMSG] =
          [libc::iovec { iov_base: std::ptr::null_mut(), iov_len: 0 }; SEND_MMSG];
        // SAFETY: mmsghdr is plain data.
        let mut msgs: [libc::mmsghdr; SEND_MMSG] = unsafe { mem::zeroed() };
        for (i, &l) in chunk.iter().enumerate() {
          let l = l as usize;
          iovs[i] = libc::iovec { iov_base: out[offset..].as_ptr() as *mut _, iov_len: l };
          offset += l;
        }
        for i in 0..chunk.len() {
          msgs[i].msg_hdr.msg_name = &mut ss as *mut _ as *mut libc::c_void;
          msgs[i].msg_hdr.msg_namelen = len;
          msgs[i].msg_hdr.msg_iov = &mut iovs[i];
          msgs[i].msg_hdr.msg_iovlen = 1;
          if txtime.is_some() || source.is_some() {
            let h = &mut msgs[i].msg_hdr;
            h.msg_control = controls[i].as_mut_ptr().cast();
            h.msg_controllen = mem::size_of_val(&controls[i]) as _;
            // SAFETY: msg_control points at this message's own control buffer.
            h.msg_controllen = unsafe { put_send_cmsgs(h, None, txtime, source) } as _;
          }
        }
        if txtime.is_some() {
          self.paced.fetch_add(1, Ordering::Relaxed);
        }
        let mut done = 0usize;
        while done < chunk.len() {
          // SAFETY: msgs/iovs/ss and `out` live across the call.
          let n = unsafe {
            libc::sendmmsg(self.fd, msgs[done..].as_mut_ptr(), (chunk.len() - done) as u32, 0)
          };
          self.send_calls.fetch_add(1, Ordering::Relaxed);
          if n < 0 {
            // The first message failed: count it lost and carry on after it.
            self.count_error(last_errno(), 1);
            failed += 1;
            done += 1;
          } else {
            self.sent.fetch_add(n as u64, Ordering::Relaxed);
            done += n as usize;
          }
        }
      }
      failed
    }

    /// A `send()` batch: GSO when `segment` > 0 and GSO works, else
    /// `sendmmsg`; released at `at` (SO_TXTIME) when that is in the future
    /// and the socket supports it.
    pub fn send_batch(&self, out: &[u8], lengths: &[u32], to: &SocketAddr, segment: usize, at: Option<std::time::Instant>) -> u32 {
      let txtime = if self.txtime { at.and_then(release_time) } else { None };
      let source = self.source_for(to);
      if lengths.len() == 1 {
        return u32::from(!self.send_one(&out[..lengths[0] as usize], txtime, source, to));
      }
      if segment == 0 || !self.gso.load(Ordering::Relaxed) {
        return self.send_mmsg(out, lengths, to, txtime, source);
      }
      let per_call = GSO_MAX_SEGMENTS.min((GSO_MAX_BYTES / segment).max(1));
      let mut failed = 0u32;
      let mut offset = 0usize;
      let mut i = 0usize;
      while i < lengths.len() {
        let n = per_call.min(lengths.len() - i);
        let bytes: usize = lengths[i..i + n].iter().map(|&l| l as usize).sum();
        let chunk = &out[offset..offset + bytes];
        if n == 1 {
          failed += u32::from(!self.send_one(chunk, txtime, source, to));
        } else {
          match self.send_msg(chunk, Some(segment as u16), txtime, source, to) {
            Ok(()) => {
              self.sent.fetch_add(n as u64, Ordering::Relaxed);
            }
            Err(errno) if errno == libc::EIO || errno == libc::EINVAL || errno == libc::EOPNOTSUPP => {
              // The device or route cannot segment: stop using GSO on this
              // socket and send this chunk the slow way.
              self.gso.store(false, Ordering::Relaxed);
              failed += self.send_mmsg(chunk, &lengths[i..i + n], to, txtime, source);
            }
            Err(errno) => {
              self.count_error(errno, n as u64);
              failed += n as u32;
            }
          }
        }
        offset += bytes;
        i += n;
      }
      failed
    }
  }

  /// What one `recvmmsg` needs across calls: the message slots, their
  /// control buffers, the last SO_RXQ_OVFL total seen, the peer table (see
  /// [`RecvBatch`]), and what the last `recvmmsg` returned, kept here until
  /// [`write_batch`] lays it out (its lists reused from batch to batch).
  pub struct RecvScratch {
    bufs: Vec<u8>,
    controls: Vec<u64>,
    /// The senders' addresses, written by the kernel: zeroed once here
    /// rather than 4 KiB per `recvmmsg` (the largest memset of a request).
    names: Vec<libc::sockaddr_storage>,
    last_ovfl: Option<u32>,
    /// Pairs of sender and local address (`None`: the bound one) by index.
    peers: std::collections::HashMap<(SocketAddr, Option<std::net::IpAddr>), u32>,
    /// The last batch: messages, dropped datagrams, first new peer index.
    n: usize,
    drops: u32,
    peers_from: u32,
    /// Per message: length, segment, peer index.
    meta: Vec<u32>,
    /// The new peers' records: family, port, address text, local text.
    records: Vec<(u32, u16, String, String)>,
    /// The batch's size in bytes, as [`write_batch`] lays it out.
    len: usize,
  }

  /// Senders a receiver numbers before it starts its table again: enough for
  /// a busy server's active clients, small enough to stay cheap.
  const PEER_TABLE_MAX: usize = 4096;

  /// Room per message for UDP_GRO (int), SO_RXQ_OVFL (u32) and
  /// IPV6_PKTINFO (20 bytes) cmsgs.
  const CTRL: usize = 128;

  impl RecvScratch {
    pub fn new() -> Self {
      RecvScratch {
        bufs: vec![0u8; RECV_MSGS * RECV_MSG_SIZE],
        controls: vec![0u64; RECV_MSGS * CTRL / 8],
        // SAFETY: plain data.
        names: vec![unsafe { mem::zeroed() }; RECV_MSGS],
        last_ovfl: None,
        peers: std::collections::HashMap::new(),
        n: 0,
        drops: 0,
        peers_from: 0,
        meta: Vec::with_capacity(3 * RECV_MSGS),
        records: Vec::new(),
        len: 0,
      }
    }

    /// Messages in the last batch.
    pub fn count(&self) -> usize {
      self.n
    }
  }

  /// One non-blocking `recvmmsg` of up to 32 messages into `scratch`, with
  /// their GRO segment sizes, senders and the kernel's drop count. Returns
  /// the batch's size as [`write_batch`] lays it out, or `None` when nothing
  /// is queued (or on an error, which the caller treats the same: wait for
  /// readiness again).
  pub fn recv_msgs(shared: &Shared, scratch: &mut RecvScratch) -> Option<usize> {
    let RecvScratch { bufs, controls, names, last_ovfl, peers, meta, records, .. } = scratch;
    let mut iovs: [libc::iovec; RECV_MSGS] = [libc::iovec { iov_base: std::ptr::null_mut(), iov_len: 0 }; RECV_MSGS];
    // SAFETY: plain data.
    let mut msgs: [libc::mmsghdr; RECV_MSGS] = unsafe { mem::zeroed() };
    for i in 0..RECV_MSGS {
      iovs[i] = libc::iovec { iov_base: bufs[i * RECV_MSG_SIZE..].as_mut_ptr().cast(), iov_len: RECV_MSG_SIZE };
      let h = &mut msgs[i].msg_hdr;
      h.msg_name = (&mut names[i] as *mut libc::sockaddr_storage).cast();
      h.msg_namelen = mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
      h.msg_iov = &mut iovs[i];
      h.msg_iovlen = 1;
      h.msg_control = controls[i * CTRL / 8..].as_mut_ptr().cast();
      h.msg_controllen = CTRL as _;
    }
    // SAFETY: every pointer in msgs points into buffers alive for the call.
    let n = unsafe {
      libc::recvmmsg(shared.fd, msgs.as_mut_ptr(), RECV_MSGS as u32, libc::MSG_DONTWAIT, std::ptr::null_mut())
    };
    if n <= 0 {
      if n < 0 && last_errno() != libc::EAGAIN && last_errno() != libc::EINTR {
        // A pending ICMP error: reading SO_ERROR clears it so readiness stops reporting it.
        let mut e: i32 = 0;
        let mut l = mem::size_of::<i32>() as libc::socklen_t;
        // SAFETY: getsockopt into a live i32.
        unsafe { libc::getsockopt(shared.fd, libc::SOL_SOCKET, libc::SO_ERROR, (&mut e as *mut i32).cast(), &mut l) };
      }
      return None;
    }
    let n = n as usize;
    if peers.len() + n > PEER_TABLE_MAX {
      peers.clear();
    }
    let peers_from = peers.len() as u32;
    meta.clear();
    records.clear();
    let mut last: Option<((SocketAddr, Option<std::net::IpAddr>), u32)> = None;
    let mut drops = 0u32;
    // Each peer's destination address, noted for the sends (see Sources).
    let mut sources = if shared.pktinfo { Some(shared.sources.lock().unwrap()) } else { None };
    // The last pair noted: a batch is mostly one peer's train of datagrams to one address.
    let mut noted: Option<(SocketAddr, std::net::IpAddr)> = None;
    let mut len = 16 + 12 * n;
    for i in 0..n {
      let size = msgs[i].msg_len as usize;
      let mut segment = 0u32;
      let mut local: Option<std::net::IpAddr> = None;
      // SAFETY: walking the control buffer the kernel filled for this message.
      unsafe {
        let h = &msgs[i].msg_hdr;
        let mut cmsg = libc::CMSG_FIRSTHDR(h);
        while !cmsg.is_null() {
          let c = &*cmsg;
          if c.cmsg_level == libc::SOL_UDP && c.cmsg_type == libc::UDP_GRO {
            segment = std::ptr::read_unaligned(libc::CMSG_DATA(cmsg) as *const i32) as u32;
          } else if c.cmsg_level == libc::SOL_SOCKET && c.cmsg_type == libc::SO_RXQ_OVFL {
            let total = std::ptr::read_unaligned(libc::CMSG_DATA(cmsg) as *const u32);
            drops = drops.wrapping_add(match *last_ovfl {
              Some(prev) => total.wrapping_sub(prev),
              None => total,
            });
            *last_ovfl = Some(total);
          } else if c.cmsg_level == libc::IPPROTO_IP && c.cmsg_type == libc::IP_PKTINFO {
            let info = std::ptr::read_unaligned(libc::CMSG_DATA(cmsg) as *const libc::in_pktinfo);
            local = Some(Ipv4Addr::from(info.ipi_addr.s_addr.to_ne_bytes()).into());
          } else if c.cmsg_level == libc::IPPROTO_IPV6 && c.cmsg_type == libc::IPV6_PKTINFO {
            let info = std::ptr::read_unaligned(libc::CMSG_DATA(cmsg) as *const libc::in6_pktinfo);
            local = Some(Ipv6Addr::from(info.ipi6_addr.s6_addr).into());
          }
          cmsg = libc::CMSG_NXTHDR(h, cmsg);
        }
      }
      // A train no longer than its segment is one datagram.
      if segment as usize >= size {
        segment = 0;
      }
      let peer = from_sockaddr(&names[i]).unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], 0)));
      // Named as the socket names its peers; only a wildcard bind gets one.
      let local = local.map(|ip| in_family(ip, shared.v6));
      if let (Some(table), Some(local)) = (sources.as_mut(), local) {
        if noted != Some((peer, local)) {
          table.note(peer, local);
          noted = Some((peer, local));
        }
      }
      let pair = (peer, local);
      let index = match last {
        Some((p, index)) if p == pair => index,
        _ => {
          let next = peers.len() as u32;
          let index = *peers.entry(pair).or_insert_with(|| {
            let local = local.map(|ip| ip.to_string()).unwrap_or_default();
            let text = peer.ip().to_string();
            len += 16 + text.len().next_multiple_of(4) + local.len().next_multiple_of(4);
            records.push((if peer.is_ipv4() { 4 } else { 6 }, peer.port(), text, local));
            next
          });
          last = Some((pair, index));
          index
        }
      };
      len += size;
      meta.extend_from_slice(&[size as u32, segment, index]);
    }
    drop(sources);
    scratch.n = n;
    scratch.drops = drops;
    scratch.peers_from = peers_from;
    scratch.len = len;
    shared.recv_batches.fetch_add(1, Ordering::Relaxed);
    shared.recv_messages.fetch_add(n as u64, Ordering::Relaxed);
    shared.rx_dropped.fetch_add(drops as u64, Ordering::Relaxed);
    Some(len)
  }

  /// Lays the last batch [`recv_msgs`] took out into `out`, which must be
  /// exactly the size it returned (layout: see [`RecvBatch`]).
  pub fn write_batch(scratch: &RecvScratch, out: &mut [u8]) {
    assert_eq!(out.len(), scratch.len, "a receive batch's size");
    let mut at = 0;
    let mut put = |bytes: &[u8]| {
      out[at..at + bytes.len()].copy_from_slice(bytes);
      at += bytes.len();
    };
    let head = [scratch.n as u32, scratch.drops, scratch.peers_from, scratch.records.len() as u32];
    for word in head.iter().chain(scratch.meta.iter()) {
      put(&word.to_le_bytes());
    }
    const PAD: [u8; 3] = [0; 3];
    for (family, port, text, local) in &scratch.records {
      for word in [*family, u32::from(*port), text.len() as u32, local.len() as u32] {
        put(&word.to_le_bytes());
      }
      for part in [text, local] {
        put(part.as_bytes());
        put(&PAD[..part.len().next_multiple_of(4) - part.len()]);
      }
    }
    for (i, m) in scratch.meta.chunks_exact(3).enumerate() {
      put(&scratch.bufs[i * RECV_MSG_SIZE..i * RECV_MSG_SIZE + m[0] as usize]);
    }
  }

  /// The last batch [`recv_msgs`] took, laid out in a `Vec` of its own:
  /// every batch of the receive thread (they cross threads), and the loop
  /// receiver's batches too large for its slab.
  pub fn take_batch(scratch: &RecvScratch) -> RecvBatch {
    let mut bytes = vec![0u8; scratch.len];
    write_batch(scratch, &mut bytes);
    RecvBatch { bytes, count: scratch.n }
  }

  /// One non-blocking `recvmmsg` laid out in a batch of its own (see
  /// [`recv_msgs`], [`take_batch`]).
  pub fn recv_once(shared: &Shared, scratch: &mut RecvScratch) -> Option<RecvBatch> {
    recv_msgs(shared, scratch)?;
    Some(take_batch(scratch))
  }

  /// The receive thread: poll the socket and the stop eventfd, drain with
  /// `recvmmsg`, hand each batch to JavaScript.
  pub fn receive_loop(shared: Arc<Shared>, tsfn: BatchFn) {
    let mut scratch = RecvScratch::new();
    loop {
      if shared.stop.load(Ordering::Acquire) {
        return;
      }
      if shared.paused.load(Ordering::Acquire) {
        // Paused: leave the socket alone (the kernel queues what arrives) until
        // resume() or close() writes the eventfd.
        let mut fds = [libc::pollfd { fd: shared.wake, events: libc::POLLIN, revents: 0 }];
        // SAFETY: fds lives across the call.
        unsafe { libc::poll(fds.as_mut_ptr(), 1, -1) };
        shared.clear_wake();
        continue;
      }
      // Back-pressure: JavaScript is behind; let the kernel queue hold the rest.
      if shared.pending.load(Ordering::Acquire) >= MAX_PENDING {
        std::thread::sleep(std::time::Duration::from_micros(200));
        continue;
      }
      let mut fds = [
        libc::pollfd { fd: shared.fd, events: libc::POLLIN, revents: 0 },
        libc::pollfd { fd: shared.wake, events: libc::POLLIN, revents: 0 },
      ];
      // SAFETY: fds lives across the call.
      let r = unsafe { libc::poll(fds.as_mut_ptr(), 2, -1) };
      if r < 0 {
        if last_errno() == libc::EINTR {
          continue;
        }
        return;
      }
      if fds[1].revents != 0 {
        // close(), pause() or resume(): the top of the loop decides.
        shared.clear_wake();
        continue;
      }
      if fds[0].revents & libc::POLLNVAL != 0 {
        return;
      }
      // Drain until EAGAIN, one JavaScript call per recvmmsg.
      while let Some(batch) = recv_once(&shared, &mut scratch) {
        let n = batch.count;
        shared.pending.fetch_add(1, Ordering::AcqRel);
        let status = tsfn.call(batch, ThreadsafeFunctionCallMode::NonBlocking);
        if status != Status::Ok {
          // Closing (environment teardown) or the queue is gone: stop.
          shared.pending.fetch_sub(1, Ordering::AcqRel);
          return;
        }
        if n < RECV_MSGS || shared.pending.load(Ordering::Acquire) >= MAX_PENDING {
          break;
        }
      }
    }
  }

  pub fn stop(inner: &mut Inner) {
    inner.shared.stop.store(true, Ordering::Release);
    inner.shared.kick();
    if let Some(t) = inner.thread.take() {
      let _ = t.join();
    }
    // Clear the wakeup so a later start() does not exit at once.
    inner.shared.clear_wake();
    inner.shared.stop.store(false, Ordering::Release);
    inner.shared.paused.store(false, Ordering::Release);
  }

}

/// A native non-blocking UDP socket (Linux): GSO/`sendmmsg` sends on the
/// calling thread, `recvmmsg` + GRO on a receive thread.
#[napi(js_name = "UdpSocket")]
pub struct UdpSocket {
  #[cfg(target_os = "linux")]
  inner: std::sync::Mutex<imp::Inner>,
  #[cfg(target_os = "linux")]
  cache: std::sync::Mutex<crate::addr::AddrCache>,
  /// Where `flush()` has quiche write: one GSO send's worth.
  #[cfg(target_os = "linux")]
  flush_buf: std::sync::Mutex<(Vec<u8>, Vec<u32>)>,
}

#[napi]
impl UdpSocket {
  /// Binds a non-blocking UDP socket to `address`:`port` (port 0 picks
  /// one). Fails with `SocketError` when the bind fails and `Unsupported`
  /// off Linux.
  #[napi(factory, catch_unwind)]
  pub fn bind(address: String, port: u32) -> Result<UdpSocket> {
    #[cfg(target_os = "linux")]
    {
      let addr = SocketAddress { address, port, family: None }.parse()?;
      let shared = imp::bind(addr)?;
      Ok(UdpSocket {
        inner: std::sync::Mutex::new(imp::Inner {
          shared: std::sync::Arc::new(shared),
          thread: None,
          poller: None,
          closed: false,
        }),
        cache: std::sync::Mutex::new(Default::default()),
        flush_buf: std::sync::Mutex::new((vec![0u8; 65536], vec![0u32; 64])),
      })
    }
    #[cfg(not(target_os = "linux"))]
    {
      let _ = (address, port);
      Err(crate::error::err("Unsupported", "Unsupported: the native UDP socket needs Linux".to_string()))
    }
  }

  /// The bound address.
  #[napi(catch_unwind)]
  pub fn local_address(&self) -> Result<SocketAddress> {
    #[cfg(target_os = "linux")]
    {
      let inner = self.inner.lock().unwrap();
      Ok(imp::local_addr(inner.shared.fd)?.into())
    }
    #[cfg(not(target_os = "linux"))]
    unreachable!()
  }

  /// The local address datagrams to `peer` leave from, as this socket's
  /// receives report it: on a socket bound to a wildcard address, the source
  /// address the kernel's routes pick for `peer` (IPv4-mapped on a
  /// dual-stack socket), with the bound port; otherwise the bound address.
  #[napi(catch_unwind)]
  pub fn local_address_for(&self, peer: SocketAddress) -> Result<SocketAddress> {
    #[cfg(target_os = "linux")]
    {
      let peer = peer.parse()?;
      let inner = self.inner.lock().unwrap();
      Ok(imp::local_addr_for(&inner.shared, peer)?.into())
    }
    #[cfg(not(target_os = "linux"))]
    {
      let _ = peer;
      unreachable!()
    }
  }

  /// Sends the first `count` packets of a `send()` batch, laid back to back
  /// in `out` with their lengths in `lengths`, to `to`. With `segmentSize`
  /// > 0 the batch is uniform (all packets that size, the last maybe
  /// shorter) and goes out as GSO sends; otherwise with `sendmmsg`.
  /// Returns how many packets were not sent (buffer full or an error):
  /// never throws for a failed write.
  #[napi(catch_unwind)]
  pub fn send_batch(
    &self,
    out: Uint8Array,
    lengths: Uint32Array,
    count: u32,
    to: SocketAddress,
    segment_size: u32,
  ) -> Result<u32> {
    #[cfg(target_os = "linux")]
    {
      let to = self.cache.lock().unwrap().get(&to)?;
      let lengths = &lengths[..(count as usize).min(lengths.len())];
      let bytes: usize = lengths.iter().map(|&l| l as usize).sum();
      if bytes > out.len() {
        return Err(invalid_arg("lengths add up to more than out holds"));
      }
      if lengths.is_empty() {
        return Ok(0);
      }
      let shared = self.inner.lock().unwrap().shared.clone();
      Ok(shared.send_batch(&out[..bytes], lengths, &to, segment_size as usize, None))
    }
    #[cfg(not(target_os = "linux"))]
    {
      let _ = (out, lengths, count, to, segment_size);
      unreachable!()
    }
  }

  /// Sends what `conn` has ready straight from quiche to this socket, in
  /// GSO batches, until quiche has nothing more or `maxPackets` were
  /// written: one call instead of a `send()` and a `sendBatch()` per batch,
  /// and no batch object for JavaScript. Returns one number, `failed * 2 +
  /// more`: `failed` counts the packets the kernel did not take (a full
  /// buffer, an error; never thrown), and `more` (1) says `maxPackets` was
  /// reached with more possibly ready.
  ///
  /// # Errors
  /// What `Connection.send()` throws (quiche failing internally).
  #[napi(catch_unwind)]
  pub fn flush(&self, conn: &mut crate::connection::JsConnection, max_packets: u32) -> Result<u32> {
    #[cfg(target_os = "linux")]
    {
      let shared = self.inner.lock().unwrap().shared.clone();
      let mut guard = self.flush_buf.lock().unwrap();
      let (out, lengths) = &mut *guard;
      let mut packets = 0u32;
      let mut failed = 0u32;
      while packets < max_packets {
        // Read per batch: a failed GSO send turns it off for the next one.
        let gso = shared.gso.load(std::sync::atomic::Ordering::Relaxed);
        let Some(b) = conn.fill_batch(out, lengths, gso, shared.txtime)? else {
          return Ok(failed * 2);
        };
        failed += shared.send_batch(&out[..b.bytes], &lengths[..b.count], &b.to, if gso { b.segment } else { 0 }, Some(b.at));
        packets += b.count as u32;
      }
      Ok(failed * 2 + 1)
    }
    #[cfg(not(target_os = "linux"))]
    {
      let _ = (conn, max_packets);
      unreachable!()
    }
  }

  /// Sends one datagram. Returns whether it went out; never throws for a
  /// failed write.
  #[napi(catch_unwind)]
  pub fn send_to(&self, buf: Uint8Array, to: SocketAddress) -> Result<bool> {
    #[cfg(target_os = "linux")]
    {
      let to = self.cache.lock().unwrap().get(&to)?;
      let shared = self.inner.lock().unwrap().shared.clone();
      Ok(shared.send_to(&buf, &to))
    }
    #[cfg(not(target_os = "linux"))]
    {
      let _ = (buf, to);
      unreachable!()
    }
  }

  /// Starts receiving: `onBatch` is called on the JavaScript thread with
  /// each `recvmmsg` batch, laid out in `batch` from byte `start` (absent:
  /// 0). With `onLoop` the socket is watched by Node's own event loop and
  /// read on the JavaScript thread, and batches up to 16 KiB share a slab
  /// (`batch` is the slab; nothing in it is written twice); otherwise a
  /// receive thread of its own reads it and queues the batches to
  /// JavaScript, a Buffer each. Neither keeps Node alive. Fails when
  /// receiving already or closed.
  #[napi(catch_unwind, ts_args_type = "onBatch: (batch: Buffer, start?: number) => void, onLoop?: boolean")]
  pub fn start(&self, env: Env, on_batch: Function<RecvBatch, ()>, on_loop: Option<bool>) -> Result<()> {
    #[cfg(target_os = "linux")]
    {
      let mut inner = self.inner.lock().unwrap();
      if inner.closed {
        return Err(invalid_arg("the socket is closed"));
      }
      if inner.thread.is_some() || inner.poller.is_some() {
        return Err(invalid_arg("the socket is receiving already"));
      }
      let shared = inner.shared.clone();
      if on_loop.unwrap_or(false) {
        use napi::JsValue;
        // SAFETY: on the JavaScript thread, with a function of this env.
        let poller = unsafe { uv_poll::Poller::start(env.raw(), on_batch.raw(), shared)? };
        inner.poller = Some(poller);
        return Ok(());
      }
      let pending = shared.clone();
      let tsfn: imp::BatchFn = on_batch
        .build_threadsafe_function::<RecvBatch>()
        .weak::<true>()
        .callee_handled::<false>()
        .build_callback(move |ctx| {
          pending.pending.fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
          Ok(ctx.value)
        })
        .map_err(|e| crate::error::err("SocketError", format!("SocketError: {}", e.reason)))?;
      let thread = std::thread::Builder::new()
        .name("rxjs-quiche-udp-recv".into())
        .spawn(move || imp::receive_loop(shared, tsfn))
        .map_err(|e| crate::error::err("SocketError", format!("SocketError: spawn: {e}")))?;
      inner.thread = Some(thread);
      Ok(())
    }
    #[cfg(not(target_os = "linux"))]
    {
      let _ = (env, on_batch, on_loop);
      unreachable!()
    }
  }

  /// Pauses receiving without ending it: the socket is not read
  /// (datagrams wait in the kernel's queue) until `resume()`. A batch read
  /// just before may still be delivered by the receive thread. The thread
  /// or the loop's watcher ends only with `close()`.
  #[napi(catch_unwind)]
  pub fn pause(&self) -> Result<()> {
    #[cfg(target_os = "linux")]
    {
      let inner = self.inner.lock().unwrap();
      if let Some(p) = &inner.poller {
        p.pause();
      }
      if inner.thread.is_some() {
        inner.shared.paused.store(true, std::sync::atomic::Ordering::Release);
        inner.shared.kick();
      }
    }
    Ok(())
  }

  /// Resumes a paused receiver. Returns false when there is none (never
  /// started, or closed): call `start()` then.
  #[napi(catch_unwind)]
  pub fn resume(&self) -> Result<bool> {
    #[cfg(target_os = "linux")]
    {
      let inner = self.inner.lock().unwrap();
      if inner.closed {
        return Ok(false);
      }
      if let Some(p) = &inner.poller {
        p.resume()?;
        return Ok(true);
      }
      if inner.thread.is_none() {
        return Ok(false);
      }
      inner.shared.paused.store(false, std::sync::atomic::Ordering::Release);
      inner.shared.kick();
      Ok(true)
    }
    #[cfg(not(target_os = "linux"))]
    Ok(false)
  }

  /// Stops receiving and closes the socket. Idempotent.
  #[napi(catch_unwind)]
  pub fn close(&self) -> Result<()> {
    #[cfg(target_os = "linux")]
    {
      let mut inner = self.inner.lock().unwrap();
      if !inner.closed {
        if let Some(p) = inner.poller.take() {
          p.close();
        }
        imp::stop(&mut inner);
        inner.closed = true;
        // SAFETY: shutting down our own descriptor; it is closed when the
        // last Arc drops (the thread gone, the loop's watcher closed).
        unsafe { libc::shutdown(inner.shared.fd, libc::SHUT_RDWR) };
      }
    }
    Ok(())
  }

  /// Counters; see {@link UdpSocketStats}.
  #[napi(catch_unwind)]
  pub fn stats(&self) -> Result<UdpSocketStats> {
    #[cfg(target_os = "linux")]
    {
      use std::sync::atomic::Ordering::Relaxed;
      let inner = self.inner.lock().unwrap();
      let s = &inner.shared;
      Ok(UdpSocketStats {
        send_calls: s.send_calls.load(Relaxed) as f64,
        datagrams_sent: s.sent.load(Relaxed) as f64,
        would_block: s.would_block.load(Relaxed) as f64,
        send_errors: s.send_errors.load(Relaxed) as f64,
        recv_batches: s.recv_batches.load(Relaxed) as f64,
        recv_messages: s.recv_messages.load(Relaxed) as f64,
        rx_dropped: s.rx_dropped.load(Relaxed) as f64,
        gso: s.gso.load(Relaxed),
        gro: s.gro,
        check_udp_drop: s.ovfl,
        txtime: s.txtime,
        paced_sends: s.paced.load(Relaxed) as f64,
        pktinfo: s.pktinfo,
      })
    }
    #[cfg(not(target_os = "linux"))]
    unreachable!()
  }
}

#[cfg(target_os = "linux")]
impl Drop for UdpSocket {
  fn drop(&mut self) {
    if let Ok(mut inner) = self.inner.lock() {
      // Finalizers run on the JavaScript thread, where the watcher lives.
      if let Some(p) = inner.poller.take() {
        p.close();
      }
      if inner.thread.is_some() {
        imp::stop(&mut inner);
      }
    }
  }
}
