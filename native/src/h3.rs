//! HTTP/3 over a `Connection`: quiche's `h3::Config` and `h3::Connection`.
//!
//! Every call takes the transport `Connection` it runs on, as quiche does.
//! Header names and values cross as Latin-1 strings, like Node's `http`
//! module, so any octet a peer sends survives the round trip. `poll()`
//! returns a discriminated event or `null`.
//!
//! The batched calls make no JavaScript objects: `pollEvents` writes many
//! events as numbers into a caller's `Float64Array` and their field sections
//! into a caller's `Uint8Array`, and the `send…Encoded` calls take a field
//! section in the same encoding (see [`encode_section`]). This is what the
//! HTTP/3 driver uses; `poll()` and the `H3Header[]` calls stay for the rest.

use napi::bindgen_prelude::Buffer;
use napi::bindgen_prelude::Float64Array;
use napi::bindgen_prelude::Uint8Array;
use quiche::h3::Event;
use quiche::h3::HeaderRef;
use quiche::h3::NameValue;

use crate::connection::to_u64;
use crate::connection::JsConnection;
use crate::error::err;
use crate::error::h3_err;
use crate::error::h3_stream_err;
use crate::error::invalid_arg;
use crate::error::Result;

/// One header field.
#[napi(object)]
pub struct H3Header {
  pub name: String,
  pub value: String,
}

/// HTTP/3 settings we announce.
#[napi(object)]
#[derive(Default)]
pub struct H3ConfigOptions {
  /// SETTINGS_MAX_FIELD_SECTION_SIZE: larger header sections are refused with H3_EXCESSIVE_LOAD.
  pub max_field_section_size: Option<f64>,
  /// SETTINGS_QPACK_MAX_TABLE_CAPACITY.
  pub qpack_max_table_capacity: Option<f64>,
  /// SETTINGS_QPACK_BLOCKED_STREAMS.
  pub qpack_blocked_streams: Option<f64>,
  /// SETTINGS_ENABLE_CONNECT_PROTOCOL (extended CONNECT, RFC 9220).
  pub enable_extended_connect: Option<bool>,
  /// The largest PRIORITY_UPDATE frame accepted.
  pub max_priority_update_size: Option<f64>,
}

/// An HTTP/3 configuration.
#[napi(js_name = "H3Config")]
pub struct JsH3Config {
  inner: quiche::h3::Config,
}

#[napi]
impl JsH3Config {
  /// # Errors
  /// `InvalidSetting` for a value that is not a non-negative integer.
  #[napi(constructor, catch_unwind)]
  pub fn new(options: Option<H3ConfigOptions>) -> Result<Self> {
    let o = options.unwrap_or_default();
    let mut c = quiche::h3::Config::new().map_err(h3_err)?;
    let int = |name: &str, v: f64| {
      to_u64(name, v).map_err(|_| err("InvalidSetting", format!("{name} must be a non-negative integer")))
    };
    if let Some(v) = o.max_field_section_size {
      c.set_max_field_section_size(int("maxFieldSectionSize", v)?);
    }
    if let Some(v) = o.qpack_max_table_capacity {
      c.set_qpack_max_table_capacity(int("qpackMaxTableCapacity", v)?);
    }
    if let Some(v) = o.qpack_blocked_streams {
      c.set_qpack_blocked_streams(int("qpackBlockedStreams", v)?);
    }
    if let Some(v) = o.enable_extended_connect {
      c.enable_extended_connect(v);
    }
    if let Some(v) = o.max_priority_update_size {
      c.set_max_priority_update_size(int("maxPriorityUpdateSize", v)?);
    }
    Ok(JsH3Config { inner: c })
  }
}

/// An HTTP/3 event from `poll()`.
#[napi(object)]
pub struct H3Event {
  /// `headers`, `data`, `finished`, `reset`, `priorityUpdate` or `goaway`.
  #[napi(js_name = "type")]
  pub kind: String,
  /// The request stream (for `goaway`, the id the peer named).
  pub stream_id: f64,
  /// For `headers`: the field section.
  pub headers: Option<Vec<H3Header>>,
  /// For `headers`: whether DATA or trailers may follow.
  pub more_frames: Option<bool>,
  /// For `reset`: the application error code.
  pub error_code: Option<f64>,
}

