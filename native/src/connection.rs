//! `Connection`: one quiche connection, driven synchronously from JavaScript.
//!
//! The hot calls follow the boundary rules in DESIGN.md: `recv` takes one
//! datagram or a whole GRO batch, `send` fills one caller-owned buffer with
//! as many packets as are ready and reports their lengths through a
//! caller-owned `Uint32Array`, and stream reads and writes move whole chunks
//! in and out of caller buffers. quiche's `Done` is `null` (or `false`).

use std::io::Write;
use std::net::IpAddr;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::Mutex;
use std::time::Instant;

use napi::bindgen_prelude::Buffer;
use napi::bindgen_prelude::Uint8Array;
use napi::bindgen_prelude::Uint32Array;
use napi::Either;

use crate::addr::AddrCache;
use crate::addr::SocketAddress;
use crate::config::JsConfig;
use crate::error::err;
use crate::error::invalid_arg;
use crate::error::quiche_err;
use crate::error::stream_err;
use crate::error::Result;

/// Largest stream id / error code JavaScript numbers carry exactly.
const MAX_SAFE: f64 = 9_007_199_254_740_991.0;

pub(crate) fn to_u64(name: &str, v: f64) -> Result<u64> {
  if v.is_finite() && v >= 0.0 && v.fract() == 0.0 && v <= MAX_SAFE {
    Ok(v as u64)
  } else {
    Err(invalid_arg(format!("{name} must be a non-negative safe integer, got {v}")))
  }
}

fn cid(name: &str, bytes: &[u8]) -> Result<quiche::ConnectionId<'static>> {
  if bytes.len() > quiche::MAX_CONN_ID_LEN {
    return Err(invalid_arg(format!(
      "{name} is {} bytes; a connection ID has at most {}",
      bytes.len(),
      quiche::MAX_CONN_ID_LEN
    )));
  }
  Ok(quiche::ConnectionId::from_vec(bytes.to_vec()))
}

/// An in-memory sink for qlog or keylog output, drained from JavaScript.
#[derive(Clone, Default)]
struct SharedSink(Arc<Mutex<Vec<u8>>>);

impl Write for SharedSink {
  fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
    if let Ok(mut v) = self.0.lock() {
      v.extend_from_slice(buf);
    }
    Ok(buf.len())
  }
  fn flush(&mut self) -> std::io::Result<()> {
    Ok(())
  }
}

impl SharedSink {
  fn take(&self) -> Option<Buffer> {
    let mut v = self.0.lock().ok()?;
    if v.is_empty() {
      None
    } else {
      Some(std::mem::take(&mut *v).into())
    }
  }
}

/// A buffered file writer that flushes at the end of every qlog record.
///
/// quiche streams qlog through many small writes per event and never calls
/// `finish_log()`, so a plain `BufWriter` would keep the last few KiB (for a
/// short connection, all of it) in memory until the connection object is
/// garbage-collected, or lose them at exit. A record ends with the only raw
/// `\n` of its compact JSON, so flushing there costs one write per event.
struct RecordFlushWriter(std::io::BufWriter<std::fs::File>);

impl Write for RecordFlushWriter {
  fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
    self.0.write_all(buf)?;
    if buf.last() == Some(&b'\n') {
      self.0.flush()?;
    }
    Ok(buf.len())
  }
  fn flush(&mut self) -> std::io::Result<()> {
    self.0.flush()
  }
}

/// What one `send()` call wrote into the caller's buffer.
#[napi(object)]
pub struct SendBatch {
  /// How many packets were written; their lengths are in the `lengths` array.
  pub count: u32,
  /// Total bytes written, packets back to back from offset 0.
  pub bytes: u32,
  /// The size of the first packet: with `uniform`, the GSO segment size.
  pub segment_size: u32,
  /// Where to send the packets.
  pub to: SocketAddress,
  /// The local address to send them from.
  pub from: SocketAddress,
  /// Microseconds from now until the first packet should leave (pacing); 0 for now.
  pub delay_us: f64,
}

/// How far ahead of now a pacer's send time must be to end a batch.
const PACING_GRANULARITY: std::time::Duration = std::time::Duration::from_micros(50);

/// One batch `fill_batch` wrote: `count` packets, `bytes` in all, for `to`.
pub(crate) struct FilledBatch {
  pub count: usize,
  pub bytes: usize,
  /// The first packet's size: the GSO segment size of a uniform batch.
  pub segment: usize,
  pub from: std::net::SocketAddr,
  pub to: std::net::SocketAddr,
  /// When quiche's pacer wants the first packet to leave.
  pub at: Instant,
}

/// What one `streamRecv()` call read.
#[napi(object)]
pub struct StreamRead {
  /// Bytes written into the caller's buffer.
  pub bytes: u32,
  /// Whether the peer finished the stream with this read.
  pub fin: bool,
}

/// A CONNECTION_CLOSE, sent or received.
#[napi(object)]
pub struct ConnectionErrorInfo {
  /// An application close (true) or a transport close (false).
  pub is_app: bool,
  /// The error code.
  pub error_code: f64,
  /// The reason phrase.
  pub reason: String,
}

impl From<&quiche::ConnectionError> for ConnectionErrorInfo {
  fn from(e: &quiche::ConnectionError) -> Self {
    ConnectionErrorInfo {
      is_app: e.is_app,
      error_code: e.error_code as f64,
      reason: String::from_utf8_lossy(&e.reason).into_owned(),
    }
  }
}

