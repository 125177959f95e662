#!/usr/bin/env bash
# Installs the Debian 12 packages Chorus needs to build, test and run.
# Does nothing when everything is present; uses sudo when not root.
# Used by both README commands and by .ci/run.
set -euo pipefail

packages=(
    build-essential cmake pkg-config git
    libuv1-dev libssl-dev
    libavformat-dev libavcodec-dev libavutil-dev libswresample-dev
    portaudio19-dev
    libsqlite3-dev libncurses-dev
    libcmocka-dev libjansson-dev
    groff man-db tmux clang-format clang libclang-rt-14-dev
)

missing=()
for pkg in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q '^install ok installed$'; then
        missing+=("$pkg")
    fi
done

if [ ${#missing[@]} -eq 0 ]; then
    echo "setup: all ${#packages[@]} packages present"
    exit 0
fi

sudo=()
if [ "$(id -u)" -ne 0 ]; then
    sudo=(sudo)
fi
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
