#!/usr/bin/env bash
# Installs the cart from this checkout on Raspberry Pi OS Bookworm (64-bit) or Debian Bookworm:
#   sudo ./dev install                 install or update, enable and start cart.service
#   sudo ./dev install --uninstall     stop and remove the software, units and rules; keep the
#                                      basket journal, the keys and the configuration
#   sudo ./dev install --uninstall --purge   also remove /etc/cart, /var/lib/cart and the user
#   ./dev install --root DIR           install into the tree DIR (an image being built, a test):
#                                      files, user, rules and enabled units only; no packages,
#                                      no venv (add --venv to build it with this machine's
#                                      python3), nothing started
# What goes where (docs/DEPLOY.md): the software in /opt/cart (src/: the checkout's files,
# venv/: a virtual environment built from them with pip at install time, bin/: the kiosk),
# configuration in /etc/cart (profile.toml, store/; secrets owner-only), state in /var/lib/cart
# (systemd StateDirectory: journal, keys), the user from /usr/lib/sysusers.d/cart.conf, udev
# rules in /etc/udev/rules.d/99-cart.rules, the unit /etc/systemd/system/cart.service.
# Running it twice changes nothing: files are written only when their content, mode or owner
# differ, and the venv is rebuilt only when the source changed.
set -euo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
ROOT=/
UNINSTALL=0
PURGE=0
VENV=auto
# The kiosk (cage, the VTE terminal, a font), the venv, and a C compiler for the one dependency
# that PyPI has no aarch64 wheel of (evdev, built at install time against the kernel headers).
PACKAGES=(cage xwayland python3-gi gir1.2-gtk-3.0 gir1.2-vte-2.91 fonts-dejavu-core
  python3-venv python3-pip python3-dev gcc libc6-dev linux-libc-dev)

usage() { sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-2}"; }
say() { echo "install: $*"; }
die() { echo "install: error: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
  case "$1" in
    --root) [ $# -ge 2 ] || usage; ROOT=$2; shift 2 ;;
    --root=*) ROOT=${1#--root=}; shift ;;
    --uninstall) UNINSTALL=1; shift ;;
    --purge) PURGE=1; shift ;;
    --venv) VENV=yes; shift ;;
    --no-venv) VENV=no; shift ;;
    -h|--help) usage 0 ;;
    *) echo "install: unknown option $1" >&2; usage ;;
  esac
done
ROOT=$(realpath -m "$ROOT")
LIVE=0
[ "$ROOT" = / ] && LIVE=1
R=${ROOT%/}  # prefix for every target path ("" for /)
[ "$VENV" = auto ] && { [ $LIVE = 1 ] && VENV=yes || VENV=no; }

# ---- refusals --------------------------------------------------------------------------------
command -v systemctl >/dev/null || die "systemd is not installed (no systemctl): the cart runs as a systemd service"
if [ $LIVE = 1 ]; then
  [ "$(id -u)" = 0 ] || die "run as root: sudo ./dev install"
  [ -d /run/systemd/system ] || die "systemd is not running here (no /run/systemd/system): the cart needs systemd as init. To build an image or a container tree, use --root DIR"
else
  [ -d "$ROOT" ] || die "$ROOT: no such folder"
fi

# ---- helpers -----------------------------------------------------------------------------------
AS_ROOT=0
[ "$(id -u)" = 0 ] && AS_ROOT=1

uid_of() { awk -F: -v n="$1" '$1 == n { print $3 }' "$R/etc/passwd" 2>/dev/null; }
gid_of() { awk -F: -v n="$1" '$1 == n { print $3 }' "$R/etc/group" 2>/dev/null; }

