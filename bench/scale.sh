#!/usr/bin/env bash
# Scale benchmark (issue 9): a generated tree of 1,000,000 small files.
#  1. a full Collect of it into one .tar.gz, with the peak memory (max RSS) of `dotnet msbuild`
#     (the tasks run inside it) from /usr/bin/time -v; goal: under 300 MB;
#  2. a no-change incremental Collect on the next day against a `find` stat walk of the same tree;
#     goal: at most 2x, MSBuild's start-up (an empty project) measured separately and printed.
# Usage: bench/scale.sh [work-dir]     (default /var/tmp/bkp-scale; the tree is kept for re-runs)
#        SCALE_FILES=100000 bench/scale.sh   a smaller tree
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=${1:-/var/tmp/bkp-scale}
files=${SCALE_FILES:-1000000}
tree=$work/tree
treeid="$files files, scale 1"
export MSBUILDDISABLENODEREUSE=1 DOTNET_CLI_USE_MSBUILD_SERVER=0 DOTNET_NOLOGO=1
mkdir -p "$work"
now() { date +%s.%N; }
elapsed() { python3 -c "print(f'{$2 - $1:.2f}')"; }

if [ ! -f "$tree.done" ] || [ "$(cat "$tree.done")" != "$treeid" ]; then
  echo "Generating $files files under $tree ..."
  rm -rf "$tree"
  # 1,000 folders (10 x 100) of 1,000 files of 0-512 bytes each: fast, deterministic.
  python3 - "$tree" "$files" <<'PY'
import os, random, sys
root, files = sys.argv[1], int(sys.argv[2])
rng = random.Random(2026)
blob = rng.randbytes(1 << 20)
for i in range(files):
    folder = os.path.join(root, f"a{(i // 100000) % 10:02d}", f"b{(i // 1000) % 100:03d}")
    if i % 1000 == 0: os.makedirs(folder, exist_ok=True)
    n = rng.randint(0, 512); s = rng.randint(0, len(blob) - n)
    with open(os.path.join(folder, f"f{i:07d}.dat"), "wb") as f: f.write(blob[s:s + n])
PY
  echo "$treeid" > "$tree.done"
fi
echo "Tree: $(find "$tree" -type f | wc -l) files, $(du -sb "$tree" | cut -f1) bytes (apparent)"
dotnet build "$repo/tasks/BackupBuild.Tasks.csproj" -c Release -nologo -v:q >/dev/null
dll=$repo/tasks/bin/Release/net8.0/BackupBuild.Tasks.dll
grep -m1 "model name" /proc/cpuinfo || true
echo "Cores: $(nproc); memory: $(free -g | awk '/Mem:/{print $2}') GiB; date: $(date -u +%F)"
find "$tree" -type f -printf '%s %T@\n' > /dev/null   # warm the page cache and the dentry cache

project() {  # $1 = project file, $2 = collect mode, $3 = root
  cat > "$1" <<XML
<Project>
  <PropertyGroup><BackupRoot>$3/</BackupRoot><BackupSkipTaskBuild>true</BackupSkipTaskBuild><BackupTasksAssembly>$dll</BackupTasksAssembly></PropertyGroup>
  <Import Project="$repo/targets/BackupBuild.props" />
  <ItemGroup><CollectDirectory Include="$tree" CollectMode="$2" ArchiveMode="targz" /></ItemGroup>
  <Import Project="$repo/targets/BackupBuild.targets" />
</Project>
XML
}
msbuild() { dotnet msbuild "$@" -nologo -nodeReuse:false -tl:off -v:m > "$work/last.log" 2>&1 || { cat "$work/last.log"; exit 1; }; }

rm -rf "$work/bb"; mkdir -p "$work/bb"
project "$work/bb/incr.proj" incr "$work/bb/incr"

echo; echo "== Full (first) Collect of the tree, incremental item, peak memory"
t0=$(now)
/usr/bin/time -v -o "$work/time.txt" dotnet msbuild "$work/bb/incr.proj" -t:Collect -p:BackupRunDate=2026-11-23T01:00 \
  -nologo -nodeReuse:false -tl:off -v:m > "$work/last.log" 2>&1 || { cat "$work/last.log"; exit 1; }
t1=$(now)
rss_kb=$(awk -F': ' '/Maximum resident set size/{print $2}' "$work/time.txt")
echo "full Collect               $(elapsed $t0 $t1) s, peak RSS $((rss_kb / 1024)) MB (goal: under 300 MB)"
echo "archive                    $(du -cb "$work/bb/incr/collect/"*.tar.gz | tail -1 | cut -f1) B"

echo; echo "== No-change incremental Collect against a find stat walk"
echo '<Project><Target Name="Collect" /></Project>' > "$work/bb/empty.proj"
best() { local b=999; for i in 1 2 3; do t0=$(now); "$@"; t1=$(now); t=$(elapsed $t0 $t1); b=$(python3 -c "print(min($b,$t))"); done; echo "$b"; }
find_t=$(best sh -c "find '$tree' -printf '%s %T@\n' > /dev/null")
empty_t=$(best msbuild "$work/bb/empty.proj" -t:Collect)
day=24; nextday() { day=$((day + 1)); /usr/bin/time -v -o "$work/time2.txt" dotnet msbuild "$work/bb/incr.proj" -t:Collect \
  -p:BackupRunDate=2026-11-$day -nologo -nodeReuse:false -tl:off -v:m > "$work/last.log" 2>&1 || { cat "$work/last.log"; exit 1; }; }
nochange_t=$(best nextday)
grep -q "BKP2" "$work/last.log" && grep "BKP2" "$work/last.log" | head -3 || true
rss2_kb=$(awk -F': ' '/Maximum resident set size/{print $2}' "$work/time2.txt")
echo "find stat walk             ${find_t} s"
echo "empty MSBuild project      ${empty_t} s"
echo "no-change Collect          ${nochange_t} s, peak RSS $((rss2_kb / 1024)) MB"
echo "  ratio, whole run         $(python3 -c "print(f'{$nochange_t / $find_t:.2f}')")x the stat walk (goal: at most 2x)"
echo "  ratio, without start-up  $(python3 -c "print(f'{($nochange_t - $empty_t) / $find_t:.2f}')")x"