/// Connection-wide counters (quiche `Stats`).
#[napi(object)]
pub struct ConnectionStats {
  pub recv: f64,
  pub sent: f64,
  pub lost: f64,
  pub spurious_lost: f64,
  pub retrans: f64,
  pub sent_bytes: f64,
  pub recv_bytes: f64,
  pub acked_bytes: f64,
  pub lost_bytes: f64,
  pub stream_retrans_bytes: f64,
  pub dgram_recv: f64,
  pub dgram_sent: f64,
  pub paths_count: f64,
  pub reset_stream_count_local: f64,
  pub stopped_stream_count_local: f64,
  pub reset_stream_count_remote: f64,
  pub stopped_stream_count_remote: f64,
  pub data_blocked_sent_count: f64,
  pub stream_data_blocked_sent_count: f64,
  pub data_blocked_recv_count: f64,
  pub stream_data_blocked_recv_count: f64,
  pub streams_blocked_bidi_recv_count: f64,
  pub streams_blocked_uni_recv_count: f64,
  pub path_challenge_rx_count: f64,
  pub amplification_limited_count: f64,
  pub bytes_in_flight_duration_us: f64,
}

/// Per-path statistics (quiche `PathStats`). Times are in microseconds.
#[napi(object)]
pub struct PathStats {
  pub local_addr: SocketAddress,
  pub peer_addr: SocketAddress,
  /// `validated`, `validating`, `validationRequested`, `unknown` or `failed`.
  pub validation_state: String,
  pub active: bool,
  pub recv: f64,
  pub sent: f64,
  pub lost: f64,
  pub retrans: f64,
  pub total_pto_count: f64,
  pub dgram_recv: f64,
  pub dgram_sent: f64,
  pub dgram_lost: f64,
  pub rtt_us: f64,
  pub min_rtt_us: Option<f64>,
  pub max_rtt_us: Option<f64>,
  pub rtt_var_us: f64,
  pub cwnd: f64,
  pub sent_bytes: f64,
  pub recv_bytes: f64,
  pub lost_bytes: f64,
  pub stream_retrans_bytes: f64,
  pub pmtu: f64,
  pub delivery_rate: f64,
  pub max_bandwidth: Option<f64>,
  pub startup_exit_cwnd: Option<f64>,
  pub startup_exit_bandwidth: Option<f64>,
  /// `loss`, `bandwidthPlateau`, `persistentQueue`, `conservativeSlowStartRounds`.
  pub startup_exit_reason: Option<String>,
}

/// A path event: a new path, validated, failed, closed, reused CID or migration.
#[napi(object)]
pub struct PathEvent {
  /// `new`, `validated`, `failedValidation`, `closed`, `reusedSourceConnectionId`, `peerMigrated`.
  #[napi(js_name = "type")]
  pub kind: String,
  pub local: SocketAddress,
  pub peer: SocketAddress,
}

/// The side of a stream to shut down.
#[napi(string_enum = "lowercase")]
pub enum Shutdown {
  Read,
  Write,
}

/// A QUIC connection.
#[napi(js_name = "Connection")]
pub struct JsConnection {
  pub(crate) conn: quiche::Connection,
  peer_cache: AddrCache,
  local_cache: AddrCache,
  qlog: Option<SharedSink>,
  keylog: Option<SharedSink>,
  /// The config paces: quiche's send times are pacing times (else they are
  /// the moment each packet was written).
  pacing: bool,
}

impl JsConnection {
  fn wrap(conn: quiche::Connection, pacing: bool) -> Self {
    JsConnection {
      conn,
      peer_cache: AddrCache::default(),
      local_cache: AddrCache::default(),
      qlog: None,
      keylog: None,
      pacing,
    }
  }

  /// Refuses work on a connection that is already closed.
  pub(crate) fn live(&self) -> Result<()> {
    if self.conn.is_closed() {
      Err(err("ConnectionClosed", "ConnectionClosed: the connection is closed"))
    } else {
      Ok(())
    }
  }

