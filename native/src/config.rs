//! `Config`: one `quiche::Config` built from a plain options object.
//!
//! The option names are quiche's setters in camelCase (and tokio-quiche's
//! `QuicSettings` field names where those differ). A field left out keeps
//! quiche's own default: the TypeScript settings layer applies
//! tokio-quiche's defaults before it gets here. TLS material comes from PEM
//! files or from memory; a client that verifies its peer trusts exactly the
//! CAs it is given (the TypeScript layer passes Node's bundled roots by
//! default).

use boring::pkey::PKey;
use boring::ssl::SslContextBuilder;
use boring::ssl::SslFiletype;
use boring::ssl::SslMethod;
use boring::x509::X509;

use crate::error::err;
use crate::error::invalid_arg;
use crate::error::quiche_err;
use crate::error::Result;

/// Every setting of a QUIC configuration. Durations are in milliseconds.
#[napi(object)]
#[derive(Default)]
pub struct ConfigOptions {
  /// The QUIC version. Defaults to QUIC v1 (`0x00000001`).
  pub version: Option<u32>,
  /// ALPN protocol identifiers, most preferred first (e.g. `["h3"]`).
  pub alpn: Option<Vec<String>>,
  /// Enables DATAGRAM frames (RFC 9221).
  pub enable_dgram: Option<bool>,
  /// Max queue length for received DATAGRAM frames.
  pub dgram_recv_max_queue_len: Option<u32>,
  /// Max queue length for DATAGRAM frames waiting to be sent.
  pub dgram_send_max_queue_len: Option<u32>,
  /// Enables 0-RTT: accepting early data on a server, sending it on a client.
  pub enable_early_data: Option<bool>,
  /// The `initial_max_data` transport parameter.
  pub initial_max_data: Option<f64>,
  /// The `initial_max_stream_data_bidi_local` transport parameter.
  pub initial_max_stream_data_bidi_local: Option<f64>,
  /// The `initial_max_stream_data_bidi_remote` transport parameter.
  pub initial_max_stream_data_bidi_remote: Option<f64>,
  /// The `initial_max_stream_data_uni` transport parameter.
  pub initial_max_stream_data_uni: Option<f64>,
  /// The `initial_max_streams_bidi` transport parameter.
  pub initial_max_streams_bidi: Option<f64>,
  /// The `initial_max_streams_uni` transport parameter.
  pub initial_max_streams_uni: Option<f64>,
  /// The `max_idle_timeout` transport parameter in milliseconds; 0 disables it.
  pub max_idle_timeout_ms: Option<f64>,
  /// The `disable_active_migration` transport parameter.
  pub disable_active_migration: Option<bool>,
  /// The `active_connection_id_limit` transport parameter (values below 2 are ignored by quiche).
  pub active_connection_id_limit: Option<f64>,
  /// The `max_udp_payload_size` transport parameter: the largest datagram we accept.
  pub max_recv_udp_payload_size: Option<u32>,
  /// The largest datagram we send before path MTU discovery raises it.
  pub max_send_udp_payload_size: Option<u32>,
  /// Congestion control: `reno`, `cubic`, `bbr2` or `bbr2_gcongestion`.
  pub cc_algorithm: Option<String>,
  /// The initial congestion window, in packets.
  pub initial_congestion_window_packets: Option<u32>,
  /// Enables the relaxed loss threshold.
  pub enable_relaxed_loss_threshold: Option<bool>,
  /// Enables path MTU discovery.
  pub discover_path_mtu: Option<bool>,
  /// Max probes per PMTU size.
  pub pmtud_max_probes: Option<u32>,
  /// Enables HyStart++.
  pub enable_hystart: Option<bool>,
  /// Enables pacing (the send-time hint in `send()` results).
  pub enable_pacing: Option<bool>,
  /// Max pacing rate in bytes per second.
  pub max_pacing_rate: Option<f64>,
  /// Max connection-level flow control window.
  pub max_connection_window: Option<f64>,
  /// Max stream-level flow control window.
  pub max_stream_window: Option<f64>,
  /// Sends STREAMS_BLOCKED frames when blocked by the peer's stream limit.
  pub enable_send_streams_blocked: Option<bool>,
  /// Sends GREASE values.
  pub grease: Option<bool>,
  /// The anti-amplification factor.
  pub max_amplification_factor: Option<u32>,
  /// The factor by which the send capacity exceeds the congestion window.
  pub send_capacity_factor: Option<f64>,
  /// The `ack_delay_exponent` transport parameter.
  pub ack_delay_exponent: Option<f64>,
  /// The `max_ack_delay` transport parameter in milliseconds.
  pub max_ack_delay: Option<f64>,
  /// Max queue length for received PATH_CHALLENGE frames.
  pub max_path_challenge_recv_queue_len: Option<u32>,
  /// The `stateless_reset_token` transport parameter (16 bytes, servers only).
  pub stateless_reset_token: Option<Vec<u8>>,
  /// Never reuse a destination connection ID on a new path.
  pub disable_dcid_reuse: Option<bool>,
  /// Keeps up to this many bytes of unknown transport parameters.
  pub track_unknown_transport_parameters: Option<u32>,
  /// The initial RTT estimate in milliseconds.
  pub initial_rtt_ms: Option<f64>,
  /// A session ticket key (48 bytes) for resumption across restarts.
  pub ticket_key: Option<Vec<u8>>,
  /// Logs TLS secrets; a connection then writes them to its keylog sink.
  pub log_keys: Option<bool>,
  /// Verifies the peer's certificate chain.
  pub verify_peer: Option<bool>,
  /// TLS 1.3 key-exchange groups, most preferred first, in BoringSSL's
  /// names (`X25519MLKEM768`, `X25519`, `P-256`, `P-384`, …); unset keeps
  /// BoringSSL's defaults.
  pub key_exchange_groups: Option<Vec<String>>,
  /// Our certificate chain as PEM (leaf first).
  pub cert_chain: Option<String>,
  /// Our private key as PEM.
  pub private_key: Option<String>,
  /// Path of a PEM file with our certificate chain.
  pub cert_chain_file: Option<String>,
  /// Path of a PEM file with our private key.
  pub private_key_file: Option<String>,
  /// Trusted CA certificates as PEM strings (e.g. `tls.rootCertificates`).
  pub ca: Option<Vec<String>>,
  /// Path of a PEM file of trusted CA certificates.
  pub ca_file: Option<String>,
}