fn latin1(bytes: &[u8]) -> String {
  bytes.iter().map(|&b| b as char).collect()
}

fn to_latin1(what: &str, s: &str) -> Result<Vec<u8>> {
  s.chars()
    .map(|c| {
      u8::try_from(c as u32)
        .map_err(|_| invalid_arg(format!("header {what} {s:?} has a character outside Latin-1")))
    })
    .collect()
}

fn headers_in(list: &[H3Header]) -> Result<Vec<quiche::h3::Header>> {
  list
    .iter()
    .map(|h| Ok(quiche::h3::Header::new(&to_latin1("name", &h.name)?, &to_latin1("value", &h.value)?)))
    .collect()
}

fn headers_out(list: Vec<quiche::h3::Header>) -> Vec<H3Header> {
  list.iter().map(|h| H3Header { name: latin1(h.name()), value: latin1(h.value()) }).collect()
}

/// Bytes [`encode_section`] writes for `list`.
fn section_len(list: &[quiche::h3::Header]) -> usize {
  4 + list.iter().map(|h| 8 + h.name().len() + h.value().len()).sum::<usize>()
}

/// Writes a field section as the batched calls carry it: a u32 LE field
/// count, then for each field a u32 LE name length, the name, a u32 LE value
/// length and the value. `out` holds at least [`section_len`] bytes.
fn encode_section(list: &[quiche::h3::Header], out: &mut [u8]) -> usize {
  fn put(out: &mut [u8], at: usize, bytes: &[u8]) -> usize {
    out[at..at + 4].copy_from_slice(&(bytes.len() as u32).to_le_bytes());
    out[at + 4..at + 4 + bytes.len()].copy_from_slice(bytes);
    at + 4 + bytes.len()
  }
  out[0..4].copy_from_slice(&(list.len() as u32).to_le_bytes());
  let mut at = 4;
  for h in list {
    at = put(out, at, h.name());
    at = put(out, at, h.value());
  }
  at
}

/// Reads a field section written as [`encode_section`] does, borrowing from
/// `buf`; bytes after the last field are ignored, so a reused buffer can be
/// passed whole.
fn decode_section(buf: &[u8]) -> Result<Vec<HeaderRef<'_>>> {
  fn u32_at(buf: &[u8], at: usize) -> Result<usize> {
    let b = buf.get(at..at + 4).ok_or_else(|| invalid_arg("the encoded field section is truncated"))?;
    Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
  }
  fn bytes_at<'a>(buf: &'a [u8], at: &mut usize) -> Result<&'a [u8]> {
    let n = u32_at(buf, *at)?;
    let start = *at + 4;
    let b = buf
      .get(start..start.saturating_add(n))
      .ok_or_else(|| invalid_arg("the encoded field section is truncated"))?;
    *at = start + n;
    Ok(b)
  }
  let count = u32_at(buf, 0)?;
  // Each field takes at least 8 bytes: a bad count cannot make us allocate much.
  let mut list = Vec::with_capacity(count.min(buf.len() / 8));
  let mut at = 4;
  for _ in 0..count {
    let name = bytes_at(buf, &mut at)?;
    let value = bytes_at(buf, &mut at)?;
    list.push(HeaderRef::new(name, value));
  }
  Ok(list)
}

/// The number `pollEvents` writes for each kind of event.
fn event_code(ev: &Event) -> f64 {
  match ev {
    Event::Headers { .. } => 0.0,
    Event::Data => 1.0,
    Event::Finished => 2.0,
    Event::Reset(_) => 3.0,
    Event::PriorityUpdate => 4.0,
    Event::GoAway => 5.0,
  }
}

fn priority(urgency: u32, incremental: bool) -> Result<quiche::h3::Priority> {
  if urgency > 7 {
    return Err(invalid_arg("urgency must be 0 to 7"));
  }
  Ok(quiche::h3::Priority::new(urgency as u8, incremental))
}

/// An HTTP/3 connection on top of a QUIC connection.
#[napi(js_name = "H3Connection")]
pub struct JsH3Connection {
  inner: quiche::h3::Connection,
  /// An event polled from quiche that did not fit the caller's buffers:
  /// the next `pollEvents` or `poll` returns it first.
  stashed: Option<(u64, Event)>,
  /// An error quiche returned after `pollEvents` had written events: raised
  /// by the next call, once those events were handled.
  deferred: Option<quiche::h3::Error>,
}