  /// Writes packets for one destination back to back into `out`, their
  /// lengths into `lengths`: the core of `send()`, shared with the native
  /// socket's `flush()`. With `uniform`, stops before a packet that would
  /// differ in size from the first (except a shorter last one), so the
  /// batch can go out as one GSO send. With `paced` (the socket hands
  /// release times to the kernel), also stops where quiche's pacer wants the
  /// next packet later. `None` when quiche has nothing.
  pub(crate) fn fill_batch(
    &mut self,
    out: &mut [u8],
    lengths: &mut [u32],
    uniform: bool,
    paced: bool,
  ) -> Result<Option<FilledBatch>> {
    if lengths.is_empty() {
      return Err(invalid_arg("lengths must have room for at least one packet"));
    }
    // quiche writes whatever fits: into a smaller buffer it writes a client
    // Initial shorter than RFC 9000 §14.1 allows (servers drop it), or,
    // when not even a frame fits, reports `Done` as if nothing were ready,
    // and the connection silently stalls.
    if out.len() < quiche::MIN_CLIENT_INITIAL_LEN {
      return Err(err(
        "BufferTooShort",
        format!(
          "BufferTooShort: out is {} bytes; it must hold at least one {}-byte packet",
          out.len(),
          quiche::MIN_CLIENT_INITIAL_LEN
        ),
      ));
    }
    let max = self.conn.max_send_udp_payload_size();
    let (first, info) = match self.conn.send(out) {
      Ok(v) => v,
      Err(quiche::Error::Done) => return Ok(None),
      Err(e) => return Err(quiche_err(e)),
    };
    lengths[0] = first as u32;
    let mut count = 1usize;
    let mut off = first;
    let mut last = first;
    // Without pacing, quiche's send time is when it wrote the packet, and a long batch would
    // pass the horizon by itself: only a pacing config's times may end a batch.
    // A batch is filled within microseconds: one clock read serves all its packets, and none is
    // needed when nothing paces.
    let pacing_horizon = (paced && self.pacing).then(|| Instant::now() + PACING_GRANULARITY);
    while count < lengths.len() && out.len() - off >= max.min(out.len()) && out.len() > off {
      if uniform && last < first {
        break;
      }
      let end = if uniform { (off + first).min(out.len()) } else { out.len() };
      let (n, next) = match self.conn.send_on_path(&mut out[off..end], Some(info.from), Some(info.to))
      {
        Ok(v) => v,
        Err(quiche::Error::Done) | Err(quiche::Error::BufferTooShort) => break,
        Err(e) => return Err(quiche_err(e)),
      };
      lengths[count] = n as u32;
      count += 1;
      off += n;
      last = n;
      if next.to != info.to {
        break;
      }
      // The pacer wants the packets after this one later than the batch's
      // first: end the batch here, so the next one carries its own release
      // time (SO_TXTIME) instead of leaving early with this one. A sender
      // that cannot release packets later (`send()`) must not break its
      // batches on these times: it would only shrink them, at a size that
      // depends on the clock.
      if pacing_horizon.is_some_and(|h| next.at > info.at && next.at > h) {
        break;
      }
    }
    Ok(Some(FilledBatch { count, bytes: off, segment: first, from: info.from, to: info.to, at: info.at }))
  }
}

fn stats_of(s: quiche::Stats) -> ConnectionStats {
  ConnectionStats {
    recv: s.recv as f64,
    sent: s.sent as f64,
    lost: s.lost as f64,
    spurious_lost: s.spurious_lost as f64,
    retrans: s.retrans as f64,
    sent_bytes: s.sent_bytes as f64,
    recv_bytes: s.recv_bytes as f64,
    acked_bytes: s.acked_bytes as f64,
    lost_bytes: s.lost_bytes as f64,
    stream_retrans_bytes: s.stream_retrans_bytes as f64,
    dgram_recv: s.dgram_recv as f64,
    dgram_sent: s.dgram_sent as f64,
    paths_count: s.paths_count as f64,
    reset_stream_count_local: s.reset_stream_count_local as f64,
    stopped_stream_count_local: s.stopped_stream_count_local as f64,
    reset_stream_count_remote: s.reset_stream_count_remote as f64,
    stopped_stream_count_remote: s.stopped_stream_count_remote as f64,
    data_blocked_sent_count: s.data_blocked_sent_count as f64,
    stream_data_blocked_sent_count: s.stream_data_blocked_sent_count as f64,
    data_blocked_recv_count: s.data_blocked_recv_count as f64,
    stream_data_blocked_recv_count: s.stream_data_blocked_recv_count as f64,
    streams_blocked_bidi_recv_count: s.streams_blocked_bidi_recv_count as f64,
    streams_blocked_uni_recv_count: s.streams_blocked_uni_recv_count as f64,
    path_challenge_rx_count: s.path_challenge_rx_count as f64,
    amplification_limited_count: s.amplification_limited_count as f64,
    bytes_in_flight_duration_us: s.bytes_in_flight_duration.as_micros() as f64,
  }
}

fn path_stats_of(p: quiche::PathStats) -> PathStats {
  let state = format!("{:?}", p.validation_state);
  let mut state_chars = state.chars();
  let validation_state = match state_chars.next() {
    Some(f) => f.to_lowercase().collect::<String>() + state_chars.as_str(),
    None => String::new(),
  };
  let (exit_cwnd, exit_bw, exit_reason) = match &p.startup_exit {
    Some(e) => {
      let r = format!("{:?}", e.reason);
      let mut rc = r.chars();
      let reason = match rc.next() {
        Some(f) => f.to_lowercase().collect::<String>() + rc.as_str(),
        None => String::new(),
      };
      (Some(e.cwnd as f64), e.bandwidth.map(|b| b as f64), Some(reason))
    }
    None => (None, None, None),
  };
  PathStats {
    local_addr: p.local_addr.into(),
    peer_addr: p.peer_addr.into(),
    validation_state,
    active: p.active,
    recv: p.recv as f64,
    sent: p.sent as f64,
    lost: p.lost as f64,
    retrans: p.retrans as f64,
    total_pto_count: p.total_pto_count as f64,
    dgram_recv: p.dgram_recv as f64,
    dgram_sent: p.dgram_sent as f64,
    dgram_lost: p.dgram_lost as f64,
    rtt_us: p.rtt.as_micros() as f64,
    min_rtt_us: p.min_rtt.map(|d| d.as_micros() as f64),
    max_rtt_us: p.max_rtt.map(|d| d.as_micros() as f64),
    rtt_var_us: p.rttvar.as_micros() as f64,
    cwnd: p.cwnd as f64,
    sent_bytes: p.sent_bytes as f64,
    recv_bytes: p.recv_bytes as f64,
    lost_bytes: p.lost_bytes as f64,
    stream_retrans_bytes: p.stream_retrans_bytes as f64,
    pmtu: p.pmtu as f64,
    delivery_rate: p.delivery_rate as f64,
    max_bandwidth: p.max_bandwidth.map(|b| b as f64),
    startup_exit_cwnd: exit_cwnd,
    startup_exit_bandwidth: exit_bw,
    startup_exit_reason: exit_reason,
  }
}

