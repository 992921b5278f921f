//! Certificates for tests, examples and development servers: an ECDSA P-256
//! key and an X.509 certificate, self-signed or signed by a CA we made.

use boring::asn1::Asn1Time;
use boring::bn::BigNum;
use boring::bn::MsbOption;
use boring::ec::EcGroup;
use boring::ec::EcKey;
use boring::hash::MessageDigest;
use boring::nid::Nid;
use boring::pkey::PKey;
use boring::pkey::Private;
use boring::x509::extension::BasicConstraints;
use boring::x509::extension::ExtendedKeyUsage;
use boring::x509::extension::KeyUsage;
use boring::x509::extension::SubjectAlternativeName;
use boring::x509::X509NameBuilder;
use boring::x509::X509;

use crate::error::err;
use crate::error::Result;

/// What to put in a generated certificate.
#[napi(object)]
#[derive(Default)]
pub struct CertificateOptions {
  /// DNS names and IP addresses the certificate is valid for.
  /// Defaults to `["localhost", "127.0.0.1", "::1"]`.
  pub subject_alt_names: Option<Vec<String>>,
  /// The subject common name. Defaults to the first subject alt name.
  pub common_name: Option<String>,
  /// Makes a CA certificate that can sign others. Defaults to `false`.
  pub is_ca: Option<bool>,
  /// Days of validity from now; negative makes an expired certificate.
  /// Defaults to `30`.
  pub days: Option<i32>,
  /// The issuing CA's certificate (PEM); self-signed when absent.
  pub issuer_cert: Option<String>,
  /// The issuing CA's private key (PEM).
  pub issuer_key: Option<String>,
}

/// A certificate and its private key, both PEM.
#[napi(object)]
pub struct GeneratedCertificate {
  pub cert: String,
  pub key: String,
}

fn tls_err(e: boring::error::ErrorStack) -> crate::error::Error {
  err("TlsFail", format!("certificate generation failed: {e}"))
}

/// Generates a certificate and key (ECDSA P-256, SHA-256).
///
/// # Errors
/// `InvalidPem` for an unreadable issuer certificate or key, `TlsFail` when
/// BoringSSL refuses a value (e.g. a malformed name).
#[napi(catch_unwind)]
pub fn generate_certificate(options: Option<CertificateOptions>) -> Result<GeneratedCertificate> {
  let o = options.unwrap_or_default();
  let sans = o
    .subject_alt_names
    .unwrap_or_else(|| vec!["localhost".into(), "127.0.0.1".into(), "::1".into()]);
  let cn = o.common_name.or_else(|| sans.first().cloned()).unwrap_or_else(|| "rxjs-quiche".into());
  let is_ca = o.is_ca.unwrap_or(false);
  let days = o.days.unwrap_or(30);

  let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).map_err(tls_err)?;
  let key: PKey<Private> =
    PKey::from_ec_key(EcKey::generate(&group).map_err(tls_err)?).map_err(tls_err)?;

  let issuer = match (&o.issuer_cert, &o.issuer_key) {
    (Some(c), Some(k)) => Some((
      X509::from_pem(c.as_bytes()).map_err(|e| err("InvalidPem", format!("invalid issuer certificate: {e}")))?,
      PKey::private_key_from_pem(k.as_bytes())
        .map_err(|e| err("InvalidPem", format!("invalid issuer key: {e}")))?,
    )),
    (None, None) => None,
    _ => return Err(err("InvalidArgument", "issuerCert and issuerKey go together")),
  };

  let mut name = X509NameBuilder::new().map_err(tls_err)?;
  name.append_entry_by_nid(Nid::COMMONNAME, &cn).map_err(tls_err)?;
  let name = name.build();

  let mut b = X509::builder().map_err(tls_err)?;
  b.set_version(2).map_err(tls_err)?;
  let mut serial = BigNum::new().map_err(tls_err)?;
  serial.rand(127, MsbOption::MAYBE_ZERO, false).map_err(tls_err)?;
  let serial = serial.to_asn1_integer().map_err(tls_err)?;
  b.set_serial_number(&serial).map_err(tls_err)?;
  b.set_subject_name(&name).map_err(tls_err)?;
  match &issuer {
    Some((c, _)) => b.set_issuer_name(c.subject_name()).map_err(tls_err)?,
    None => b.set_issuer_name(&name).map_err(tls_err)?,
  }
  b.set_pubkey(&key).map_err(tls_err)?;
  let now = std::time::SystemTime::now()
    .duration_since(std::time::UNIX_EPOCH)
    .map(|d| d.as_secs() as i64)
    .unwrap_or(0);
  let (start, end) = if days >= 0 {
    (now - 3600, now + days as i64 * 86_400)
  } else {
    (now + days as i64 * 86_400 - 86_400, now + days as i64 * 86_400)
  };
  let not_before = Asn1Time::from_unix(start as _).map_err(tls_err)?;
  let not_after = Asn1Time::from_unix(end as _).map_err(tls_err)?;
  b.set_not_before(&not_before).map_err(tls_err)?;
  b.set_not_after(&not_after).map_err(tls_err)?;

  // A self-signed certificate is its own trust anchor, so like `openssl req
  // -x509` it is marked as a CA that may sign (itself); a leaf signed by our
  // CA is an ordinary end-entity certificate.
  let self_signed = issuer.is_none();
  if is_ca || self_signed {
    let ext = BasicConstraints::new().critical().ca().build().map_err(tls_err)?;
    b.append_extension(&ext).map_err(tls_err)?;
    let ext = KeyUsage::new().critical().key_cert_sign().crl_sign().digital_signature().build().map_err(tls_err)?;
    b.append_extension(&ext).map_err(tls_err)?;
  } else {
    let ext = BasicConstraints::new().build().map_err(tls_err)?;
    b.append_extension(&ext).map_err(tls_err)?;
    let ext = KeyUsage::new().critical().digital_signature().build().map_err(tls_err)?;
    b.append_extension(&ext).map_err(tls_err)?;
  }
  if !is_ca {
    let ext = ExtendedKeyUsage::new().server_auth().client_auth().build().map_err(tls_err)?;
    b.append_extension(&ext).map_err(tls_err)?;
  }
  if !sans.is_empty() {
    let mut san = SubjectAlternativeName::new();
    for n in &sans {
      if n.parse::<std::net::IpAddr>().is_ok() {
        san.ip(n);
      } else {
        san.dns(n);
      }
    }
    let ext = san.build(&b.x509v3_context(issuer.as_ref().map(|(c, _)| c.as_ref()), None)).map_err(tls_err)?;
    b.append_extension(&ext).map_err(tls_err)?;
  }
  let signer = issuer.as_ref().map(|(_, k)| k).unwrap_or(&key);
  b.sign(signer, MessageDigest::sha256()).map_err(tls_err)?;
  let cert = b.build();

  Ok(GeneratedCertificate {
    cert: String::from_utf8_lossy(&cert.to_pem().map_err(tls_err)?).into_owned(),
    key: String::from_utf8_lossy(&key.private_key_to_pem_pkcs8().map_err(tls_err)?).into_owned(),
  })
}