impl JsH3Connection {
  /// The next event: the stashed one, the deferred error, then quiche's.
  /// `Ok(None)` is quiche's `Done`.
  fn next_event(&mut self, conn: &mut JsConnection) -> std::result::Result<Option<(u64, Event)>, quiche::h3::Error> {
    if let Some(v) = self.stashed.take() {
      return Ok(Some(v));
    }
    if let Some(e) = self.deferred.take() {
      return Err(e);
    }
    match self.inner.poll(&mut conn.conn) {
      Ok(v) => Ok(Some(v)),
      Err(quiche::h3::Error::Done) => Ok(None),
      Err(e) => Err(e),
    }
  }

  fn request<T: NameValue>(&mut self, conn: &mut JsConnection, h: &[T], fin: bool) -> Result<f64> {
    self.inner.send_request(&mut conn.conn, h, fin).map(|id| id as f64).map_err(h3_err)
  }

  fn response<T: NameValue>(
    &mut self,
    conn: &mut JsConnection,
    id: u64,
    h: &[T],
    fin: bool,
    urgency: Option<u32>,
    incremental: Option<bool>,
  ) -> Result<()> {
    let r = match urgency {
      Some(u) => {
        let p = priority(u, incremental.unwrap_or(false))?;
        self.inner.send_response_with_priority(&mut conn.conn, id, h, &p, fin)
      }
      None => self.inner.send_response(&mut conn.conn, id, h, fin),
    };
    r.map_err(|e| h3_stream_err(e, id))
  }

  fn additional<T: NameValue>(
    &mut self,
    conn: &mut JsConnection,
    id: u64,
    h: &[T],
    is_trailer: bool,
    fin: bool,
  ) -> Result<()> {
    self
      .inner
      .send_additional_headers(&mut conn.conn, id, h, is_trailer, fin)
      .map_err(|e| h3_stream_err(e, id))
  }
}

#[napi]
impl JsH3Connection {
  /// Creates the HTTP/3 layer and queues our SETTINGS. A client's QUIC
  /// connection must be established (or in early data) first.
  ///
  /// # Errors
  /// `InternalError` when the transport is not ready, `StreamLimit` when the
  /// peer allows no unidirectional streams for the control and QPACK streams.
  #[napi(factory, catch_unwind)]
  pub fn with_transport(conn: &mut JsConnection, config: &JsH3Config) -> Result<Self> {
    conn.live()?;
    let inner = quiche::h3::Connection::with_transport(&mut conn.conn, &config.inner).map_err(h3_err)?;
    Ok(JsH3Connection { inner, stashed: None, deferred: None })
  }

  /// Sends a request; returns its stream id.
  ///
  /// # Errors
  /// `StreamBlocked` when the peer's stream limit or flow control blocks it
  /// (retry when the connection is writable), `FrameUnexpected` after GOAWAY.
  #[napi(catch_unwind)]
  pub fn send_request(&mut self, conn: &mut JsConnection, headers: Vec<H3Header>, fin: bool) -> Result<f64> {
    conn.live()?;
    let h = headers_in(&headers)?;
    self.request(conn, &h, fin)
  }

  /// `sendRequest` with the field section encoded as `pollEvents` writes
  /// it (a u32 LE field count, then per field a u32 LE name length, the
  /// name, a u32 LE value length, the value); bytes after it are ignored.
  ///
  /// # Errors
  /// As `sendRequest`; `InvalidArgument` for a truncated section.
  #[napi(catch_unwind)]
  pub fn send_request_encoded(&mut self, conn: &mut JsConnection, encoded: &[u8], fin: bool) -> Result<f64> {
    conn.live()?;
    let h = decode_section(encoded)?;
    self.request(conn, &h, fin)
  }

