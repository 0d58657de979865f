#!/usr/bin/env bash
# musdb and museval call ffmpeg/ffprobe even for WAV files. Install them with apt when we may, else say how.
set -euo pipefail
if command -v ffmpeg >/dev/null 2>&1 && command -v ffprobe >/dev/null 2>&1; then exit 0; fi
if command -v apt-get >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    echo "ffmpeg missing: installing it with apt-get ..." >&2
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ffmpeg >/dev/null) && exit 0
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    echo "ffmpeg missing: installing it with sudo apt-get ..." >&2
    (sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ffmpeg >/dev/null) && exit 0
  fi
  echo "ffmpeg is missing and could not be installed here; run: sudo apt-get install ffmpeg" >&2
else
  echo "ffmpeg is missing; install it (conda install -c conda-forge ffmpeg, brew install ffmpeg, ...)" >&2
fi
exit 1
