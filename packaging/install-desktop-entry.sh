#!/usr/bin/env bash
# Install the desktop entry and icon for the current user, pointing at this checkout's .venv.
# Usage: packaging/install-desktop-entry.sh   (after `make install`)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
apps="${XDG_DATA_HOME:-$HOME/.local/share}/applications"
icons="${XDG_DATA_HOME:-$HOME/.local/share}/icons/hicolor/scalable/apps"
mkdir -p "$apps" "$icons"
cp "$root/resources/icons/imgstudio.svg" "$icons/imgstudio.svg"
sed "s|^Exec=imgstudio|Exec=$root/.venv/bin/imgstudio|" "$root/resources/imgstudio.desktop" \
  > "$apps/imgstudio.desktop"
echo "installed $apps/imgstudio.desktop"
