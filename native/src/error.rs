//! Errors that cross the native boundary.
//!
//! Every error thrown into JavaScript carries a stable `code`: the quiche or
//! HTTP/3 error name (`BufferTooShort`, `StreamReset`, `ExcessiveLoad`, …) or
//! one of ours (`InvalidArgument`, `ConnectionClosed`, `InvalidPem`,
//! `CertificateFile`). Data an error carries is appended to the message as
//! `key=value` pairs (`streamId=4`, `errorCode=268`, `wireCode=263`), which
//! `src/native/errors.ts` reads back into typed fields. quiche's `Done` never
//! becomes an error: callers map it to `null` before it gets here.

/// The `code` property of a thrown error.
pub struct Code(pub &'static str);

impl AsRef<str> for Code {
  fn as_ref(&self) -> &str {
    self.0
  }
}

/// A napi error with a stable code.
pub type Error = napi::Error<Code>;
/// The result type of every fallible native entry point.
pub type Result<T> = std::result::Result<T, Error>;

/// Builds an error with one of our own codes.
pub fn err(code: &'static str, message: impl Into<String>) -> Error {
  napi::Error::new(Code(code), message.into())
}

/// An argument from JavaScript that cannot be used (bad address, size, …).
pub fn invalid_arg(message: impl Into<String>) -> Error {
  err("InvalidArgument", message)
}

/// The stable name of a quiche error.
pub fn quiche_code(e: &quiche::Error) -> &'static str {
  use quiche::Error::*;
  match e {
    Done => "Done",
    BufferTooShort => "BufferTooShort",
    UnknownVersion => "UnknownVersion",
    InvalidFrame => "InvalidFrame",
    InvalidPacket => "InvalidPacket",
    InvalidState => "InvalidState",
    InvalidStreamState(_) => "InvalidStreamState",
    InvalidTransportParam => "InvalidTransportParam",
    CryptoFail => "CryptoFail",
    TlsFail => "TlsFail",
    FlowControl => "FlowControl",
    StreamLimit => "StreamLimit",
    StreamStopped(_) => "StreamStopped",
    StreamReset(_) => "StreamReset",
    FinalSize => "FinalSize",
    CongestionControl => "CongestionControl",
    IdLimit => "IdLimit",
    OutOfIdentifiers => "OutOfIdentifiers",
    KeyUpdate => "KeyUpdate",
    CryptoBufferExceeded => "CryptoBufferExceeded",
    InvalidAckRange => "InvalidAckRange",
    OptimisticAckDetected => "OptimisticAckDetected",
    InvalidDcidInitialization => "InvalidDcidInitialization",
  }
}

/// Maps a quiche error to a JavaScript error, keeping the data it carries.
pub fn quiche_err(e: quiche::Error) -> Error {
  let code = quiche_code(&e);
  let message = match e {
    quiche::Error::InvalidStreamState(id) => {
      format!("{code}: the stream is not in a state for this operation (streamId={id})")
    }
    quiche::Error::StreamStopped(c) => {
      format!("{code}: the peer asked to stop sending on the stream (errorCode={c})")
    }
    quiche::Error::StreamReset(c) => format!("{code}: the peer reset the stream (errorCode={c})"),
    other => format!("{code}: {other}"),
  };
  err(code, message)
}

/// Names the stream an error is about, unless its message already does.
fn naming_stream(e: Error, stream_id: u64) -> Error {
  if e.reason.contains("streamId=") {
    return e;
  }
  let reason = format!("{} (streamId={stream_id})", e.reason);
  napi::Error::new(e.status, reason)
}

/// Like [`quiche_err`], naming the stream the call was about.
pub fn stream_err(e: quiche::Error, stream_id: u64) -> Error {
  naming_stream(quiche_err(e), stream_id)
}

/// The stable name of an HTTP/3 error. A transport error inside HTTP/3 keeps
/// the transport error's name.
pub fn h3_code(e: &quiche::h3::Error) -> &'static str {
  use quiche::h3::Error::*;
  match e {
    Done => "Done",
    BufferTooShort => "BufferTooShort",
    InternalError => "InternalError",
    ExcessiveLoad => "ExcessiveLoad",
    IdError => "IdError",
    StreamCreationError => "StreamCreationError",
    ClosedCriticalStream => "ClosedCriticalStream",
    MissingSettings => "MissingSettings",
    FrameUnexpected => "FrameUnexpected",
    FrameError => "FrameError",
    QpackDecompressionFailed => "QpackDecompressionFailed",
    TransportError(t) => quiche_code(t),
    StreamBlocked => "StreamBlocked",
    SettingsError => "SettingsError",
    RequestRejected => "RequestRejected",
    RequestCancelled => "RequestCancelled",
    RequestIncomplete => "RequestIncomplete",
    MessageError => "MessageError",
    ConnectError => "ConnectError",
    VersionFallback => "VersionFallback",
  }
}

/// The HTTP/3 error code (RFC 9114 §8.1) quiche sends for an error, or 0
/// where it sends none of its own.
fn h3_wire_code(e: &quiche::h3::Error) -> u64 {
  use quiche::h3::Error::*;
  use quiche::h3::WireErrorCode as W;
  (match e {
    Done => W::NoError as u64,
    InternalError => W::InternalError as u64,
    StreamCreationError => W::StreamCreationError as u64,
    ClosedCriticalStream => W::ClosedCriticalStream as u64,
    FrameUnexpected => W::FrameUnexpected as u64,
    FrameError => W::FrameError as u64,
    ExcessiveLoad => W::ExcessiveLoad as u64,
    IdError => W::IdError as u64,
    MissingSettings => W::MissingSettings as u64,
    QpackDecompressionFailed => 0x200,
    SettingsError => W::SettingsError as u64,
    RequestRejected => W::RequestRejected as u64,
    RequestCancelled => W::RequestCancelled as u64,
    RequestIncomplete => W::RequestIncomplete as u64,
    MessageError => W::MessageError as u64,
    ConnectError => W::ConnectError as u64,
    VersionFallback => W::VersionFallback as u64,
    BufferTooShort | TransportError(_) | StreamBlocked => 0,
  }) as u64
}

/// Maps an HTTP/3 error to a JavaScript error with its wire code.
pub fn h3_err(e: quiche::h3::Error) -> Error {
  if let quiche::h3::Error::TransportError(t) = e {
    return quiche_err(t);
  }
  let code = h3_code(&e);
  let wire = h3_wire_code(&e);
  err(code, format!("{code}: {e} (wireCode={wire})"))
}

/// Like [`h3_err`], naming the stream the call was about.
pub fn h3_stream_err(e: quiche::h3::Error, stream_id: u64) -> Error {
  naming_stream(h3_err(e), stream_id)
}