  /// Sends response headers, with an optional RFC 9218 priority.
  ///
  /// # Errors
  /// `StreamBlocked` when the stream cannot take the headers now (retry),
  /// `FrameUnexpected` when a response was already sent.
  #[napi(catch_unwind)]
  pub fn send_response(
    &mut self,
    conn: &mut JsConnection,
    stream_id: f64,
    headers: Vec<H3Header>,
    fin: bool,
    urgency: Option<u32>,
    incremental: Option<bool>,
  ) -> Result<()> {
    conn.live()?;
    let id = to_u64("streamId", stream_id)?;
    let h = headers_in(&headers)?;
    self.response(conn, id, &h, fin, urgency, incremental)
  }

  /// `sendResponse` with the field section encoded as for
  /// `sendRequestEncoded`.
  ///
  /// # Errors
  /// As `sendResponse`; `InvalidArgument` for a truncated section.
  #[napi(catch_unwind)]
  pub fn send_response_encoded(
    &mut self,
    conn: &mut JsConnection,
    stream_id: f64,
    encoded: &[u8],
    fin: bool,
    urgency: Option<u32>,
    incremental: Option<bool>,
  ) -> Result<()> {
    conn.live()?;
    let id = to_u64("streamId", stream_id)?;
    let h = decode_section(encoded)?;
    self.response(conn, id, &h, fin, urgency, incremental)
  }

  /// `sendResponseEncoded`, then as much of `body` as the stream takes now
  /// (`fin` once all of it is taken): a small response in one call. Returns
  /// how many body bytes were taken, 0 when none.
  ///
  /// # Errors
  /// As `sendResponseEncoded` (nothing was sent), then as `sendBody` (the
  /// headers were sent).
  #[napi(catch_unwind)]
  #[allow(clippy::too_many_arguments)]
  pub fn send_response_with_body(
    &mut self,
    conn: &mut JsConnection,
    stream_id: f64,
    encoded: &[u8],
    body: &[u8],
    fin: bool,
    urgency: Option<u32>,
    incremental: Option<bool>,
  ) -> Result<u32> {
    conn.live()?;
    let id = to_u64("streamId", stream_id)?;
    let h = decode_section(encoded)?;
    self.response(conn, id, &h, false, urgency, incremental)?;
    match self.inner.send_body(&mut conn.conn, id, body, fin) {
      Ok(n) => Ok(n as u32),
      Err(quiche::h3::Error::Done) => Ok(0),
      Err(e) => Err(h3_stream_err(e, id)),
    }
  }

  /// Sends another header section: an informational (1xx) response before
  /// the final one, or trailers (`isTrailer`) after the body.
  #[napi(catch_unwind)]
  pub fn send_additional_headers(
    &mut self,
    conn: &mut JsConnection,
    stream_id: f64,
    headers: Vec<H3Header>,
    is_trailer: bool,
    fin: bool,
  ) -> Result<()> {
    conn.live()?;
    let id = to_u64("streamId", stream_id)?;
    let h = headers_in(&headers)?;
    self.additional(conn, id, &h, is_trailer, fin)
  }

  /// `sendAdditionalHeaders` with the field section encoded as for
  /// `sendRequestEncoded`.
  ///
  /// # Errors
  /// As `sendAdditionalHeaders`; `InvalidArgument` for a truncated section.
  #[napi(catch_unwind)]
  pub fn send_additional_headers_encoded(
    &mut self,
    conn: &mut JsConnection,
    stream_id: f64,
    encoded: &[u8],
    is_trailer: bool,
    fin: bool,
  ) -> Result<()> {
    conn.live()?;
    let id = to_u64("streamId", stream_id)?;
    let h = decode_section(encoded)?;
    self.additional(conn, id, &h, is_trailer, fin)
  }

  /// Sends body bytes; returns how many were taken, or `null` when the
  /// stream has no capacity now.
  #[napi(catch_unwind)]
  pub fn send_body(&mut self, conn: &mut JsConnection, stream_id: f64, body: &[u8], fin: bool) -> Result<Option<u32>> {
    conn.live()?;
    let id = to_u64("streamId", stream_id)?;
    match self.inner.send_body(&mut conn.conn, id, body, fin) {
      Ok(n) => Ok(Some(n as u32)),
      Err(quiche::h3::Error::Done) => Ok(None),
      Err(e) => Err(h3_stream_err(e, id)),
    }
  }

