#!/usr/bin/env bash
# npm test: install the Debian packages the tests need, build the WebAssembly kernels and the CLI,
# type-check everything (tests included), then run every test file.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/test-setup.sh
npm run --silent build
# The firmware bridge's emulator: the firmware core built for the host (g++ + make).
make -s -C firmware-bridge/host
npx tsc -p tsconfig.json
node scripts/run-tests.mjs "$@"
