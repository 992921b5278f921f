//! Socket addresses as they cross the boundary: `{ address, port }`, the
//! shape of `node:dgram`'s `rinfo` and `socket.address()`.

use std::net::IpAddr;
use std::net::SocketAddr;

use crate::error::invalid_arg;
use crate::error::Result;

/// An IP address and a UDP port.
#[napi(object)]
#[derive(Clone)]
pub struct SocketAddress {
  /// The IP address, e.g. `127.0.0.1` or `::1`.
  pub address: String,
  /// The UDP port.
  pub port: u32,
  /// `IPv4` or `IPv6`; filled in on output, ignored on input.
  pub family: Option<String>,
}

impl SocketAddress {
  pub fn parse(&self) -> Result<SocketAddr> {
    let ip: IpAddr = self
      .address
      .trim_start_matches('[')
      .trim_end_matches(']')
      .parse()
      .map_err(|_| invalid_arg(format!("not an IP address: {:?}", self.address)))?;
    let port = u16::try_from(self.port)
      .map_err(|_| invalid_arg(format!("not a UDP port: {}", self.port)))?;
    Ok(SocketAddr::new(ip, port))
  }
}

impl From<SocketAddr> for SocketAddress {
  fn from(a: SocketAddr) -> Self {
    SocketAddress {
      address: a.ip().to_string(),
      port: a.port() as u32,
      family: Some(if a.is_ipv4() { "IPv4" } else { "IPv6" }.to_string()),
    }
  }
}

/// A parse cache: the same peer address arrives with nearly every packet, so
/// remembering the last string spares a parse per datagram.
#[derive(Default)]
pub struct AddrCache {
  last: Option<(String, u32, SocketAddr)>,
}

impl AddrCache {
  /// `a` parsed, or with `None` the address of the previous call (a caller
  /// that sees the same address again skips converting it).
  pub fn get_or_last(&mut self, a: Option<&SocketAddress>) -> Result<SocketAddr> {
    match (a, &self.last) {
      (Some(a), _) => self.get(a),
      (None, Some((_, _, parsed))) => Ok(*parsed),
      (None, None) => Err(crate::error::invalid_arg("no address given, and none before")),
    }
  }

  pub fn get(&mut self, a: &SocketAddress) -> Result<SocketAddr> {
    if let Some((s, p, parsed)) = &self.last {
      if *p == a.port && *s == a.address {
        return Ok(*parsed);
      }
    }
    let parsed = a.parse()?;
    self.last = Some((a.address.clone(), a.port, parsed));
    Ok(parsed)
  }
}