  /// Reads body bytes into `out`; returns how many, or `null` when none are
  /// ready.
  #[napi(catch_unwind)]
  pub fn recv_body(&mut self, conn: &mut JsConnection, stream_id: f64, mut out: Uint8Array) -> Result<Option<u32>> {
    // SAFETY: the view is only used during this synchronous call.
    let out = unsafe { out.as_mut() };
    conn.live()?;
    let id = to_u64("streamId", stream_id)?;
    match self.inner.recv_body(&mut conn.conn, id, out) {
      Ok(n) => Ok(Some(n as u32)),
      Err(quiche::h3::Error::Done) => Ok(None),
      Err(e) => Err(h3_stream_err(e, id)),
    }
  }

  /// The next HTTP/3 event, or `null` when there is none. An event
  /// `pollEvents` could not fit comes first, so the two can be mixed.
  ///
  /// # Errors
  /// An HTTP/3 or transport error name when the peer broke the protocol;
  /// quiche has then queued a CONNECTION_CLOSE with the matching code.
  #[napi(catch_unwind)]
  pub fn poll(&mut self, conn: &mut JsConnection) -> Result<Option<H3Event>> {
    let Some((id, ev)) = self.next_event(conn).map_err(h3_err)? else {
      return Ok(None);
    };
    let base = |kind: &str| H3Event {
      kind: kind.to_string(),
      stream_id: id as f64,
      headers: None,
      more_frames: None,
      error_code: None,
    };
    Ok(Some(match ev {
      Event::Headers { list, more_frames } => H3Event {
        headers: Some(headers_out(list)),
        more_frames: Some(more_frames),
        ..base("headers")
      },
      Event::Data => base("data"),
      Event::Finished => base("finished"),
      Event::Reset(code) => H3Event { error_code: Some(code as f64), ..base("reset") },
      Event::PriorityUpdate => base("priorityUpdate"),
      Event::GoAway => base("goaway"),
    }))
  }

  /// Polls quiche until it has no event left or `nums` is full, writing
  /// each event as four numbers into `nums`: its kind (0 `headers`,
  /// 1 `data`, 2 `finished`, 3 `reset`, 4 `priorityUpdate`, 5 `goaway`), the
  /// stream id (for `goaway`, the id the peer named), `moreFrames` as 1 or 0
  /// for `headers` or the error code for `reset` (else 0), and the end
  /// offset in `bytes` of the field sections written so far. A `headers`
  /// event's field section goes into `bytes` (starting where the previous
  /// one ended, at 0 for the first) encoded as `sendRequestEncoded` takes it.
  ///
  /// Returns how many events were written (0: none). An event that does not
  /// fit is kept and comes first next time; when the first event's field
  /// section alone is larger than `bytes`, returns minus the bytes it needs
  /// (nothing is lost: call again with a larger buffer). When fewer events
  /// than `nums` holds were written, the number after the last one says why
  /// the call stopped: -1 when quiche had no more events, -2 when one waits
  /// (kept, or an error raised by the next call). After -1, only packets or
  /// a body read (`recvBody`) can give quiche new events.
  ///
  /// # Errors
  /// As `poll`, when no event was written; an error quiche returns after
  /// events were written is raised by the next call (or `poll`).
  #[napi(catch_unwind)]
  pub fn poll_events(&mut self, conn: &mut JsConnection, mut nums: Float64Array, mut bytes: Uint8Array) -> Result<i64> {
    // SAFETY: the views are only used during this synchronous call.
    let nums = unsafe { nums.as_mut() };
    let bytes = unsafe { bytes.as_mut() };
    if nums.len() < 4 {
      return Err(invalid_arg("nums must hold at least one event (4 numbers)"));
    }
    let max = nums.len() / 4;
    let mut count = 0;
    let mut end = 0;
    let mut done = false;
    while count < max {
      let (id, ev) = match self.next_event(conn) {
        Ok(Some(v)) => v,
        Ok(None) => {
          done = true;
          break;
        }
        Err(e) if count == 0 => return Err(h3_err(e)),
        Err(e) => {
          self.deferred = Some(e);
          break;
        }
      };
      let detail = match &ev {
        Event::Headers { list, more_frames } => {
          let need = section_len(list);
          if end + need > bytes.len() {
            self.stashed = Some((id, ev));
            if count == 0 {
              return Ok(-(need as i64));
            }
            break;
          }
          end += encode_section(list, &mut bytes[end..]);
          if *more_frames {
            1.0
          } else {
            0.0
          }
        }
        Event::Reset(code) => *code as f64,
        _ => 0.0,
      };
      let at = count * 4;
      nums[at] = event_code(&ev);
      nums[at + 1] = id as f64;
      nums[at + 2] = detail;
      nums[at + 3] = end as f64;
      count += 1;
    }
    if count < max {
      nums[count * 4] = if done { -1.0 } else { -2.0 };
    }
    Ok(count as i64)
  }

