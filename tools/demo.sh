#!/bin/sh
# First run: install what is missing, build winnow, turn the bundled sample
# into a Hub-ready dataset, and verify it.
set -eu
cd "$(dirname "$0")/.."

tools/install-deps.sh
[ -x configure ] || autoreconf -fi >/dev/null
mkdir -p build
cd build
[ -f Makefile ] || ../configure --quiet
make -j"$(nproc)" --quiet >/dev/null
cd ..

out=sample-dataset
build/winnow run --quiet examples/pipeline.wn
build/winnow verify --deep "$out"
build/winnow stats "$out"
echo "dataset written to $(pwd)/$out (shards in $out/data, card in $out/README.md)"