fn path_event_of(e: quiche::PathEvent) -> Option<PathEvent> {
  let (kind, local, peer) = match e {
    quiche::PathEvent::New(l, p) => ("new", l, p),
    quiche::PathEvent::Validated(l, p) => ("validated", l, p),
    quiche::PathEvent::FailedValidation(l, p) => ("failedValidation", l, p),
    quiche::PathEvent::Closed(l, p) => ("closed", l, p),
    quiche::PathEvent::ReusedSourceConnectionId(_, (l, p), _) => ("reusedSourceConnectionId", l, p),
    quiche::PathEvent::PeerMigrated(l, p) => ("peerMigrated", l, p),
    // Events a newer quiche adds are skipped rather than misreported.
    _ => return None,
  };
  Some(PathEvent { kind: kind.to_string(), local: local.into(), peer: peer.into() })
}

fn reason_bytes(reason: Option<Either<String, &[u8]>>) -> Vec<u8> {
  match reason {
    None => Vec::new(),
    Some(Either::A(s)) => s.into_bytes(),
    Some(Either::B(b)) => b.to_vec(),
  }
}

#[napi]
impl JsConnection {
  /// Accepts a new server connection for a client's Initial.
  ///
  /// `scid` is the connection ID we choose. After a Retry, `odcid` is the
  /// client's original destination CID and `retryScid` the source CID of our
  /// Retry packet (the DCID of the client's second Initial); without them the
  /// connection is accepted without address validation.
  ///
  /// # Errors
  /// `InvalidArgument` for an address or CID that cannot be used, and
  /// quiche's error names for a configuration it rejects (`TlsFail`).
  #[napi(factory, catch_unwind)]
  pub fn accept(
    scid: &[u8],
    odcid: Option<&[u8]>,
    local: SocketAddress,
    peer: SocketAddress,
    config: &mut JsConfig,
    retry_scid: Option<&[u8]>,
  ) -> Result<Self> {
    let scid = cid("scid", scid)?;
    let local = local.parse()?;
    let peer = peer.parse()?;
    let conn = match (odcid, retry_scid) {
      (Some(o), Some(r)) => {
        let odcid = cid("odcid", o)?;
        let rscid = cid("retryScid", r)?;
        quiche::accept_with_retry(
          &scid,
          quiche::RetryConnectionIds { original_destination_cid: &odcid, retry_source_cid: &rscid },
          local,
          peer,
          &mut config.inner,
        )
      }
      (Some(o), None) => {
        let odcid = cid("odcid", o)?;
        quiche::accept(&scid, Some(&odcid), local, peer, &mut config.inner)
      }
      (None, _) => quiche::accept(&scid, None, local, peer, &mut config.inner),
    }
    .map_err(quiche_err)?;
    Ok(Self::wrap(conn, config.pacing))
  }

  /// Creates a client connection and its first flight.
  ///
  /// `serverName` sets SNI and the name the server certificate is verified
  /// against; an IP address is sent as no SNI and checked against the
  /// certificate's IP addresses. `session` resumes an earlier connection (from `session()`),
  /// which makes 0-RTT possible when the config enables early data.
  ///
  /// # Errors
  /// `InvalidArgument` for a bad address or CID, `CryptoFail` or `TlsFail` for
  /// a session that cannot be used.
  #[napi(factory, catch_unwind)]
  pub fn connect(
    server_name: Option<String>,
    scid: &[u8],
    local: SocketAddress,
    peer: SocketAddress,
    config: &mut JsConfig,
    session: Option<&[u8]>,
  ) -> Result<Self> {
    let scid = cid("scid", scid)?;
    let local = local.parse()?;
    let peer = peer.parse()?;
    // An IP address is no host name: RFC 6066 forbids it in SNI, and quiche would check it
    // against the certificate's DNS names. Send no SNI and verify the address against its IP SANs.
    let ip = server_name.as_deref().and_then(|n| n.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>().ok());
    let sni = if ip.is_some() { None } else { server_name.as_deref() };
    let mut conn = quiche::connect(sni, &scid, local, peer, &mut config.inner).map_err(quiche_err)?;
    if let Some(ip) = ip {
      let ssl: &mut boring::ssl::SslRef = conn.as_mut();
      ssl
        .param_mut()
        .set_ip(ip)
        .map_err(|e| err("TlsFail", format!("TlsFail: cannot verify against {ip}: {e}")))?;
    }
    if let Some(s) = session {
      conn.set_session(s).map_err(quiche_err)?;
    }
    Ok(Self::wrap(conn, config.pacing))
  }

  /// Processes a datagram from the peer, or a GRO batch of datagrams of
  /// `segmentSize` bytes each (the last may be shorter).
  ///
  /// `from` and `to` may be `null` to mean the addresses of the previous
  /// call: a caller that sees the same addresses again skips converting them.
  ///
  /// Returns the number of bytes quiche consumed. A packet quiche drops
  /// (undecryptable, for an unknown CID) is not an error.
  ///
  /// # Errors
  /// quiche's error name when the datagram breaks the protocol; quiche then
  /// has a CONNECTION_CLOSE queued for `send()`. `ConnectionClosed` once closed.
  /// `InvalidArgument` for a `null` address on the first call.
  #[napi(catch_unwind)]
  pub fn recv(
    &mut self,
    mut buf: Uint8Array,
    from: Option<SocketAddress>,
    to: Option<SocketAddress>,
    segment_size: Option<u32>,
  ) -> Result<u32> {
    // SAFETY: the view is only used during this synchronous call.
    let buf = unsafe { buf.as_mut() };
    self.live()?;
    let info = quiche::RecvInfo {
      from: self.peer_cache.get_or_last(from.as_ref())?,
      to: self.local_cache.get_or_last(to.as_ref())?,
    };
    let seg = match segment_size {
      Some(0) => return Err(invalid_arg("segmentSize must be positive")),
      Some(s) => s as usize,
      None => buf.len().max(1),
    };
    let mut total = 0u32;
    for chunk in buf.chunks_mut(seg) {
      match self.conn.recv(chunk, info) {
        Ok(n) => total += n as u32,
        Err(quiche::Error::Done) => {}
        Err(e) => return Err(quiche_err(e)),
      }
    }
    Ok(total)
  }

