#!/usr/bin/env bash
# Scale benchmark (issue 9): a generated tree of 1,000,000 small files.
#  1. a full Collect of it into one .tar.gz against `tar -I pigz` of the same tree, in ROUNDS alternating
#     rounds (default 3, medians); goals: no slower than pigz, peak memory under 150 MB; each printed as a
#     GOAL line. The peak is the larger of /usr/bin/time's maximum RSS (ru_maxrss: that of the largest single
#     process, `dotnet msbuild`, in which the tasks run) and the largest sum of the RSS of every process under
#     it, sampled every 50 ms by a process of its own (the two agree unless MSBuild starts node processes);
#  2. a no-change incremental Collect on the next day against a `find` stat walk of the same tree;
#     goal: at most 2x, MSBuild's start-up (an empty project) measured separately and printed.
# Usage: bench/scale.sh [work-dir]     (default /var/tmp/bkp-scale; the tree is kept for re-runs)
#        SCALE_FILES=100000 bench/scale.sh   a smaller tree
#        BENCH_ONLY=pigz bench/scale.sh      only the full Collect against tar -I pigz (needs pigz)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=${1:-/var/tmp/bkp-scale}
files=${SCALE_FILES:-1000000}
tree=$work/tree
treeid="$files files, scale 1"
command -v pigz >/dev/null || { echo "pigz is missing: apt-get install pigz"; exit 1; }
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
find "$tree" -type f -printf '%s %T@\n' > /dev/null   # warm the dentry cache
tar cf - "$tree" 2>/dev/null | cat > /dev/null        # and the page cache (tar skips reading when it writes to /dev/null itself)

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

median() { python3 -c "import statistics,sys;print(f'{statistics.median(map(float,sys.argv[1:])):.2f}')" "$@"; }
goal() { echo "GOAL $1: $2x (goal <= $3) $(python3 -c "print('met' if $2 <= $3 else 'NOT met')")"; }
# Prints the largest sum of VmRSS (kB) of the processes under PID $1 (not $1 itself), sampled every 50 ms until it exits.
tree_peak() {
  python3 - "$1" <<'PY'
import os, sys, time
root = int(sys.argv[1])
def below(pid):
    found = []
    try:
        for t in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{t}/children") as f:
                for c in map(int, f.read().split()): found += [c] + below(c)
    except OSError: pass
    return found
peak = 0
while os.path.exists(f"/proc/{root}"):
    total = 0
    for pid in below(root):
        try:
            with open(f"/proc/{pid}/status") as f: total += next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))
        except (OSError, StopIteration): pass
    peak = max(peak, total); time.sleep(0.05)
print(peak)
PY
}
# One timed run (output to last.log): appends wall and CPU (user + sys) to the arrays named $1 and $2, and leaves in
# last_rss the peak RSS (kB): the larger of time's maximum RSS and the sampled sum over the process tree.
measure() {
  local -n walls=$1 cpus=$2; shift 2
  /usr/bin/time -f '%e %U %S %M' -o "$work/time.txt" "$@" > "$work/last.log" 2>&1 &
  local pid=$!
  tree_peak "$pid" > "$work/tree.txt" &
  local sampler=$!
  wait "$pid" || { cat "$work/last.log" "$work/time.txt"; exit 1; }
  wait "$sampler"
  local w u s m; read -r w u s m < <(tail -1 "$work/time.txt")
  walls+=("$w"); cpus+=("$(python3 -c "print(f'{$u + $s:.2f}')")")
  local sum; sum=$(cat "$work/tree.txt"); last_rss=$(( sum > m ? sum : m ))
}

echo; echo "== Full (first) Collect of the tree, incremental item, against tar -I pigz (alternating rounds; load before: $(cut -d' ' -f1-3 /proc/loadavg))"
pt=(); pc=(); bt=(); bc=(); peak=0; rounds=${ROUNDS:-3}
run_pigz() { rm -f "$work/pigz.tar.gz"; measure pt pc tar -I pigz -cf "$work/pigz.tar.gz" -C / "${tree#/}"; }
# 2026-11-23 is a Monday, the starting day: a first, full run each round (its state removed before).
run_bb() {
  rm -rf "$work/bb/incr"
  measure bt bc dotnet msbuild "$work/bb/incr.proj" -t:Collect -p:BackupRunDate=2026-11-23T01:00 -nologo -nodeReuse:false -tl:off -v:m
  peak=$(( last_rss > peak ? last_rss : peak ))
}
for r in $(seq "$rounds"); do
  if [ $((r % 2)) = 1 ]; then run_pigz; run_bb; else run_bb; run_pigz; fi
  echo "round $r: tar -I pigz ${pt[-1]} s (${pc[-1]} s CPU), BackupBuild ${bt[-1]} s (${bc[-1]} s CPU) (load $(cut -d' ' -f1 /proc/loadavg))"
done
p_t=$(median "${pt[@]}"); b_t=$(median "${bt[@]}")
echo "tar -I pigz ($(nproc) cores)      ${p_t} s  $(stat -c %s "$work/pigz.tar.gz") B   CPU $(median "${pc[@]}") s (medians of $rounds)"
echo "BackupBuild full Collect   ${b_t} s  $(du -cb "$work/bb/incr/collect/"*.tar.gz | tail -1 | cut -f1) B   CPU $(median "${bc[@]}") s, peak RSS $((peak / 1024)) MB"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
goal scale-full-collect-time "$(python3 -c "print(f'{$b_t / $p_t:.2f}')")" 1.0
goal scale-full-collect-memory "$(python3 -c "print(f'{$peak / 1024 / 150:.2f}')")" 1.0
if [ "${BENCH_ONLY:-}" = "pigz" ]; then exit 0; fi

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
