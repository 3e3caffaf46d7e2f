#!/usr/bin/env bash
# Installs the system packages eventscope needs, on Debian/Ubuntu. Idempotent; skips what
# is already there. Usage: scripts/setup.sh [run|test|package]
set -euo pipefail
cd "$(dirname "$0")/.."

want=("$@")
[ ${#want[@]} -eq 0 ] && want=(run)

packages=()
for what in "${want[@]}"; do
  case "$what" in
    run)
      # Runtime libraries the desktop app loads (X11/Wayland, Vulkan or GL; software
      # rendering through Mesa when there is no GPU).
      packages+=(libxkbcommon-x11-0 libxcursor1 libxrandr2 libxi6 libvulkan1 mesa-vulkan-drivers
                 libgl1-mesa-dri libegl1 libegl-mesa0)
      ;;
    test)
      # Python with the real `eventsourcing` library: the command-reducer tests replay the
      # fixtures with the library's own classes (assets/examples/eventsourcing_replay.py).
      packages+=(python3 python3-venv)
      # A real PostgreSQL server (initdb/pg_ctl/psql/pg_dump): the PostgreSQL source's tests
      # start private clusters from it (scripts/pg-test-server.sh does the same by hand) and
      # restore the dumps under tests/fixtures/postgres/.
      packages+=(postgresql)
      # The TLS-enabled test cluster's self-signed certificate (pg-test-server.sh --tls).
      packages+=(openssl)
      ;;
    package)
      # scripts/package.sh: dpkg-shlibdeps (cargo-deb's `$auto` dependencies) and strip.
      packages+=(dpkg-dev binutils)
      # scripts/package-check.sh: the checks a distribution runs, `man` to read the
      # installed page, and Xvfb, xdotool and ImageMagick (import, identify) to start the
      # installed app without a display and look at a screenshot.
      packages+=(desktop-file-utils appstream lintian man-db xvfb xauth xdotool imagemagick)
      ;;
    *) echo "setup.sh: unknown target $what (run|test|package)" >&2; exit 2 ;;
  esac
done

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done

if [ ${#missing[@]} -gt 0 ]; then
  if ! command -v apt-get >/dev/null; then
    echo "setup.sh: please install: ${missing[*]}" >&2
    exit 1
  fi
  sudo_cmd=()
  [ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
  echo "setup.sh: installing ${missing[*]}" >&2
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

for what in "${want[@]}"; do
  if [ "$what" = test ]; then
    venv="${EVENTSCOPE_PYVENV:-target/pyvenv}"
    if ! "$venv/bin/python" -c "import eventsourcing, confluent_kafka" 2>/dev/null; then
      echo "setup.sh: creating $venv with the eventsourcing and confluent-kafka libraries" >&2
      [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
      "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r scripts/test-requirements.txt
    fi
  fi
done
