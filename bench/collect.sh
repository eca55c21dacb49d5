#!/usr/bin/env bash
# Collect benchmark: BackupBuild's Collect against `tar czf`, pigz and Cedar Backup 3's collect
# on the same generated tree (about 1 GiB in 50,000 files, half compressible), and a no-change
# incremental Collect against a `find` stat walk, with MSBuild's start-up measured separately
# (bench/startup.sh measures the start-up figures through the package, as medians of alternating rounds).
# Usage: bench/collect.sh [work-dir]   (default /var/tmp/bkp-bench; the tree is kept for re-runs)
#        BENCH_ONLY=nochange bench/collect.sh   runs only the no-change part
#        BENCH_ONLY=tarzst bench/collect.sh     only Collect tarzst against `tar -I 'zstd -3 -T0'` (also in the full run)
#        BENCH_ONLY=tarbz2 bench/collect.sh     only Collect tarbz2 against `tar -I pbzip2` (also in the full run; needs pbzip2)
#                                               (ROUNDS alternating rounds, default 5 for tarzst and 3 for tarbz2, medians; each ends
#                                               with GOAL lines for time and size)
#        BENCH_ONLY=levels bench/collect.sh     only the archive size of each CompressionLevel in each
#                                               compressed mode (slow: includes zstd -19 and bzip2)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=${1:-/var/tmp/bkp-bench}
tree=$work/tree
files=${BENCH_FILES:-50000}
treeid="$files files, gentree 2"
export MSBUILDDISABLENODEREUSE=1 DOTNET_CLI_USE_MSBUILD_SERVER=0 DOTNET_NOLOGO=1
mkdir -p "$work"

now() { date +%s.%N; }
elapsed() { python3 -c "print(f'{$2 - $1:.2f}')"; }
ratio() { python3 -c "print(f'{$1 / $2:.2f}')"; }
size() { stat -c %s "$1"; }

if [ ! -f "$tree.done" ] || [ "$(cat "$tree.done")" != "$treeid" ]; then
  echo "Generating $files files under $tree ..."
  rm -rf "$tree"; python3 "$repo/bench/gentree.py" "$tree" "$files"; echo "$treeid" > "$tree.done"
fi
echo "Tree: $(find "$tree" -type f | wc -l) files, $(du -sb "$tree" | cut -f1) bytes"
dotnet build "$repo/tasks/BackupBuild.Tasks.csproj" -c Release -nologo -v:q >/dev/null
dll=$repo/tasks/bin/Release/net8.0/BackupBuild.Tasks.dll
cat /proc/cpuinfo | grep -m1 "model name" || true
echo "Cores: $(nproc); date: $(date -u +%F)"

# Warm the page cache so every tool reads from memory (through cat: GNU tar reads nothing when it writes to /dev/null).
tar cf - "$tree" 2>/dev/null | cat > /dev/null

project() {  # $1 = project file, $2 = collect mode, $3 = root, [$4 = archive mode, $5 = compression level]
  cat > "$1" <<XML
<Project>
  <PropertyGroup><BackupRoot>$3/</BackupRoot><BackupSkipTaskBuild>true</BackupSkipTaskBuild><BackupTasksAssembly>$dll</BackupTasksAssembly>
    <CompressionLevel>${5:-}</CompressionLevel><CollectCarryUnstaged>false</CollectCarryUnstaged></PropertyGroup>
  <Import Project="$repo/targets/BackupBuild.props" />
  <ItemGroup><CollectDirectory Include="$tree" CollectMode="$2" ArchiveMode="${4:-targz}" /></ItemGroup>
  <Import Project="$repo/targets/BackupBuild.targets" />
</Project>
XML
}
msbuild() { dotnet msbuild "$@" -nologo -v:m -tl:off -nodeReuse:false > "$work/last.log" 2>&1 || { cat "$work/last.log"; exit 1; }; }

archive_name=$(python3 -c "import sys;p=sys.argv[1].lstrip('/');print(p.replace('/','-'))" "$tree")
median() { python3 -c "import statistics,sys;print(f'{statistics.median(map(float,sys.argv[1:])):.2f}')" "$@"; }

# One timed run of a command (its output to last.log): appends its wall time to the array named $1 and
# its CPU time (user + sys) to the array named $2; its peak RSS (kB) is left in last_rss.
measure() {
  local -n walls=$1 cpus=$2; shift 2
  /usr/bin/time -f '%e %U %S %M' -o "$work/time.txt" "$@" > "$work/last.log" 2>&1 || { cat "$work/last.log" "$work/time.txt"; exit 1; }
  local w u s m; read -r w u s m < <(tail -1 "$work/time.txt")
  walls+=("$w"); cpus+=("$(python3 -c "print(f'{$u + $s:.2f}')")"); last_rss=$m
}
# GOAL line: $1 name, $2 ratio, $3 the most it may be.
goal() { echo "GOAL $1: $2x (goal <= $3) $(python3 -c "print('met' if $2 <= $3 else 'NOT met')")"; }
ratio4() { python3 -c "print(f'{$1 / $2:.4f}')"; }
# $rounds alternating rounds of two tools: odd rounds run $1 first, even rounds $2 first; $3 prints round $r.
alternate() {
  for r in $(seq "$rounds"); do
    if [ $((r % 2)) = 1 ]; then "$1"; "$2"; else "$2"; "$1"; fi
    "$3"
  done
}