  /// Sends GOAWAY naming the last stream (server) or push (client) id we
  /// will process.
  #[napi(catch_unwind)]
  pub fn send_goaway(&mut self, conn: &mut JsConnection, id: f64) -> Result<()> {
    conn.live()?;
    self.inner.send_goaway(&mut conn.conn, to_u64("id", id)?).map_err(h3_err)
  }

  /// Sends a PRIORITY_UPDATE for one of our requests (client).
  #[napi(catch_unwind)]
  pub fn send_priority_update_for_request(
    &mut self,
    conn: &mut JsConnection,
    stream_id: f64,
    urgency: u32,
    incremental: bool,
  ) -> Result<()> {
    conn.live()?;
    let id = to_u64("streamId", stream_id)?;
    let p = priority(urgency, incremental)?;
    self.inner.send_priority_update_for_request(&mut conn.conn, id, &p).map_err(|e| h3_stream_err(e, id))
  }

  /// The last Priority Field Value the peer sent for a stream, or `null`.
  #[napi(catch_unwind)]
  pub fn take_last_priority_update(&mut self, stream_id: f64) -> Result<Option<String>> {
    match self.inner.take_last_priority_update(to_u64("streamId", stream_id)?) {
      Ok(v) => Ok(Some(latin1(&v))),
      Err(quiche::h3::Error::Done) => Ok(None),
      Err(e) => Err(h3_err(e)),
    }
  }

  /// Whether the peer accepts HTTP/3 datagrams (RFC 9297).
  #[napi(catch_unwind)]
  pub fn dgram_enabled_by_peer(&self, conn: &JsConnection) -> bool {
    self.inner.dgram_enabled_by_peer(&conn.conn)
  }

  /// Whether the peer enabled extended CONNECT.
  #[napi(catch_unwind)]
  pub fn extended_connect_enabled_by_peer(&self) -> bool {
    self.inner.extended_connect_enabled_by_peer()
  }

  /// The peer's SETTINGS as `[id, value]` pairs, once received.
  #[napi(catch_unwind)]
  pub fn peer_settings_raw(&self) -> Option<Vec<Vec<f64>>> {
    self
      .inner
      .peer_settings_raw()
      .map(|s| s.iter().map(|&(k, v)| vec![k as f64, v as f64]).collect())
  }
}

/// Bytes of the buffer quiche uses for the quarter-stream-id prefix of an
/// HTTP/3 datagram: decodes a QUIC varint at the start of `buf`, returning
/// `[value, length]` or `null` when it is truncated.
#[napi(catch_unwind)]
pub fn decode_varint(buf: &[u8]) -> Option<Vec<f64>> {
  let first = *buf.first()?;
  let len = 1usize << (first >> 6);
  if buf.len() < len {
    return None;
  }
  let mut v = (first & 0x3f) as u64;
  for b in &buf[1..len] {
    v = (v << 8) | *b as u64;
  }
  Some(vec![v as f64, len as f64])
}

/// Encodes `value` as a QUIC varint.
#[napi(catch_unwind)]
pub fn encode_varint(value: f64) -> Result<Buffer> {
  let v = to_u64("value", value)?;
  let out: Vec<u8> = if v < 1 << 6 {
    vec![v as u8]
  } else if v < 1 << 14 {
    ((v as u16) | 0x4000).to_be_bytes().to_vec()
  } else if v < 1 << 30 {
    ((v as u32) | 0x8000_0000).to_be_bytes().to_vec()
  } else {
    (v | 0xc000_0000_0000_0000).to_be_bytes().to_vec()
  };
  Ok(out.into())
}
