#!/usr/bin/env bash
# Installs the interop peers, idempotently:
#   - ngtcp2 1.11 `gtlsclient` / `gtlsserver` from Debian bookworm-backports (needs root for apt);
#   - aioquic's examples/http3_{client,server}.py from the aioquic sdist on PyPI, with aioquic and
#     the demo app's dependencies in a venv, all under interop/.peers/ (git-ignored).
#
#   sudo interop/install.sh            # both
#   interop/install.sh aioquic         # only aioquic (no root needed)
#   sudo interop/install.sh ngtcp2     # only ngtcp2
#   interop/install.sh rust            # tokio-quiche's and quiche's example programs (install-rust-peers.sh)
#   sudo interop/install.sh tshark     # tshark, for the pcap cross-check (run.ts --pcap DIR); also part of `all`
#
# Every step says what it runs; a registry that refuses is reported as such and the script exits 1.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PEERS_DIR="$HERE/.peers"
AIOQUIC_VERSION=1.7.2   # keep in sync with AIOQUIC_VERSION in interop/run.ts
WHAT="${1:-all}"

say() { printf '[interop/install] %s\n' "$*"; }
fail() { printf '[interop/install] FAILED: %s\n' "$*" >&2; exit 1; }

install_ngtcp2() {
  if [ -x /usr/bin/gtlsclient ] && [ -x /usr/sbin/gtlsserver ] \
     && dpkg-query -W -f='${Version}' ngtcp2-client 2>/dev/null | grep -q '^1\.'; then
    say "ngtcp2 already installed: ngtcp2-client $(dpkg-query -W -f='${Version}' ngtcp2-client)"
    return
  fi
  [ "$(id -u)" = 0 ] || fail "ngtcp2 needs apt as root: run 'sudo $0 ngtcp2'"
  local src=/etc/apt/sources.list.d/bookworm-backports.sources
  if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
    say "adding $src"
    cat > "$src" <<'EOF'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  fi
  say "apt-get update"
  apt-get update || fail "apt-get update: the Debian mirror refused or is unreachable"
  say "apt-get install -y -t bookworm-backports ngtcp2-client ngtcp2-server"
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -t bookworm-backports ngtcp2-client ngtcp2-server \
    || fail "apt-get install ngtcp2-client ngtcp2-server from bookworm-backports"
  # The package enables an ngtcp2d systemd unit; nothing starts it in a container, and the
  # harness picks its own ports anyway.
  say "installed ngtcp2-client $(dpkg-query -W -f='${Version}' ngtcp2-client)"
}

install_aioquic() {
  local venv="$PEERS_DIR/venv" ex="$PEERS_DIR/aioquic-$AIOQUIC_VERSION/examples"
  mkdir -p "$PEERS_DIR/sdist"
  if [ ! -x "$venv/bin/python" ]; then
    say "python3 -m venv $venv"
    python3 -m venv "$venv" || fail "python3 -m venv (apt-get install python3-venv?)"
  fi
  if ! "$venv/bin/python" -c "import aioquic, starlette, jinja2, wsproto, sys; sys.exit(aioquic.__version__ != '$AIOQUIC_VERSION')" 2>/dev/null; then
    say "pip install aioquic==$AIOQUIC_VERSION starlette jinja2 wsproto"
    "$venv/bin/pip" install --quiet "aioquic==$AIOQUIC_VERSION" starlette jinja2 wsproto \
      || fail "pip install from PyPI refused or unreachable"
  fi
  if [ ! -f "$ex/http3_server.py" ] || [ ! -f "$ex/http3_client.py" ]; then
    # The wheel has no examples; the sdist ships examples/ (checked for 1.7.2: demo.py,
    # http3_client.py, http3_server.py, templates/, htdocs/).
    say "pip download --no-deps --no-binary :all: aioquic==$AIOQUIC_VERSION (the sdist, for examples/)"
    "$venv/bin/pip" download --quiet --no-deps --no-binary :all: "aioquic==$AIOQUIC_VERSION" -d "$PEERS_DIR/sdist" \
      || fail "pip download of the aioquic sdist refused or unreachable"
    tar xzf "$PEERS_DIR/sdist/aioquic-$AIOQUIC_VERSION.tar.gz" -C "$PEERS_DIR" \
      || fail "unpacking aioquic-$AIOQUIC_VERSION.tar.gz"
    [ -f "$ex/http3_server.py" ] || fail "aioquic-$AIOQUIC_VERSION sdist has no examples/http3_server.py"
  fi
  say "aioquic $AIOQUIC_VERSION examples ready in $ex"
}

install_tshark() {
  if command -v tshark >/dev/null 2>&1; then
    say "tshark already installed: $(tshark --version 2>/dev/null | head -n 1)"
    return
  fi
  [ "$(id -u)" = 0 ] || fail "tshark needs apt as root: run 'sudo $0 tshark'"
  # wireshark-common asks whether non-root users may capture (dumpcap setuid); the relay writes
  # the pcaps itself, so answer no and never show the question.
  say "debconf: wireshark-common/install-setuid false"
  echo 'wireshark-common wireshark-common/install-setuid boolean false' | debconf-set-selections \
    || fail "debconf-set-selections (package debconf)"
  say "apt-get install -y --no-install-recommends tshark"
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends tshark \
    || { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends tshark; } \
    || fail "apt-get install tshark: the Debian mirror refused or is unreachable"
  say "installed $(tshark --version 2>/dev/null | head -n 1)"
}

case "$WHAT" in
  all) install_ngtcp2; install_aioquic; install_tshark ;;
  tshark) install_tshark ;;
  ngtcp2) install_ngtcp2 ;;
  aioquic) install_aioquic ;;
  # The quiche-based peers build BoringSSL twice from source (tens of minutes on 2 cores), so they
  # are asked for by name and not part of `all`.
  rust) "$HERE/install-rust-peers.sh" ;;
  *) fail "usage: $0 [all|ngtcp2|aioquic|tshark|rust]" ;;
esac