if [ -z "${BENCH_ONLY:-}" ] || [ "${BENCH_ONLY:-}" = "tarzst" ]; then
  echo; echo "== Full collect, tarzst against tar -I 'zstd -3 -T0' (alternating rounds; load before: $(cut -d' ' -f1-3 /proc/loadavg))"
  rm -rf "$work/zst"; mkdir -p "$work/zst"; project "$work/zst/zst.proj" daily "$work/zst" tarzst
  zt=(); zc=(); bt=(); bc=(); rounds=${ROUNDS:-5}
  run_zstd() { rm -f "$work/zstd.tar.zst"; measure zt zc tar -I 'zstd -3 -T0' -cf "$work/zstd.tar.zst" -C / "${tree#/}"; }
  run_bb_zst() { rm -rf "$work/zst/collect"; measure bt bc dotnet msbuild "$work/zst/zst.proj" -t:Collect -nologo -v:m -tl:off -nodeReuse:false; }
  report_zst() { echo "round $r: tar -I 'zstd -3 -T0' ${zt[-1]} s (${zc[-1]} s CPU), BackupBuild ${bt[-1]} s (${bc[-1]} s CPU) (load $(cut -d' ' -f1 /proc/loadavg))"; }
  alternate run_zstd run_bb_zst report_zst
  z_t=$(median "${zt[@]}"); b_t=$(median "${bt[@]}")
  z_s=$(size "$work/zstd.tar.zst"); b_s=$(size "$work/zst/collect/$archive_name.tar.zst")
  echo "tar -I 'zstd -3 -T0'       ${z_t} s  ${z_s} B   CPU $(median "${zc[@]}") s (medians of $rounds)"
  echo "BackupBuild Collect tarzst ${b_t} s  ${b_s} B   CPU $(median "${bc[@]}") s"
  echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
  goal collect-tarzst-time "$(ratio "$b_t" "$z_t")" 1.1
  goal collect-tarzst-size "$(ratio4 "$b_s" "$z_s")" 1.0
fi

if [ -z "${BENCH_ONLY:-}" ] || [ "${BENCH_ONLY:-}" = "tarbz2" ]; then
  command -v pbzip2 >/dev/null || { echo "pbzip2 is missing: apt-get install pbzip2"; exit 1; }
  echo; echo "== Full collect, tarbz2 against tar -I pbzip2 (both 900 kB blocks; alternating rounds; load before: $(cut -d' ' -f1-3 /proc/loadavg))"
  rm -rf "$work/bz2"; mkdir -p "$work/bz2"; project "$work/bz2/bz2.proj" daily "$work/bz2" tarbz2
  pt=(); pc=(); bt=(); bc=(); rounds=${ROUNDS:-3}
  run_pbzip2() { rm -f "$work/pbzip2.tar.bz2"; measure pt pc tar -I pbzip2 -cf "$work/pbzip2.tar.bz2" -C / "${tree#/}"; }
  run_bb_bz2() { rm -rf "$work/bz2/collect"; measure bt bc dotnet msbuild "$work/bz2/bz2.proj" -t:Collect -nologo -v:m -tl:off -nodeReuse:false; }
  report_bz2() { echo "round $r: tar -I pbzip2 ${pt[-1]} s (${pc[-1]} s CPU), BackupBuild ${bt[-1]} s (${bc[-1]} s CPU) (load $(cut -d' ' -f1 /proc/loadavg))"; }
  alternate run_pbzip2 run_bb_bz2 report_bz2
  p_t=$(median "${pt[@]}"); b_t=$(median "${bt[@]}")
  p_s=$(size "$work/pbzip2.tar.bz2"); b_s=$(size "$work/bz2/collect/$archive_name.tar.bz2")
  echo "tar -I pbzip2 ($(nproc) cores)    ${p_t} s  ${p_s} B   CPU $(median "${pc[@]}") s (medians of $rounds)"
  echo "BackupBuild Collect tarbz2 ${b_t} s  ${b_s} B   CPU $(median "${bc[@]}") s"
  echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
  goal collect-tarbz2-time "$(ratio "$b_t" "$p_t")" 1.0
  goal collect-tarbz2-size "$(ratio4 "$b_s" "$p_s")" 1.01
fi
if [ "${BENCH_ONLY:-}" = "tarzst" ] || [ "${BENCH_ONLY:-}" = "tarbz2" ]; then exit 0; fi

