#!/usr/bin/env bash
# The main job until `qbuild demo` lands: provision examples/pillar.yml into a fresh simulator,
# make a first call through it (a build log streamed from build-fedora to the logs qube via
# dom0's policy redirect), show what was created and what happened, and shut it down.
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${QBUILD_BIN:-$PWD/dist/qbuild}"
work=$(mktemp -d /tmp/qbuild-first-run.XXXXXX)
trap '"$bin" sim down --formula "$work/formula" >/dev/null 2>&1 || true' EXIT

echo "== qbuild $("$bin" --version): provision examples/pillar.yml"
"$bin" provision --pillar examples/pillar.yml --dry-run
"$bin" provision --pillar examples/pillar.yml --out "$work/formula"

echo; echo "== sim up: each qube is a directory and a process; the router enforces the policy"
QBUILD_BIN="$bin" "$bin" sim up --formula "$work/formula"

echo; echo "== build-fedora streams a log: qubesbuilder.BuildLog to dom0, redirected to logs"
path=$(printf 'building core-qrexec\nqbuild-sign sha256:%s demo-header\nbuild done\n' "$(printf demo | sha256sum | cut -d' ' -f1)" \
  | "$bin" sim call --formula "$work/formula" --from build-fedora dom0 qubesbuilder.BuildLog)
echo "stored as: $path"
sleep 0.3
echo "--- the log in the logs qube:"
cat "$work/formula/qubes/logs/state/"*/"$path" 2>/dev/null || find "$work/formula/qubes/logs/state" -path "*$path" -exec cat {} \;

echo; echo "== the same call aimed at the logs qube directly is refused by policy (exit 126)"
set +e
echo x | "$bin" sim call --formula "$work/formula" --from build-fedora logs qubesbuilder.BuildLog
echo "exit code: $?"
set -e

echo; echo "== router log (every qrexec decision):"
cat "$work/formula/sim/router.log"
echo; echo "formula and qubes kept in $work"
