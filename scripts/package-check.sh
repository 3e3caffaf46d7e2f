#!/usr/bin/env bash
# Checks the Debian package the way a distribution would, then installs, starts and removes
# it on this machine:
#
#   scripts/package-check.sh [DEB]     (default: the newest <target dir>/debian/eventscope_*.deb)
#
# desktop-file-validate, appstreamcli validate, lintian (any error or warning not explained
# in packaging/lintian-overrides fails), `apt-get install ./DEB`, `eventscope --version`
# naming this checkout's git revision, `man eventscope` from the installed package, the
# installed /usr/bin/eventscope started under Xvfb on a demo store with a screenshot that
# must not be blank, `apt-get remove --purge` and no file of the package left behind.
# It installs and removes a system package: run it on a CI machine or a disposable one.
# `scripts/setup.sh package` installs the tools. The screenshot and the app's log are kept
# in <target dir>/package-check/.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh package
target_dir=${CARGO_TARGET_DIR:-target}
deb=${1:-$(ls -t "$target_dir"/debian/eventscope_*.deb | head -n 1)}
deb=$(realpath "$deb")
out="$target_dir/package-check"
rm -rf "$out"
mkdir -p "$out"

sudo_cmd=()
[ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)

start=$SECONDS
times=()
step() {
  local name=$1 step_start=$SECONDS
  shift
  echo "package-check: $name" >&2
  "$@"
  times+=("$(printf '%5ds  %s' $((SECONDS - step_start)) "$name")")
}
fail() {
  echo "package-check: FAILED: $*" >&2
  exit 1
}

check_desktop_entry() {
  desktop-file-validate packaging/eventscope.desktop
}

check_metainfo() {
  appstreamcli validate --no-net --pedantic --explain packaging/io.github.eventscope.eventscope.metainfo.xml
}

check_lintian() {
  # The overrides ship in the package (usr/share/lintian/overrides/eventscope), each with
  # its reason; --fail-on warning makes every other warning an error.
  lintian --fail-on error,warning --display-info --info --no-tag-display-limit "$deb" | tee "$out/lintian.txt"
}

check_contents() {
  # The files the package must carry, as dpkg sees them.
  dpkg-deb --contents "$deb" | awk '{print $NF}' | sed 's|^\./|/|' >"$out/contents.txt"
  local expected=(
    /usr/bin/eventscope
    /usr/share/applications/eventscope.desktop
    /usr/share/metainfo/io.github.eventscope.eventscope.metainfo.xml
    /usr/share/man/man1/eventscope.1.gz
    /usr/share/man/man1/eventscope-audit.1.gz
    /usr/share/bash-completion/completions/eventscope
    /usr/share/zsh/vendor-completions/_eventscope
    /usr/share/fish/vendor_completions.d/eventscope.fish
    /usr/share/doc/eventscope/copyright
    /usr/share/doc/eventscope/changelog.Debian.gz
  )
  for size in 16 22 24 32 48 64 128 256 512; do
    expected+=("/usr/share/icons/hicolor/${size}x${size}/apps/eventscope.png")
  done
  for path in "${expected[@]}"; do
    grep -qxF "$path" "$out/contents.txt" || fail "the package has no $path"
  done
  dpkg-deb --field "$deb" Depends | tee "$out/depends.txt"
  grep -q 'libc6' "$out/depends.txt" || fail "Depends has no \$auto libraries (libc6)"
  grep -q 'libxkbcommon-x11-0' "$out/depends.txt" || fail "Depends lacks the window libraries"
}

install_package() {
  # Docker-style images exclude /usr/share/man from dpkg; this package's man pages are
  # what the check reads, so they are let through.
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends \
    -o DPkg::Options::=--path-include=/usr/share/man/man1/eventscope* "$deb" >"$out/apt-install.log"
  dpkg-query -L eventscope | sort >"$out/installed-files.txt"
  [ -x /usr/bin/eventscope ] || fail "/usr/bin/eventscope is not installed"
}

check_version() {
  local version expected_rev
  version=$(/usr/bin/eventscope --version)
  echo "$version"
  [[ "$version" =~ ^eventscope\ [0-9]+\.[0-9]+\.[0-9]+\ \(([0-9a-f]{7,})\)$ ]] \
    || fail "--version names no git revision: $version"
  expected_rev=$(git rev-parse --short=7 HEAD 2>/dev/null || true)
  if [ -n "$expected_rev" ] && [ "${BASH_REMATCH[1]}" != "$expected_rev" ]; then
    fail "--version names ${BASH_REMATCH[1]}, this checkout is $expected_rev (a stale build?)"
  fi
}