if [ "${BENCH_ONLY:-}" = "levels" ]; then
  echo; echo "== Archive size by CompressionLevel (each level must be at most the size of the one before)"
  for mode in targz tarbz2 tarzst; do
    ext=$(case $mode in targz) echo tar.gz;; tarbz2) echo tar.bz2;; tarzst) echo tar.zst;; esac)
    for level in fastest optimal smallest; do
      rm -rf "$work/lv"; mkdir -p "$work/lv"; project "$work/lv/lv.proj" daily "$work/lv" $mode $level
      t0=$(now); msbuild "$work/lv/lv.proj" -t:Collect; t1=$(now)
      echo "$mode $level: $(size "$work/lv/collect/$archive_name.$ext") B  $(elapsed $t0 $t1) s"
    done
  done
  exit 0
fi

if [ "${BENCH_ONLY:-}" != "nochange" ]; then
echo; echo "== Full collect, targz"
t0=$(now); tar czf "$work/tar.tar.gz" -C / "${tree#/}"; t1=$(now); tar_t=$(elapsed $t0 $t1); tar_s=$(size "$work/tar.tar.gz")
echo "tar czf (gzip -6)          ${tar_t} s  ${tar_s} B"
if command -v pigz >/dev/null; then
  t0=$(now); tar cf - -C / "${tree#/}" | pigz -6 > "$work/pigz.tar.gz"; t1=$(now); pigz_t=$(elapsed $t0 $t1)
  echo "tar | pigz -6 ($(nproc) cores)   ${pigz_t} s  $(size "$work/pigz.tar.gz") B"
fi
rm -rf "$work/bb"; mkdir -p "$work/bb"; project "$work/bb/daily.proj" daily "$work/bb"
t0=$(now); msbuild "$work/bb/daily.proj" -t:Collect; t1=$(now); bb_t=$(elapsed $t0 $t1)
bb_s=$(size "$work/bb/collect/$(python3 -c "import sys;p=sys.argv[1].lstrip('/');print(p.replace('/','-'))" "$tree").tar.gz")
echo "BackupBuild Collect        ${bb_t} s  ${bb_s} B   (time $(ratio $bb_t $tar_t)x tar czf, size $(ratio $bb_s $tar_s)x)"
if command -v cback3 >/dev/null; then
  rm -rf "$work/cedar"; mkdir -p "$work/cedar/collect" "$work/cedar/work"
  cat > "$work/cedar/cback3.conf" <<XML
<?xml version="1.0"?>
<cb_config><options><starting_day>monday</starting_day><working_dir>$work/cedar/work</working_dir>
<backup_user>root</backup_user><backup_group>root</backup_group><rcp_command>/usr/bin/scp</rcp_command></options>
<collect><collect_dir>$work/cedar/collect</collect_dir><collect_mode>daily</collect_mode><archive_mode>targz</archive_mode>
<ignore_file>.cbignore</ignore_file><dir><abs_path>$tree</abs_path></dir></collect></cb_config>
XML
  t0=$(now); cback3 -c "$work/cedar/cback3.conf" -l "$work/cedar/cback3.log" --full collect; t1=$(now); cb_t=$(elapsed $t0 $t1)
  cb_s=$(du -cb "$work/cedar/collect/"*.tar.gz | tail -1 | cut -f1)
  echo "Cedar Backup 3 collect     ${cb_t} s  ${cb_s} B   (BackupBuild is $(ratio $cb_t $bb_t)x faster)"
fi

fi

echo; echo "== No-change incremental collect"
project "$work/bb/incr.proj" incr "$work/bb/incr"
msbuild "$work/bb/incr.proj" -t:Collect -p:BackupRunDate=2026-11-23T01:00
echo '<Project><Target Name="Collect" /></Project>' > "$work/bb/empty.proj"
best() { local b=999; for i in 1 2 3 4 5; do t0=$(now); "$@"; t1=$(now); t=$(elapsed $t0 $t1); b=$(python3 -c "print(min($b,$t))"); done; echo "$b"; }
find_t=$(best sh -c "find '$tree' -type f -printf '%s %T@\n' > /dev/null")
empty_t=$(best msbuild "$work/bb/empty.proj" -t:Collect)
# Five new days after the baseline, Tuesday 2026-11-24 to Saturday 2026-11-28: never the starting day (a Monday collects in full).
day=23; nextday() { day=$((day + 1)); msbuild "$work/bb/incr.proj" -t:Collect -p:BackupRunDate=2026-11-$day; }
nochange_t=$(best nextday)
grep -q "no changes since the baseline" "$work/last.log" || { echo "expected a no-change run"; cat "$work/last.log"; exit 1; }
sameday_t=$(best msbuild "$work/bb/incr.proj" -t:Collect -p:BackupRunDate=2026-11-$day)
echo "find stat walk             ${find_t} s"
echo "empty MSBuild project      ${empty_t} s"
echo "no-change Collect, new day ${nochange_t} s  -> $(python3 -c "print(f'{($nochange_t - $empty_t) / $find_t:.2f}')")x the stat walk without MSBuild start-up"
echo "no-change Collect, same day (skipped target) ${sameday_t} s  -> $(python3 -c "print(f'{($sameday_t - $empty_t) / $find_t:.2f}')")x"
