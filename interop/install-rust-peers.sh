#!/usr/bin/env bash
# Installs the quiche-based Rust peers into interop/.peers/bin/ (git-ignored), idempotently:
#   - tokio-quiche's example `async_http3_server` (HTTP/3 server with GET /stream-bytes/<n>),
#     used by bench/h3-bulk.ts as a "quiche on a real async I/O path" bulk server;
#   - quiche's examples `http3-server`, `http3-client` (h3) and `server`, `client` (hq-interop,
#     HTTP/0.9: what interop/run.ts uses for every case but `http3`). Teaching programs: fixed
#     127.0.0.1:4433, certs from ./examples/, always a Retry; protocol peers, not speed peers.
#
#   interop/install-rust-peers.sh               # both (tokio-quiche first)
#   interop/install-rust-peers.sh tokio-quiche  # only async_http3_server
#   interop/install-rust-peers.sh quiche        # only the quiche examples
#
# Versions: TOKIO_QUICHE_VERSIONS (tried newest first until one builds) and QUICHE_VERSION.
# BoringSSL is compiled from source by boring-sys (needs clang, cmake, libclang-dev): several
# minutes on 2 cores. One target dir (interop/.peers/target) is shared so a re-run is incremental.
#
# Every step prints the command it runs. If crates.io refuses (index or download), or a build
# fails, the script says which and exits 1; binaries that did build stay installed.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PEERS_DIR="$HERE/.peers"
BIN="$PEERS_DIR/bin"
TARGET_DIR="$PEERS_DIR/target"
# Newest first. 0.20.1 was the newest on crates.io when this was written (`cargo info tokio-quiche`).
TOKIO_QUICHE_VERSIONS="${TOKIO_QUICHE_VERSIONS:-0.20.1 0.19.1}"
# The same quiche as native/Cargo.toml pins, so the examples speak what our addon speaks.
QUICHE_VERSION="${QUICHE_VERSION:-0.30.0}"
QUICHE_EXAMPLES=(http3-server http3-client server client)
WHAT="${1:-all}"

say() { printf '[install-rust-peers] %s\n' "$*"; }
fail() { printf '[install-rust-peers] FAILED: %s\n' "$*" >&2; exit 1; }
run() { say "\$ $*"; "$@"; }

# shellcheck disable=SC1091
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"
command -v cargo >/dev/null || fail "cargo not found (install Rust with rustup; ~/.cargo/env is sourced if present)"
for tool in clang cmake; do
  command -v "$tool" >/dev/null || fail "$tool not found: boring-sys needs it to build BoringSSL (apt-get install -y clang cmake libclang-dev)"
done
mkdir -p "$BIN" "$TARGET_DIR"

# Separates "crates.io refused" from "it downloaded but did not compile" for the message.
registry_ok() {
  local crate="$1" version="$2"
  if ! cargo info "$crate@$version" >/dev/null 2>"$PEERS_DIR/cargo-info.err"; then
    cat "$PEERS_DIR/cargo-info.err" >&2
    return 1
  fi
}

install_tokio_quiche() {
  if [ -x "$BIN/async_http3_server" ]; then
    say "async_http3_server already in $BIN ($(cat "$PEERS_DIR/tokio-quiche.version" 2>/dev/null || echo 'version unknown')); delete it to rebuild"
    return 0
  fi
  local v
  for v in $TOKIO_QUICHE_VERSIONS; do
    say "tokio-quiche $v: asking crates.io"
    if ! registry_ok tokio-quiche "$v"; then
      say "crates.io refused or does not have tokio-quiche@$v (cargo info failed, output above)"
      continue
    fi
    if run cargo install "tokio-quiche@$v" --example async_http3_server \
         --root "$PEERS_DIR" --target-dir "$TARGET_DIR"; then
      echo "tokio-quiche $v" > "$PEERS_DIR/tokio-quiche.version"
      say "installed $BIN/async_http3_server (tokio-quiche $v)"
      return 0
    fi
    say "cargo install tokio-quiche@$v --example async_http3_server failed; trying the next version"
  done
  fail "no tokio-quiche version of [$TOKIO_QUICHE_VERSIONS] could be installed from crates.io (see above)"
}

quiche_examples_present() {
  local e
  for e in "${QUICHE_EXAMPLES[@]}"; do [ -x "$BIN/$e" ] || return 1; done
}

install_quiche_examples() {
  if quiche_examples_present; then
    say "quiche examples (${QUICHE_EXAMPLES[*]}) already in $BIN; delete them to rebuild"
    return 0
  fi
  say "quiche $QUICHE_VERSION: asking crates.io"
  registry_ok quiche "$QUICHE_VERSION" || fail "crates.io refused or does not have quiche@$QUICHE_VERSION (cargo info failed, output above)"
  local args=() e
  for e in "${QUICHE_EXAMPLES[@]}"; do args+=(--example "$e"); done
  if run cargo install "quiche@$QUICHE_VERSION" "${args[@]}" --root "$PEERS_DIR" --target-dir "$TARGET_DIR"; then
    quiche_examples_present && { say "installed ${QUICHE_EXAMPLES[*]} into $BIN (quiche $QUICHE_VERSION)"; return 0; }
    say "cargo install finished but not every example landed in $BIN"
  else
    say "cargo install --example did not work for quiche@$QUICHE_VERSION"
  fi

  # Fallback (PEERS.md A.1): let cargo download the crate through a scratch project, then build
  # the examples inside the unpacked source, where dev-dependencies are always resolved.
  local scratch="$PEERS_DIR/quiche-fetch" src="$PEERS_DIR/quiche-$QUICHE_VERSION-src"
  say "fallback: fetching quiche@$QUICHE_VERSION source into $scratch and building the examples there"
  rm -rf "$scratch"
  run cargo new --quiet --vcs none --name quiche_fetch "$scratch" || fail "cargo new $scratch"
  (cd "$scratch" && run cargo add --quiet "quiche@=$QUICHE_VERSION" && run cargo fetch) \
    || fail "crates.io refused the quiche@$QUICHE_VERSION download (cargo add/fetch above)"
  local found
  found="$(ls -d "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/"quiche-$QUICHE_VERSION" 2>/dev/null | head -n 1)"
  [ -n "$found" ] || fail "quiche-$QUICHE_VERSION source not found under ${CARGO_HOME:-$HOME/.cargo}/registry/src after cargo fetch"
  rm -rf "$src" && run cp -r "$found" "$src"
  (cd "$src" && run cargo build --release "${args[@]}" --target-dir "$TARGET_DIR") \
    || fail "cargo build --release --examples in $src"
  for e in "${QUICHE_EXAMPLES[@]}"; do
    run install -m 0755 "$TARGET_DIR/release/examples/$e" "$BIN/$e"
  done
  say "installed ${QUICHE_EXAMPLES[*]} into $BIN (quiche $QUICHE_VERSION, fallback build)"
}

case "$WHAT" in
  all) install_tokio_quiche; install_quiche_examples ;;
  tokio-quiche) install_tokio_quiche ;;
  quiche) install_quiche_examples ;;
  *) fail "unknown argument '$WHAT' (all | tokio-quiche | quiche)" ;;
esac
say "done: $(ls "$BIN" | tr '\n' ' ')"
