#!/usr/bin/env bash
# LibGit2Sharp against the git program for the local repository work BackupBuild moved in-process (issue 19):
# a control repository's request commit and its read (GitCommand's hash-object/mktree/commit-tree/update-ref and
# rev-parse/ls-tree/cat-file, one process each, against ControlRepository), the git module's look at a repository's
# refs (symbolic-ref + for-each-ref against LocalGit.Refs), and reading every object of a 4,000-commit mirror
# (git fsck --full against LocalGit.ReadEveryObject, what Browse verify and the git module do). Medians of
# ROUNDS alternating rounds (default 21); the ratio is old/new (above 1: the new way is faster).
# Usage: bench/libgit2.sh [work-dir]   (default /var/tmp/bkp-bench-libgit2)
#        BENCH_ONLY=verify bench/libgit2.sh   only the read of every object
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=${1:-/var/tmp/bkp-bench-libgit2}
rounds=${ROUNDS:-21}
commits=${COMMITS:-4000}
export MSBUILDDISABLENODEREUSE=1 DOTNET_CLI_USE_MSBUILD_SERVER=0 DOTNET_NOLOGO=1
mkdir -p "$work"
echo "$(grep -m1 'model name' /proc/cpuinfo); cores: $(nproc); load: $(cut -d' ' -f1-3 /proc/loadavg); $(date -u +%FT%TZ); $(git --version)"
dotnet build "$repo/tasks/BackupBuild.Tasks.csproj" -c Release -nologo -v:q >/dev/null
dotnet build "$repo/bench/libgit2/LibGit2Bench.csproj" -c Release -nologo -v:q -o "$work/prog" >/dev/null

# A mirror with $commits commits, each changing a few files of a 200-file tree (fast-import: no checkout).
mirror=$work/mirror-$commits.git
if [ ! -d "$mirror" ]; then
  src=$work/src.git; rm -rf "$src"; git init -q --bare "$src"
  python3 - "$commits" <<'PY' | git -C "$src" fast-import --quiet
import sys
n = int(sys.argv[1])
out = sys.stdout
for c in range(1, n + 1):
    files = {f"dir{(c * 7 + k) % 20}/file{(c * 13 + k) % 200}.txt": f"commit {c} change {k}\n" + "x" * (c % 500) for k in range(3)}
    msg = f"commit {c}\n"
    out.write(f"commit refs/heads/main\ncommitter Bench <b@e> {1700000000 + c} +0000\ndata {len(msg)}\n{msg}")
    for path, content in files.items():
        data = content.encode()
        out.write(f"M 100644 inline {path}\ndata {len(data)}\n{content}\n")
    if c % 500 == 0: out.write(f"reset refs/tags/v{c}\nfrom refs/heads/main\n\n")
PY
  git clone -q --mirror --no-local "$src" "$mirror"; rm -rf "$src"
fi
echo "Mirror: $(git -C "$mirror" rev-list --all | wc -l) commits, $(git -C "$mirror" count-objects -v | awk '/^in-pack/{print $2}') packed objects, $(du -sb "$mirror" | cut -f1) B"
dotnet "$work/prog/LibGit2Bench.dll" "$work" "$mirror" "$rounds"
