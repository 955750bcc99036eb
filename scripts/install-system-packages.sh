#!/usr/bin/env bash
# Debian packages the tests use, installed only where missing:
#   chromium                    the headless browser for the HTML report and the in-page training test
#   openmpi-bin libopenmpi-dev  mpirun and mpi.h, for data-parallel runs and the MPI addon
#   redis-server                the queue behind `peft submit` / `peft worker`
#   emscripten                  emcc, to build the WebAssembly engine
set -euo pipefail
declare -A command_of=(
  [chromium]=chromium
  [openmpi-bin]=mpirun
  [libopenmpi-dev]=mpicc
  [redis-server]=redis-server
  [emscripten]=emcc
)
missing=()
for package in "${!command_of[@]}"; do
  command -v "${command_of[$package]}" >/dev/null || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0
as_root=$([ "$(id -u)" = 0 ] && echo env || echo "sudo env")
$as_root apt-get update
$as_root DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