/// A QUIC configuration, shared by every connection made from it.
#[napi(js_name = "Config")]
pub struct JsConfig {
  pub(crate) inner: quiche::Config,
  /// Whether quiche paces (its default; `enablePacing: false` turns it off):
  /// only then do its send times say anything about when to send.
  pub(crate) pacing: bool,
}

fn integer(name: &str, v: f64) -> Result<u64> {
  if v.is_finite() && v >= 0.0 && v.fract() == 0.0 && v <= 9_007_199_254_740_991.0 {
    Ok(v as u64)
  } else {
    Err(err("InvalidSetting", format!("{name} must be a non-negative integer, got {v}")))
  }
}

fn read_file(kind: &str, path: &str) -> Result<()> {
  std::fs::metadata(path)
    .map(|_| ())
    .map_err(|e| err("CertificateFile", format!("cannot read {kind} file {path:?}: {e}")))
}

fn pem_err(what: &str, e: boring::error::ErrorStack) -> crate::error::Error {
  err("InvalidPem", format!("invalid {what}: {e}"))
}

fn tls_builder(o: &ConfigOptions) -> Result<SslContextBuilder> {
  let mut b = SslContextBuilder::new(SslMethod::tls()).map_err(|e| pem_err("TLS context", e))?;

  if let Some(pem) = &o.cert_chain {
    let chain = X509::stack_from_pem(pem.as_bytes()).map_err(|e| pem_err("certificate chain", e))?;
    let mut certs = chain.into_iter();
    let leaf = certs
      .next()
      .ok_or_else(|| err("InvalidPem", "invalid certificate chain: no certificate in the PEM"))?;
    b.set_certificate(&leaf).map_err(|e| pem_err("certificate", e))?;
    for c in certs {
      b.add_extra_chain_cert(c).map_err(|e| pem_err("certificate chain", e))?;
    }
  }
  if let Some(path) = &o.cert_chain_file {
    read_file("certificate", path)?;
    b.set_certificate_chain_file(path).map_err(|e| pem_err("certificate file", e))?;
  }
  if let Some(pem) = &o.private_key {
    let key = PKey::private_key_from_pem(pem.as_bytes()).map_err(|e| pem_err("private key", e))?;
    b.set_private_key(&key).map_err(|e| pem_err("private key", e))?;
  }
  if let Some(path) = &o.private_key_file {
    read_file("private key", path)?;
    b.set_private_key_file(path, SslFiletype::PEM).map_err(|e| pem_err("private key file", e))?;
  }
  let has_cert = o.cert_chain.is_some() || o.cert_chain_file.is_some();
  let has_key = o.private_key.is_some() || o.private_key_file.is_some();
  if has_cert != has_key {
    return Err(invalid_arg("a certificate chain and a private key go together: give both or neither"));
  }
  if has_cert {
    b.check_private_key()
      .map_err(|e| err("InvalidPem", format!("the private key does not match the certificate: {e}")))?;
  }
  if let Some(cas) = &o.ca {
    for pem in cas {
      let certs = X509::stack_from_pem(pem.as_bytes()).map_err(|e| pem_err("CA certificate", e))?;
      // BoringSSL reads a string with no PEM block as an empty list: without
      // this check a garbled CA would silently trust nothing.
      if certs.is_empty() {
        return Err(err("InvalidPem", "invalid CA certificate: no certificate in the PEM"));
      }
      for cert in certs {
        // A duplicate root (Node's list has none, a user's may) is not an error.
        let _ = b.cert_store_mut().add_cert(cert);
      }
    }
  }
  if let Some(path) = &o.ca_file {
    read_file("CA", path)?;
    b.set_ca_file(path).map_err(|e| pem_err("CA file", e))?;
  }
  if let Some(groups) = &o.key_exchange_groups {
    if groups.is_empty() || groups.iter().any(|g| g.is_empty() || g.contains(':')) {
      return Err(err("InvalidSetting", "key_exchange_groups: give one or more group names, none empty or containing ':'"));
    }
    let list = groups.join(":");
    b.set_curves_list(&list)
      .map_err(|_| err("InvalidSetting", format!("key_exchange_groups: BoringSSL knows no group in {list:?}")))?;
  }
  Ok(b)
}