# owner OWNER:GROUP -> numeric uid:gid inside the target tree ("" when not root: no chown)
owner() {
  [ $AS_ROOT = 1 ] || return 0
  local u=${1%%:*} g=${1##*:} nu ng
  nu=$([ "$u" = root ] && echo 0 || uid_of "$u")
  ng=$([ "$g" = root ] && echo 0 || gid_of "$g")
  [ -n "$nu" ] && [ -n "$ng" ] || die "no user $u or group $g in $R/etc"
  echo "$nu:$ng"
}

# dir MODE OWNER:GROUP PATH
dir() {
  local o; o=$(owner "$2")
  mkdir -p "$R$3"
  chmod "$1" "$R$3"
  [ -z "$o" ] || chown "$o" "$R$3"
}

# file MODE OWNER:GROUP SOURCE TARGET: copied only when content differs (mtime kept otherwise)
file() {
  local o; o=$(owner "$2")
  mkdir -p "$(dirname "$R$4")"
  if ! cmp -s "$3" "$R$4"; then
    cp "$3" "$R$4.new" && mv -f "$R$4.new" "$R$4"
    CHANGED=$((CHANGED + 1))
  fi
  chmod "$1" "$R$4"
  [ -z "$o" ] || chown "$o" "$R$4"
}

# config MODE OWNER:GROUP SOURCE TARGET: a configuration file is written once, never over edits
config() {
  if [ -e "$R$4" ]; then
    cmp -s "$3" "$R$4" || say "kept $4 (edited here; the shipped one is $3)"
    local o; o=$(owner "$2"); chmod "$1" "$R$4"; [ -z "$o" ] || chown "$o" "$R$4"
  else
    file "$@"
  fi
}

source_files() {  # the checkout's files that the cart needs, one path a line, sorted
  if git -C "$SRC" rev-parse --git-dir >/dev/null 2>&1; then
    git -C "$SRC" ls-files -- cart drivers models hardware docs pyproject.toml README.md
  else
    (cd "$SRC" && find cart drivers models hardware docs pyproject.toml README.md -type f \
      -not -path '*/__pycache__/*' -not -name '*.pyc')
  fi | LC_ALL=C sort  # models/training too: `cart classify` registers its arguments from it
}

systemctl_root() { if [ $LIVE = 1 ]; then systemctl "$@"; else systemctl --root="$ROOT" "$@"; fi; }

# ---- uninstall -------------------------------------------------------------------------------
if [ $UNINSTALL = 1 ]; then
  if [ $LIVE = 1 ]; then
    systemctl disable --now cart.service 2>/dev/null || true
  else
    systemctl --root="$ROOT" disable cart.service 2>/dev/null || true
  fi
  rm -f "$R/etc/systemd/system/cart.service" "$R/etc/udev/rules.d/99-cart.rules" \
    "$R/etc/pam.d/cart-kiosk" "$R/usr/lib/sysusers.d/cart.conf"
  rm -rf "$R/opt/cart"
  if [ $LIVE = 1 ]; then
    systemctl daemon-reload
    udevadm control --reload 2>/dev/null || true
  fi
  if [ $PURGE = 1 ]; then
    rm -rf "$R/etc/cart" "$R/var/lib/cart"
    if [ -n "$(uid_of cart)" ]; then
      if [ $LIVE = 1 ]; then userdel cart; else userdel --prefix "$ROOT" cart; fi
    fi
    say "removed the cart, its configuration, its state (journal, keys) and the user cart"
  else
    say "removed the cart; kept /etc/cart, /var/lib/cart (journal, keys) and the user cart (--purge removes them)"
  fi
  exit 0
fi

CHANGED=0

# ---- packages (Debian's; nothing is downloaded at run time) -----------------------------------
if [ $LIVE = 1 ]; then
  missing=()
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    say "apt-get install ${missing[*]}"
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
  fi
else
  say "--root: packages not installed; the image needs: ${PACKAGES[*]}"
fi

# ---- the user --------------------------------------------------------------------------------
mkdir -p "$R/etc"
file 0644 root:root "$SRC/hardware/systemd/cart.sysusers" /usr/lib/sysusers.d/cart.conf
for g in dialout video input render; do  # groups that Debian's base system has (sysusers makes
  [ -n "$(gid_of "$g")" ] || systemd-sysusers --root="$ROOT" --inline "g $g -" >/dev/null
done  # the missing ones in a bare tree, as udev's own sysusers file would)
if [ $LIVE = 1 ]; then
  systemd-sysusers cart.conf
else
  systemd-sysusers --root="$ROOT" "$R/usr/lib/sysusers.d/cart.conf"
fi
[ -n "$(uid_of cart)" ] || die "systemd-sysusers made no user cart in $R/etc/passwd"

# ---- the software: /opt/cart -------------------------------------------------------------------
dir 0755 root:root /opt/cart
dir 0755 root:root /opt/cart/src
dir 0755 root:root /opt/cart/bin
mapfile -t files < <(source_files)
for f in "${files[@]}"; do
  mode=0644
  [ -x "$SRC/$f" ] && mode=0755
  file "$mode" root:root "$SRC/$f" "/opt/cart/src/$f"
done
# Files that the new version no longer has go, and so do folders left empty.
(cd "$R/opt/cart/src" && find . -type f | sed 's|^\./||' | LC_ALL=C sort) \
  | LC_ALL=C comm -23 - <(printf '%s\n' "${files[@]}") \
  | while read -r gone; do rm -f "$R/opt/cart/src/$gone"; done
find "$R/opt/cart/src" -mindepth 1 -type d -empty -delete
file 0755 root:root "$SRC/hardware/kiosk/cart-kiosk" /opt/cart/bin/cart-kiosk
file 0755 root:root "$SRC/hardware/kiosk/cart-terminal" /opt/cart/bin/cart-terminal

stamp=$( (cd "$R/opt/cart/src" && printf '%s\n' "${files[@]}" | xargs sha256sum) | sha256sum | cut -c1-64)
if [ "$VENV" = yes ]; then
  if [ "$(cat "$R/opt/cart/venv/.source-sha256" 2>/dev/null)" != "$stamp" ]; then
    [ $LIVE = 1 ] || say "--venv: building the venv with $(command -v python3) for a tree at $ROOT"
    say "building /opt/cart/venv (pip installs the dependencies' wheels now, never at run time)"
    rm -rf "$R/opt/cart/venv"
    python3 -m venv "$R/opt/cart/venv"
    "$R/opt/cart/venv/bin/pip" install --quiet --no-cache-dir --disable-pip-version-check \
      "$R/opt/cart/src"
    rm -rf "$R/opt/cart/src/build" "$R/opt/cart/src/"*.egg-info  # setuptools' leftovers
    echo "$stamp" > "$R/opt/cart/venv/.source-sha256"
    CHANGED=$((CHANGED + 1))
  fi
else
  say "--root: /opt/cart/venv not built (build it in the image: --venv, or run this again there)"
fi

# ---- configuration: /etc/cart ------------------------------------------------------------------
# The shipped profile with the installed paths: the store in /etc/cart/store, the journal and
# the keys in /var/lib/cart (persistent storage: docs/DEPLOY.md).
profile=$(mktemp)
trap 'rm -f "$profile"' EXIT
sed -e 's|^path = "cart/store/demo".*|path = "/etc/cart/store"                   # store folder (store.toml + catalog.toml)|' \
  "$SRC/hardware/profiles/cart-v1.toml" > "$profile"
grep -q '^path = "/etc/cart/store"' "$profile" || die "cart-v1.toml: no [store] path line to set"
dir 0750 root:cart /etc/cart
dir 0750 root:cart /etc/cart/store
config 0640 root:cart "$profile" /etc/cart/profile.toml
config 0640 root:cart "$SRC/cart/store/demo/catalog.toml" /etc/cart/store/catalog.toml
config 0640 root:cart "$SRC/cart/store/demo/carts.toml" /etc/cart/store/carts.toml
# store.toml holds the staff PIN hash: the cart's user alone reads it.
config 0600 cart:cart "$SRC/cart/store/demo/store.toml" /etc/cart/store/store.toml

# ---- state: /var/lib/cart (systemd's StateDirectory=cart makes it too; here for --root) --------
dir 0750 cart:cart /var/lib/cart
dir 0700 cart:cart /var/lib/cart/keys

# ---- udev rules, PAM, the unit -----------------------------------------------------------------
file 0644 root:root "$SRC/hardware/udev/99-cart.rules" /etc/udev/rules.d/99-cart.rules
file 0644 root:root "$SRC/hardware/systemd/cart-kiosk.pam" /etc/pam.d/cart-kiosk
file 0644 root:root "$SRC/hardware/systemd/cart.service" /etc/systemd/system/cart.service

if [ $LIVE = 1 ]; then
  udevadm control --reload && udevadm trigger --subsystem-match=tty --subsystem-match=input \
    --subsystem-match=video4linux || say "udev not reloaded (no udev here?)"
  systemctl daemon-reload
fi
systemctl_root enable cart.service >/dev/null 2>&1 || systemctl_root enable cart.service
if [ $LIVE = 1 ]; then
  if [ $CHANGED -gt 0 ] || ! systemctl is-active --quiet cart.service; then
    systemctl restart cart.service || say "cart.service did not start: journalctl -u cart -e"
  fi
  say "installed; $(systemctl is-active cart.service || true): systemctl status cart"
else
  say "installed into $ROOT ($CHANGED file(s) changed); cart.service enabled there"
fi