  /// Writes as many packets as are ready into `out`, back to back, and their
  /// lengths into `lengths`, all for one path (one `from`/`to` pair).
  ///
  /// With `uniform`, stops before a packet that would break GSO's rule (all
  /// packets the size of the first, the last one no larger), so the batch can
  /// go out as one `sendmsg` with UDP_SEGMENT. Returns `null` when nothing is
  /// ready.
  ///
  /// # Errors
  /// `BufferTooShort` when `out` cannot hold one packet of QUIC's minimum
  /// datagram size (1200 bytes); quiche's error name when the connection
  /// fails while sending.
  #[napi(catch_unwind)]
  pub fn send(
    &mut self,
    mut out: Uint8Array,
    mut lengths: Uint32Array,
    uniform: Option<bool>,
  ) -> Result<Option<SendBatch>> {
    // SAFETY: the views are only used during this synchronous call.
    let out = unsafe { out.as_mut() };
    let lengths = unsafe { lengths.as_mut() };
    let Some(b) = self.fill_batch(out, lengths, uniform.unwrap_or(false), false)? else {
      return Ok(None);
    };
    let now = Instant::now();
    let delay_us = if b.at > now { b.at.duration_since(now).as_micros() as f64 } else { 0.0 };
    Ok(Some(SendBatch {
      count: b.count as u32,
      bytes: b.bytes as u32,
      segment_size: b.segment as u32,
      to: b.to.into(),
      from: b.from.into(),
      delay_us,
    }))
  }

  /// Milliseconds until `onTimeout()` must be called, or `null` for never.
  #[napi(catch_unwind)]
  pub fn timeout(&self) -> Option<f64> {
    self.conn.timeout().map(|d| d.as_secs_f64() * 1000.0)
  }

  /// Processes a timeout: loss detection, idle and draining timers.
  #[napi(catch_unwind)]
  pub fn on_timeout(&mut self) {
    self.conn.on_timeout();
  }

  /// Writes `data` to a stream; returns the bytes accepted, which may be
  /// fewer than given, or `null` when the stream has no capacity now.
  ///
  /// # Errors
  /// `StreamStopped` (with `errorCode`) after the peer's STOP_SENDING,
  /// `StreamLimit`, `InvalidStreamState`, `FinalSize`, `ConnectionClosed`.
  #[napi(catch_unwind)]
  pub fn stream_send(&mut self, stream_id: f64, data: &[u8], fin: bool) -> Result<Option<u32>> {
    self.live()?;
    let id = to_u64("streamId", stream_id)?;
    match self.conn.stream_send(id, data, fin) {
      Ok(n) => Ok(Some(n as u32)),
      Err(quiche::Error::Done) => Ok(None),
      Err(e) => Err(stream_err(e, id)),
    }
  }

  /// Reads from a stream into `out`, or `null` when nothing is readable.
  ///
  /// # Errors
  /// `StreamReset` (with `errorCode`) after the peer's RESET_STREAM,
  /// `InvalidStreamState`, `ConnectionClosed`.
  #[napi(catch_unwind)]
  pub fn stream_recv(&mut self, stream_id: f64, mut out: Uint8Array) -> Result<Option<StreamRead>> {
    // SAFETY: the view is only used during this synchronous call.
    let out = unsafe { out.as_mut() };
    self.live()?;
    let id = to_u64("streamId", stream_id)?;
    match self.conn.stream_recv(id, out) {
      Ok((n, fin)) => Ok(Some(StreamRead { bytes: n as u32, fin })),
      Err(quiche::Error::Done) => Ok(None),
      Err(e) => Err(stream_err(e, id)),
    }
  }

  /// Shuts down one side of a stream: `read` sends STOP_SENDING, `write`
  /// sends RESET_STREAM, both with `errorCode`. Returns `false` when there
  /// was nothing to shut down.
  #[napi(catch_unwind)]
  pub fn stream_shutdown(&mut self, stream_id: f64, direction: Shutdown, error_code: f64) -> Result<bool> {
    self.live()?;
    let id = to_u64("streamId", stream_id)?;
    let code = to_u64("errorCode", error_code)?;
    let dir = match direction {
      Shutdown::Read => quiche::Shutdown::Read,
      Shutdown::Write => quiche::Shutdown::Write,
    };
    match self.conn.stream_shutdown(id, dir, code) {
      Ok(()) => Ok(true),
      Err(quiche::Error::Done) => Ok(false),
      Err(e) => Err(stream_err(e, id)),
    }
  }

  /// Bytes the stream can take now.
  #[napi(catch_unwind)]
  pub fn stream_capacity(&mut self, stream_id: f64) -> Result<u32> {
    self.live()?;
    let id = to_u64("streamId", stream_id)?;
    self.conn.stream_capacity(id).map(|n| n as u32).map_err(|e| stream_err(e, id))
  }

