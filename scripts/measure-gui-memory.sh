#!/usr/bin/env bash
# Peak resident memory of the desktop app while browsing a big store under Xvfb:
# scrolls the stream list, opens the hottest stream and scrolls it, then scrolls the log.
# Usage: scripts/measure-gui-memory.sh STORE   (needs xvfb and xdotool; see scripts/setup.sh)
# STREAM (default: the largest stream, from STORE.facts.json when there is one, else
# account-0001) is the stream opened and scrolled. Coordinates are those of the 1400x900
# window (tabs at y 48, the stream filter at y 72, the first stream row at y 166).
# The last line subtracts the software renderer's libraries (present only without a GPU).
set -euo pipefail
store=${1:?usage: $0 STORE}
bin=${EVENTSCOPE_BIN:-target/release/eventscope}
d=97; while [ -e /tmp/.X11-unix/X$d ]; do d=$((d+1)); done
Xvfb :$d -screen 0 1400x900x24 -nolisten tcp >/dev/null 2>&1 & xvfb=$!
trap 'kill $app $xvfb 2>/dev/null || true' EXIT
sleep 1
export DISPLAY=:$d
XDG_CACHE_HOME=$(mktemp -d) "$bin" "$store" >/tmp/eventscope-memory.log 2>&1 & app=$!
stream=${STREAM:-$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["largest_streams"][0][0])' "$store.facts.json" 2>/dev/null || echo account-0001)}
sleep 4
for wid in $(xdotool search --pid "$app" 2>/dev/null); do xdotool windowmove "$wid" 0 0 windowsize "$wid" 1400 900 || true; done
xdotool search --pid "$app" windowfocus 2>/dev/null || true
sleep 1
peak() { grep VmHWM /proc/$app/status | awk '{print $2}'; }
# Peak, and what is resident now split into heap/anonymous and file-backed pages.
now() { awk '/VmHWM|RssAnon|RssFile/ {printf "%s %s kB  ", $1, $2}' /proc/$app/status; }
echo "after open: $(now)"
# Scroll the stream list down (wheel = button 5).
xdotool mousemove 200 500
for _ in $(seq 1 40); do xdotool click --repeat 20 --delay 5 5; sleep 0.2; done
echo "after scrolling streams: $(now)"
# Open the first stream after filtering to the hot account, scroll its events.
xdotool mousemove 230 72 click 1 type "$stream"; sleep 3
xdotool mousemove 60 166 click 1; sleep 3
xdotool mousemove 700 500
for _ in $(seq 1 40); do xdotool click --repeat 20 --delay 5 5; sleep 0.2; done
echo "after scrolling $stream: $(now)"
# The log, scrolled up.
xdotool mousemove 98 48 click 1; sleep 2
xdotool mousemove 500 500
for _ in $(seq 1 60); do xdotool click --repeat 20 --delay 5 4; sleep 0.2; done
echo "after scrolling the log: $(now)"
echo "peak resident memory: $(peak) kB"
# What of that the software renderer holds (no GPU under Xvfb: Mesa's llvmpipe/lavapipe
# and the LLVM they compile shaders with), resident as file-backed library pages.
renderer=$(awk '/^[0-9a-f]+-[0-9a-f]+ / {lib = ($6 ~ /libLLVM|\/dri\/|libvulkan_|libgallium|libEGL_mesa|libGLX_mesa/)}
                /^Rss:/ && lib {kb += $2} END {print kb + 0}' /proc/$app/smaps)
echo "software renderer libraries resident: $renderer kB; peak without them: $(($(peak) - renderer)) kB"
