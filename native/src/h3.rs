//! HTTP/3 over a `Connection`: quiche's `h3::Config` and `h3::Connection`.
//!
//! Every call takes the transport `Connection` it runs on, as quiche does.
//! Header names and values cross as Latin-1 strings, like Node's `http`
//! module, so any octet a peer sends survives the round trip. `poll()`
//! returns a discriminated event or `null`.

use napi::bindgen_prelude::Buffer;
use napi::bindgen_prelude::Uint8Array;

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
  use quiche::h3::NameValue;
  list.iter().map(|h| H3Header { name: latin1(h.name()), value: latin1(h.value()) }).collect()
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
    Ok(JsH3Connection { inner })
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
    self.inner.send_request(&mut conn.conn, &h, fin).map(|id| id as f64).map_err(h3_err)
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
    let r = match urgency {
      Some(u) => {
        let p = priority(u, incremental.unwrap_or(false))?;
        self.inner.send_response_with_priority(&mut conn.conn, id, &h, &p, fin)
      }
      None => self.inner.send_response(&mut conn.conn, id, &h, fin),
    };
    r.map_err(|e| h3_stream_err(e, id))
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
    self
      .inner
      .send_additional_headers(&mut conn.conn, id, &h, is_trailer, fin)
      .map_err(|e| h3_stream_err(e, id))
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

  /// The next HTTP/3 event, or `null` when there is none.
  ///
  /// # Errors
  /// An HTTP/3 or transport error name when the peer broke the protocol;
  /// quiche has then queued a CONNECTION_CLOSE with the matching code.
  #[napi(catch_unwind)]
  pub fn poll(&mut self, conn: &mut JsConnection) -> Result<Option<H3Event>> {
    use quiche::h3::Event;
    let (id, ev) = match self.inner.poll(&mut conn.conn) {
      Ok(v) => v,
      Err(quiche::h3::Error::Done) => return Ok(None),
      Err(e) => return Err(h3_err(e)),
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