  /// Sets a stream's priority (RFC 9218 urgency 0–7 and incremental flag).
  #[napi(catch_unwind)]
  pub fn stream_priority(&mut self, stream_id: f64, urgency: u32, incremental: bool) -> Result<()> {
    self.live()?;
    let id = to_u64("streamId", stream_id)?;
    let urgency = u8::try_from(urgency).map_err(|_| invalid_arg("urgency must be 0 to 255"))?;
    self.conn.stream_priority(id, urgency, incremental).map_err(|e| stream_err(e, id))
  }

  /// Whether the stream has data to read (or a FIN or reset to report).
  #[napi(catch_unwind)]
  pub fn stream_readable(&self, stream_id: f64) -> Result<bool> {
    Ok(self.conn.stream_readable(to_u64("streamId", stream_id)?))
  }

  /// Whether the stream can take `len` bytes now.
  #[napi(catch_unwind)]
  pub fn stream_writable(&mut self, stream_id: f64, len: u32) -> Result<bool> {
    let id = to_u64("streamId", stream_id)?;
    self.conn.stream_writable(id, len as usize).map_err(|e| stream_err(e, id))
  }

  /// Whether all the stream's data has been read and its FIN seen.
  #[napi(catch_unwind)]
  pub fn stream_finished(&self, stream_id: f64) -> Result<bool> {
    Ok(self.conn.stream_finished(to_u64("streamId", stream_id)?))
  }

  /// Whether the stream is fully closed and collected.
  #[napi(catch_unwind)]
  pub fn stream_closed(&self, stream_id: f64) -> Result<bool> {
    Ok(self.conn.stream_closed(to_u64("streamId", stream_id)?))
  }

  /// The readable streams.
  #[napi(catch_unwind)]
  pub fn readable(&self) -> Vec<f64> {
    self.conn.readable().map(|id| id as f64).collect()
  }

  /// The writable streams.
  #[napi(catch_unwind)]
  pub fn writable(&self) -> Vec<f64> {
    self.conn.writable().map(|id| id as f64).collect()
  }

  /// The next readable stream, or `null`.
  #[napi(catch_unwind)]
  pub fn stream_readable_next(&mut self) -> Option<f64> {
    self.conn.stream_readable_next().map(|id| id as f64)
  }

  /// The next writable stream, or `null`.
  #[napi(catch_unwind)]
  pub fn stream_writable_next(&mut self) -> Option<f64> {
    self.conn.stream_writable_next().map(|id| id as f64)
  }

  /// Bidirectional streams the peer still lets us open.
  #[napi(catch_unwind)]
  pub fn peer_streams_left_bidi(&self) -> f64 {
    self.conn.peer_streams_left_bidi() as f64
  }

  /// Unidirectional streams the peer still lets us open.
  #[napi(catch_unwind)]
  pub fn peer_streams_left_uni(&self) -> f64 {
    self.conn.peer_streams_left_uni() as f64
  }

  /// Queues a DATAGRAM frame. Returns `false` when the send queue is full
  /// and the datagram was dropped.
  ///
  /// # Errors
  /// `InvalidState` when the peer does not accept datagrams,
  /// `BufferTooShort` when it is larger than `dgramMaxWritableLen()`.
  #[napi(catch_unwind)]
  pub fn dgram_send(&mut self, data: &[u8]) -> Result<bool> {
    self.live()?;
    match self.conn.dgram_send(data) {
      Ok(()) => Ok(true),
      Err(quiche::Error::Done) => Ok(false),
      Err(e) => Err(quiche_err(e)),
    }
  }

  /// Reads the next received DATAGRAM into `out`: its length, or `null`.
  ///
  /// # Errors
  /// `BufferTooShort` when `out` is smaller than the datagram, which stays
  /// queued for a call with a larger buffer.
  #[napi(catch_unwind)]
  pub fn dgram_recv(&mut self, mut out: Uint8Array) -> Result<Option<u32>> {
    // SAFETY: the view is only used during this synchronous call.
    let out = unsafe { out.as_mut() };
    // quiche pops the datagram before it checks the buffer, so a short
    // buffer would lose it: check first.
    if let Some(len) = self.conn.dgram_recv_front_len() {
      if len > out.len() {
        return Err(err(
          "BufferTooShort",
          format!("BufferTooShort: the next datagram is {len} bytes, out is {}", out.len()),
        ));
      }
    }
    match self.conn.dgram_recv(out) {
      Ok(n) => Ok(Some(n as u32)),
      Err(quiche::Error::Done) => Ok(None),
      Err(e) => Err(quiche_err(e)),
    }
  }

  /// The largest DATAGRAM payload that can be sent now, or `null`.
  #[napi(catch_unwind)]
  pub fn dgram_max_writable_len(&self) -> Option<u32> {
    self.conn.dgram_max_writable_len().map(|n| n as u32)
  }

  /// Datagrams waiting to be read.
  #[napi(catch_unwind)]
  pub fn dgram_recv_queue_len(&self) -> u32 {
    self.conn.dgram_recv_queue_len() as u32
  }

  /// Datagrams waiting to be sent.
  #[napi(catch_unwind)]
  pub fn dgram_send_queue_len(&self) -> u32 {
    self.conn.dgram_send_queue_len() as u32
  }