#[napi]
impl JsConfig {
  /// Builds a configuration.
  ///
  /// # Errors
  /// `InvalidSetting` for a value out of range or an unknown congestion
  /// control name, `InvalidPem` for unparsable PEM or a key that does not
  /// match its certificate, `CertificateFile` for a file that cannot be read,
  /// `UnknownVersion` for an unsupported QUIC version.
  #[napi(constructor, catch_unwind)]
  pub fn new(options: Option<ConfigOptions>) -> Result<Self> {
    Self::build(options.unwrap_or_default())
  }

  fn build(o: ConfigOptions) -> Result<Self> {
    let builder = tls_builder(&o)?;
    let version = o.version.unwrap_or(quiche::PROTOCOL_VERSION);
    let mut c = quiche::Config::with_boring_ssl_ctx_builder(version, builder).map_err(quiche_err)?;

    if let Some(alpn) = &o.alpn {
      let protos: Vec<&[u8]> = alpn.iter().map(|p| p.as_bytes()).collect();
      if protos.iter().any(|p| p.is_empty() || p.len() > 255) {
        return Err(err("InvalidSetting", "alpn: each protocol must be 1 to 255 bytes"));
      }
      c.set_application_protos(&protos).map_err(quiche_err)?;
    }
    if o.enable_dgram.unwrap_or(false) {
      c.enable_dgram(
        true,
        o.dgram_recv_max_queue_len.unwrap_or(65536) as usize,
        o.dgram_send_max_queue_len.unwrap_or(65536) as usize,
      );
    }
    if o.enable_early_data.unwrap_or(false) {
      c.enable_early_data();
    }
    macro_rules! int {
      ($field:ident, $setter:ident) => {
        if let Some(v) = o.$field {
          c.$setter(integer(stringify!($field), v)?);
        }
      };
    }
    int!(initial_max_data, set_initial_max_data);
    int!(initial_max_stream_data_bidi_local, set_initial_max_stream_data_bidi_local);
    int!(initial_max_stream_data_bidi_remote, set_initial_max_stream_data_bidi_remote);
    int!(initial_max_stream_data_uni, set_initial_max_stream_data_uni);
    int!(initial_max_streams_bidi, set_initial_max_streams_bidi);
    int!(initial_max_streams_uni, set_initial_max_streams_uni);
    int!(max_idle_timeout_ms, set_max_idle_timeout);
    int!(active_connection_id_limit, set_active_connection_id_limit);
    int!(max_connection_window, set_max_connection_window);
    int!(max_stream_window, set_max_stream_window);
    int!(max_pacing_rate, set_max_pacing_rate);
    if let Some(v) = o.ack_delay_exponent {
      let v = integer("ack_delay_exponent", v)?;
      if v > 20 {
        return Err(err("InvalidSetting", "ack_delay_exponent must be at most 20"));
      }
      c.set_ack_delay_exponent(v);
    }
    if let Some(v) = o.max_ack_delay {
      let v = integer("max_ack_delay", v)?;
      if v >= 1 << 14 {
        return Err(err("InvalidSetting", "max_ack_delay must be below 2^14 ms"));
      }
      c.set_max_ack_delay(v);
    }
    if let Some(v) = o.disable_active_migration {
      c.set_disable_active_migration(v);
    }
    if let Some(v) = o.max_recv_udp_payload_size {
      if v < 1200 {
        return Err(err("InvalidSetting", "max_recv_udp_payload_size must be at least 1200"));
      }
      c.set_max_recv_udp_payload_size(v as usize);
    }
    if let Some(v) = o.max_send_udp_payload_size {
      if v < 1200 {
        return Err(err("InvalidSetting", "max_send_udp_payload_size must be at least 1200"));
      }
      c.set_max_send_udp_payload_size(v as usize);
    }
    if let Some(name) = &o.cc_algorithm {
      c.set_cc_algorithm_name(name).map_err(|_| {
        err("InvalidSetting", format!("cc_algorithm: unknown congestion control {name:?}"))
      })?;
    }
    if let Some(v) = o.initial_congestion_window_packets {
      c.set_initial_congestion_window_packets(v as usize);
    }
    if let Some(v) = o.enable_relaxed_loss_threshold {
      c.set_enable_relaxed_loss_threshold(v);
    }
    if let Some(v) = o.discover_path_mtu {
      c.discover_pmtu(v);
    }
    if let Some(v) = o.pmtud_max_probes {
      c.set_pmtud_max_probes(u8::try_from(v).map_err(|_| err("InvalidSetting", "pmtud_max_probes must be at most 255"))?);
    }
    if let Some(v) = o.enable_hystart {
      c.enable_hystart(v);
    }
    if let Some(v) = o.enable_pacing {
      c.enable_pacing(v);
    }
    if let Some(v) = o.enable_send_streams_blocked {
      c.set_enable_send_streams_blocked(v);
    }
    if let Some(v) = o.grease {
      c.grease(v);
    }
    if let Some(v) = o.max_amplification_factor {
      c.set_max_amplification_factor(v as usize);
    }
    if let Some(v) = o.send_capacity_factor {
      if !(v.is_finite() && v > 0.0) {
        return Err(err("InvalidSetting", "send_capacity_factor must be a positive number"));
      }
      c.set_send_capacity_factor(v);
    }
    if let Some(v) = o.max_path_challenge_recv_queue_len {
      c.set_path_challenge_recv_max_queue_len(v as usize);
    }
    if let Some(t) = &o.stateless_reset_token {
      let bytes: [u8; 16] = t
        .as_slice()
        .try_into()
        .map_err(|_| err("InvalidSetting", "stateless_reset_token must be 16 bytes"))?;
      c.set_stateless_reset_token(Some(u128::from_be_bytes(bytes)));
    }
    if let Some(v) = o.disable_dcid_reuse {
      c.set_disable_dcid_reuse(v);
    }
    if let Some(v) = o.track_unknown_transport_parameters {
      c.enable_track_unknown_transport_parameters(v as usize);
    }
    if let Some(v) = o.initial_rtt_ms {
      if !(v.is_finite() && v > 0.0) {
        return Err(err("InvalidSetting", "initial_rtt_ms must be a positive number"));
      }
      c.set_initial_rtt(std::time::Duration::from_secs_f64(v / 1000.0));
    }
    if let Some(k) = &o.ticket_key {
      c.set_ticket_key(k).map_err(|_| err("InvalidSetting", "ticket_key must be 48 bytes"))?;
    }
    if o.log_keys.unwrap_or(false) {
      c.log_keys();
    }
    c.verify_peer(o.verify_peer.unwrap_or(false));
    Ok(JsConfig { inner: c, pacing: o.enable_pacing.unwrap_or(true) })
  }
}
