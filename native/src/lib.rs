//! The native half of rxjs-quiche: quiche bound to Node.js with napi-rs.
//!
//! One file per quiche area, as the TypeScript side mirrors it:
//! `config` (Config), `connection` (Connection), `h3` (H3Config,
//! H3Connection), `packet` (header parsing, version negotiation, Retry),
//! `socket` (capability detection), `tls` (certificate generation), `addr` (socket addresses), `error`
//! (the mapping of every error to a stable `code`).
//!
//! Rules: no panic crosses into Node (every entry point returns `Result`, and
//! the release profile keeps unwinding so napi-rs can catch one); quiche's
//! `Done` is `null`; JavaScript owns the hot buffers.
#![deny(clippy::all)]

#[macro_use]
extern crate napi_derive;

mod addr;
mod config;
mod connection;
mod error;
mod h3;
mod packet;
mod socket;
mod tls;
mod udp;

/// The version of the quiche crate this addon was built with.
#[napi]
pub const QUICHE_VERSION: &str = "0.30.0";