  /// Closes the connection with an application (`app`) or transport error
  /// code and a reason. Returns `false` if it was already closing.
  #[napi(catch_unwind)]
  pub fn close(&mut self, app: bool, error_code: f64, reason: Option<Either<String, &[u8]>>) -> Result<bool> {
    let code = to_u64("errorCode", error_code)?;
    match self.conn.close(app, code, &reason_bytes(reason)) {
      Ok(()) => Ok(true),
      Err(quiche::Error::Done) => Ok(false),
      Err(e) => Err(quiche_err(e)),
    }
  }

  #[napi(catch_unwind)]
  pub fn is_established(&self) -> bool {
    self.conn.is_established()
  }

  #[napi(catch_unwind)]
  pub fn is_in_early_data(&self) -> bool {
    self.conn.is_in_early_data()
  }

  /// Why early data was accepted or rejected (BoringSSL's `ssl_early_data_reason_t`).
  #[napi(catch_unwind)]
  pub fn early_data_reason(&self) -> u32 {
    self.conn.early_data_reason()
  }

  #[napi(catch_unwind)]
  pub fn is_resumed(&self) -> bool {
    self.conn.is_resumed()
  }

  #[napi(catch_unwind)]
  pub fn is_readable(&self) -> bool {
    self.conn.is_readable()
  }

  #[napi(catch_unwind)]
  pub fn is_draining(&self) -> bool {
    self.conn.is_draining()
  }

  #[napi(catch_unwind)]
  pub fn is_closed(&self) -> bool {
    self.conn.is_closed()
  }

  #[napi(catch_unwind)]
  pub fn is_timed_out(&self) -> bool {
    self.conn.is_timed_out()
  }

  #[napi(catch_unwind)]
  pub fn is_server(&self) -> bool {
    self.conn.is_server()
  }

  /// The CONNECTION_CLOSE the peer sent, if any.
  #[napi(catch_unwind)]
  pub fn peer_error(&self) -> Option<ConnectionErrorInfo> {
    self.conn.peer_error().map(Into::into)
  }

  /// The CONNECTION_CLOSE we sent, if any.
  #[napi(catch_unwind)]
  pub fn local_error(&self) -> Option<ConnectionErrorInfo> {
    self.conn.local_error().map(Into::into)
  }

  #[napi(catch_unwind)]
  pub fn stats(&self) -> ConnectionStats {
    stats_of(self.conn.stats())
  }

  #[napi(catch_unwind)]
  pub fn path_stats(&self) -> Vec<PathStats> {
    self.conn.path_stats().map(path_stats_of).collect()
  }

  /// The session ticket to resume this connection later, once received.
  #[napi(catch_unwind)]
  pub fn session(&self) -> Option<Buffer> {
    self.conn.session().map(|s| s.to_vec().into())
  }

  #[napi(catch_unwind)]
  pub fn trace_id(&self) -> String {
    self.conn.trace_id().to_string()
  }

  /// The negotiated ALPN protocol (empty before the handshake).
  #[napi(catch_unwind)]
  pub fn application_proto(&self) -> String {
    String::from_utf8_lossy(self.conn.application_proto()).into_owned()
  }

  /// The SNI the client asked for (server side).
  #[napi(catch_unwind)]
  pub fn server_name(&self) -> Option<String> {
    self.conn.server_name().map(str::to_string)
  }

  /// The peer's certificate chain, DER, leaf first.
  #[napi(catch_unwind)]
  pub fn peer_cert_chain(&self) -> Option<Vec<Buffer>> {
    self.conn.peer_cert_chain().map(|c| c.into_iter().map(|d| d.to_vec().into()).collect())
  }

  #[napi(catch_unwind)]
  pub fn source_id(&self) -> Buffer {
    self.conn.source_id().as_ref().to_vec().into()
  }

  #[napi(catch_unwind)]
  pub fn destination_id(&self) -> Buffer {
    self.conn.destination_id().as_ref().to_vec().into()
  }

  /// Every source connection ID in use.
  #[napi(catch_unwind)]
  pub fn source_ids(&self) -> Vec<Buffer> {
    self.conn.source_ids().map(|c| c.as_ref().to_vec().into()).collect()
  }

  /// How many more source connection IDs the peer accepts.
  #[napi(catch_unwind)]
  pub fn scids_left(&self) -> u32 {
    self.conn.scids_left() as u32
  }

  /// Source connection IDs the peer retired that `retiredScidNext()` has
  /// not returned yet. Only a retirement frees room for a new one, so a
  /// caller that has issued up to `scidsLeft()` need not ask again while
  /// this is 0.
  #[napi(catch_unwind)]
  pub fn retired_scids(&self) -> u32 {
    self.conn.retired_scids() as u32
  }

  #[napi(catch_unwind)]
  pub fn active_scids(&self) -> u32 {
    self.conn.active_scids() as u32
  }

  /// Issues a new source connection ID with its 16-byte stateless reset
  /// token; returns its sequence number.
  ///
  /// # Errors
  /// `IdLimit` when the peer takes no more, `InvalidState` for a zero-length CID.
  #[napi(catch_unwind)]
  pub fn new_scid(&mut self, scid: &[u8], reset_token: &[u8], retire_if_needed: bool) -> Result<f64> {
    self.live()?;
    let scid = cid("scid", scid)?;
    let token: [u8; 16] =
      reset_token.try_into().map_err(|_| invalid_arg("resetToken must be 16 bytes"))?;
    self
      .conn
      .new_scid(&scid, u128::from_be_bytes(token), retire_if_needed)
      .map(|s| s as f64)
      .map_err(quiche_err)
  }