check_man_page() {
  local page
  page=$(MANPAGER=cat MANWIDTH=100 man eventscope 2>"$out/man.stderr")
  printf '%s\n' "$page" | head -n 12
  printf '%s\n' "$page" | grep -q '^NAME' || fail "man eventscope has no NAME section"
  printf '%s\n' "$page" | grep -q 'check-snapshots' || fail "man eventscope lists no commands"
  MANPAGER=cat man eventscope-audit 2>/dev/null | grep -q -- '--fail-on' || fail "man eventscope-audit has no --fail-on"
  # man reports roff problems on stderr (lintian checks the same with groff warnings).
  if [ -s "$out/man.stderr" ]; then cat "$out/man.stderr" >&2; fail "man eventscope printed warnings"; fi
}

xvfb_pid=""
app_pid=""
stop_app() {
  for pid in $app_pid $xvfb_pid; do kill "$pid" 2>/dev/null || true; done
  for pid in $app_pid $xvfb_pid; do wait "$pid" 2>/dev/null || true; done
  app_pid=""
  xvfb_pid=""
}
trap stop_app EXIT

run_under_xvfb() {
  # The installed binary on a demo store written into a throwaway HOME (settings, cache and
  # lag history go there too), in a 1400x860 Xvfb screen with no window manager.
  local home="$out/home" display=90 window=""
  mkdir -p "$home"
  HOME="$home" /usr/bin/eventscope demo --out "$home/demo.db" --events 5000 >/dev/null
  while [ -e "/tmp/.X11-unix/X$display" ] || [ -e "/tmp/.X$display-lock" ]; do display=$((display + 1)); done
  Xvfb ":$display" -screen 0 1400x860x24 -nolisten tcp >"$out/xvfb.log" 2>&1 &
  xvfb_pid=$!
  for _ in $(seq 50); do [ -e "/tmp/.X11-unix/X$display" ] && break; sleep 0.1; done
  DISPLAY=":$display" HOME="$home" /usr/bin/eventscope "$home/demo.db" >"$out/app.log" 2>&1 &
  app_pid=$!
  for _ in $(seq 60); do
    kill -0 "$app_pid" 2>/dev/null || { tail -n 30 "$out/app.log" >&2; fail "eventscope exited under Xvfb"; }
    window=$(DISPLAY=":$display" xdotool search --pid "$app_pid" --name eventscope 2>/dev/null | head -n 1 || true)
    [ -n "$window" ] && break
    sleep 0.5
  done
  [ -n "$window" ] || { tail -n 30 "$out/app.log" >&2; fail "no eventscope window within 30 s"; }
  DISPLAY=":$display" xdotool windowmove "$window" 0 0 windowsize "$window" 1400 860 || true
  # The streams load in the background; give the first frames time to draw them.
  sleep 6
  kill -0 "$app_pid" 2>/dev/null || { tail -n 30 "$out/app.log" >&2; fail "eventscope exited under Xvfb"; }
  DISPLAY=":$display" import -window root "$out/screenshot.png"
  stop_app
  check_screenshot "$out/screenshot.png"
}

check_screenshot() {
  # Blank (one colour, or a black window that never drew) fails; the demo store's lists and
  # text give a spread of shades and a few hundred distinct colours.
  local stats stddev colours
  stats=$(identify -format '%[fx:standard_deviation] %k' "$1")
  stddev=${stats% *}
  colours=${stats#* }
  echo "screenshot $1: standard deviation $stddev, $colours colours"
  python3 -c "import sys; sys.exit(0 if float('$stddev') > 0.02 and int('$colours') >= 50 else 1)" \
    || fail "the screenshot looks blank (standard deviation $stddev, $colours colours)"
}

remove_package() {
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get remove --purge -y -qq eventscope >"$out/apt-remove.log"
  if dpkg-query -W -f='${Status}' eventscope 2>/dev/null | grep -q 'installed'; then
    fail "eventscope is still installed"
  fi
  # Every file the package installed is gone; directories other packages share
  # (/usr/share/man/man1 …) stay, the package's own (/usr/share/doc/eventscope) do not.
  local left=()
  while IFS= read -r path; do
    if [ -e "$path" ] && { [ ! -d "$path" ] || [ "$path" = /usr/share/doc/eventscope ]; }; then
      left+=("$path")
    fi
  done <"$out/installed-files.txt"
  [ ${#left[@]} -eq 0 ] || fail "left behind after purge: ${left[*]}"
  echo "removed: none of the $(wc -l <"$out/installed-files.txt") paths the package installed is left"
}

echo "package-check: $deb" >&2
step "desktop-file-validate" check_desktop_entry
step "appstreamcli validate" check_metainfo
step "package contents" check_contents
step "lintian" check_lintian
step "apt-get install" install_package
step "eventscope --version" check_version
step "man eventscope" check_man_page
step "start under Xvfb, screenshot" run_under_xvfb
step "apt-get remove --purge" remove_package
echo "package-check: all checks passed; step times (total $((SECONDS - start))s)" >&2
printf '%s\n' "${times[@]}" >&2
