#!/usr/bin/env bash
# Free-licensed real music for training: install the four Debian packages whose music a model card can name
# (source and licence of every file), then decode them into OUT with a training and a held-out manifest.
#
#   bash scripts/real_music.sh [OUT]        # OUT defaults to data/real_music
#
# Packages (about 105 MB to download): drascula-music (Drascula licence, BSD-like), asc-music (GPL-2+),
# fretsonfire-songs-muldjord (CC-BY-SA-3.0), fretsonfire-songs-sectoid (Expat); see docs/data.md.
# Installing needs root (or sudo); without it, ask an administrator to install them and run this again.
set -euo pipefail
cd "$(dirname "$0")/.."
MG=${MG:-.venv/bin/musegenie}
OUT=${1:-data/real_music}
PACKAGES=(drascula-music asc-music fretsonfire-songs-muldjord fretsonfire-songs-sectoid)

missing=()
for package in "${PACKAGES[@]}"; do
  dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if ((${#missing[@]})); then
  if [[ $(id -u) == 0 ]]; then SUDO=(); elif command -v sudo >/dev/null; then SUDO=(sudo); else
    echo "real_music: ${missing[*]} not installed and no root: run 'apt-get install ${missing[*]}' as root" >&2
    exit 1
  fi
  "${SUDO[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
"$MG" data real-music "$OUT"
