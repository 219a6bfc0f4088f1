# Shared by scripts/demo and scripts/test. Installs only what is missing.

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

apt_install() {
  # apt_install PACKAGE... : install Debian packages that are not installed yet.
  local missing=()
  for pkg in "$@"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "Installing Debian packages: ${missing[*]}"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

ensure_uv() {
  # uv installs the locked Python dependencies (uv.lock) into .venv.
  if ! command -v uv >/dev/null 2>&1; then
    apt_install python3-pip python3-venv
    python3 -m pip install --quiet --user uv 2>/dev/null \
      || python3 -m pip install --quiet --break-system-packages --user uv
    export PATH="$HOME/.local/bin:$PATH"
  fi
}

dovecot_binary() {
  # The IMAP tests start a throw-away Dovecot of their own (see mail/tests/imap_server.py);
  # only the binaries are needed, not the system service.
  apt_install dovecot-imapd
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet dovecot 2>/dev/null; then
    as_root systemctl disable --now dovecot >/dev/null 2>&1 || true
  fi
}