  /// The next source connection ID the peer retired, or `null`.
  #[napi(catch_unwind)]
  pub fn retired_scid_next(&mut self) -> Option<Buffer> {
    self.conn.retired_scid_next().map(|c| c.as_ref().to_vec().into())
  }

  /// Retires a destination connection ID by sequence number.
  #[napi(catch_unwind)]
  pub fn retire_dcid(&mut self, seq: f64) -> Result<()> {
    self.conn.retire_dcid(to_u64("seq", seq)?).map_err(quiche_err)
  }

  #[napi(catch_unwind)]
  pub fn available_dcids(&self) -> u32 {
    self.conn.available_dcids() as u32
  }

  /// Starts validating a new path (client); returns the DCID sequence used.
  #[napi(catch_unwind)]
  pub fn probe_path(&mut self, local: SocketAddress, peer: SocketAddress) -> Result<f64> {
    self.live()?;
    self.conn.probe_path(local.parse()?, peer.parse()?).map(|s| s as f64).map_err(quiche_err)
  }

  /// Migrates the connection to a validated path (client).
  #[napi(catch_unwind)]
  pub fn migrate(&mut self, local: SocketAddress, peer: SocketAddress) -> Result<f64> {
    self.live()?;
    self.conn.migrate(local.parse()?, peer.parse()?).map(|s| s as f64).map_err(quiche_err)
  }

  /// Migrates to a new local address, keeping the peer address (client).
  #[napi(catch_unwind)]
  pub fn migrate_source(&mut self, local: SocketAddress) -> Result<f64> {
    self.live()?;
    self.conn.migrate_source(local.parse()?).map(|s| s as f64).map_err(quiche_err)
  }

  /// Whether the path from `from` to `to` is validated.
  #[napi(catch_unwind)]
  pub fn is_path_validated(&self, from: SocketAddress, to: SocketAddress) -> Result<bool> {
    self.conn.is_path_validated(from.parse()?, to.parse()?).map_err(quiche_err)
  }

  /// The next path event, or `null`.
  #[napi(catch_unwind)]
  pub fn path_event_next(&mut self) -> Option<PathEvent> {
    while let Some(e) = self.conn.path_event_next() {
      if let Some(e) = path_event_of(e) {
        return Some(e);
      }
    }
    None
  }

  /// The peers with packets to send from the local address `from`.
  #[napi(catch_unwind)]
  pub fn paths_iter(&self, from: SocketAddress) -> Result<Vec<SocketAddress>> {
    let from: SocketAddr = from.parse()?;
    Ok(self.conn.paths_iter(from).map(Into::into).collect())
  }

  /// The most bytes quiche sends in one packet now.
  #[napi(catch_unwind)]
  pub fn max_send_udp_payload_size(&self) -> u32 {
    self.conn.max_send_udp_payload_size() as u32
  }

  /// Bytes the congestion controller allows in one burst.
  #[napi(catch_unwind)]
  pub fn send_quantum(&self) -> u32 {
    self.conn.send_quantum() as u32
  }

  /// Queues an ack-eliciting frame (a PING if nothing else).
  #[napi(catch_unwind)]
  pub fn send_ack_eliciting(&mut self) -> Result<()> {
    self.live()?;
    self.conn.send_ack_eliciting().map_err(quiche_err)
  }

  /// Writes qlog (JSON-SEQ) for this connection to a file, appending.
  ///
  /// # Errors
  /// `InvalidArgument` when the file cannot be opened.
  #[napi(catch_unwind)]
  pub fn set_qlog_file(&mut self, path: String, title: String, description: String) -> Result<()> {
    let file = std::fs::OpenOptions::new()
      .create(true)
      .append(true)
      .open(&path)
      .map_err(|e| invalid_arg(format!("cannot open qlog file {path:?}: {e}")))?;
    self.conn.set_qlog(Box::new(RecordFlushWriter(std::io::BufWriter::new(file))), title, description);
    Ok(())
  }

  /// Collects qlog (JSON-SEQ) in memory; `takeQlog()` drains it.
  #[napi(catch_unwind)]
  pub fn enable_qlog_stream(&mut self, title: String, description: String) {
    let sink = SharedSink::default();
    self.conn.set_qlog(Box::new(sink.clone()), title, description);
    self.qlog = Some(sink);
  }

  /// The qlog written since the last call, or `null`.
  #[napi(catch_unwind)]
  pub fn take_qlog(&self) -> Option<Buffer> {
    self.qlog.as_ref().and_then(SharedSink::take)
  }

  /// Appends TLS secrets in NSS key log format to a file (needs the
  /// config's `logKeys`).
  #[napi(catch_unwind)]
  pub fn set_keylog_file(&mut self, path: String) -> Result<()> {
    let file = std::fs::OpenOptions::new()
      .create(true)
      .append(true)
      .open(&path)
      .map_err(|e| invalid_arg(format!("cannot open keylog file {path:?}: {e}")))?;
    self.conn.set_keylog(Box::new(file));
    Ok(())
  }

  /// Collects TLS secrets in memory; `takeKeylog()` drains them.
  #[napi(catch_unwind)]
  pub fn enable_keylog_stream(&mut self) {
    let sink = SharedSink::default();
    self.conn.set_keylog(Box::new(sink.clone()));
    self.keylog = Some(sink);
  }

  /// The key log lines written since the last call, or `null`.
  #[napi(catch_unwind)]
  pub fn take_keylog(&self) -> Option<Buffer> {
    self.keylog.as_ref().and_then(SharedSink::take)
  }
}
