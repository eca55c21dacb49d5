#!/usr/bin/env bash
# Restore and Find benchmark (docs/benchmarks.md, "Restore and Find — bench/restore.sh"): a whole-tree Restore of
# bench/collect.sh's tree (about 1.1 GiB in 50,000 files) from a staged day, against `tar -I pigz -xf` of the same
# archive and `restic restore` of a restic repository of the same tree; and Find of one file name over the day
# against `restic find` of the same name.
# Each of ROUNDS (default 5) rounds runs every tool once, in an order that rotates from round to round, each into
# an empty folder of its own, and nothing restored is deleted until the last round is over (the trees of all rounds
# stay: ROUNDS x 3 copies of the tree, checked against the free space first). Why: on an ext4 file system without a
# journal (this machine's /), the kernel will not reuse an inode freed in the last 60 seconds — 360 while the inode
# table block holding it is dirty, which it is again as soon as a new file is created in it — and scans past every one
# of them for every file it creates (fs/ext4/ialloc.c, recently_deleted). Deleting a round's 150,000 files and waiting
# 61 s (this script until 2026-12-05) still charged the first tool of the next round most (first 9.5-14.5 s, last
# 5.6-6.3 s, whichever tool), so the ratios followed the rotation. Now no file is deleted while the tools run; trees
# left by an earlier run are removed first, followed by `sync` and a wait of RECENT_WAIT seconds (default 361).
# (Dropping the page cache is not possible for everyone: the caches stay warm.)
# Each restore is timed twice: the command alone, and the command followed by `sync` (data on disk; BackupBuild's
# Restore syncs before it reports success, the other tools do not), and its CPU time (user + system, children
# included: pigz under tar) is taken with /usr/bin/time. Medians.
# The last lines, GOAL restore-vs-pigz, GOAL restore-vs-restic and GOAL find-vs-restic, are the ratios of the
# medians (BackupBuild / other tool) and whether each is met (goal <= 1.0). The restore goals compare like with
# like: each command followed by `sync`, so every tool's data is on the disk (BackupBuild's own syncfs is part of
# its command; the `sync` after it finds nothing left). The ratios of the commands alone are printed above them.
# BackupBuild runs as a site gets it from the package: the ReadyToRun task assembly and run logger `dotnet pack sdk`
# publishes (sdk/obj/backup-tasks*/), with the run logger and its binary log attached as on an installed machine
# (BENCH_FROM_SOURCE=1: the source build instead, its code compiled at run time).
# Usage: bench/restore.sh [work-dir]   (default /var/tmp/bkp-bench-restore; the staged day and the restic
#        repository are kept for re-runs; the tree is bench/collect.sh's, in BENCH_TREE_DIR (default
#        /var/tmp/bkp-bench), generated there when missing)
# Needs restic (Debian package restic; installed here when missing and run as root): a bench tool, not a test dependency.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=${1:-/var/tmp/bkp-bench-restore}
treedir=${BENCH_TREE_DIR:-/var/tmp/bkp-bench}
tree=$treedir/tree
files=${BENCH_FILES:-50000}
treeid="$files files, gentree 2"
rounds=${ROUNDS:-5}
export MSBUILDDISABLENODEREUSE=1 DOTNET_CLI_USE_MSBUILD_SERVER=0 DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1
mkdir -p "$work" "$treedir"

now() { date +%s.%N; }
elapsed() { python3 -c "print(f'{$2 - $1:.2f}')"; }
median() { python3 -c "import statistics,sys;print(f'{statistics.median(map(float,sys.argv[1:])):.2f}')" "$@"; }
spread() { python3 -c "import sys;v=sorted(map(float,sys.argv[1:]));print(f'[{v[0]:.2f}-{v[-1]:.2f}]')" "$@"; }
ratio() { python3 -c "print(f'{$1 / $2:.2f}')"; }
goal() {  # name, ours, theirs
  python3 -c "r=$2/$3;print(f'GOAL $1: {r:.2f}x (goal <= 1.0) ' + ('met' if r <= 1.0 else 'NOT met'))"
}
load() { cut -d' ' -f1 /proc/loadavg; }

if ! command -v restic > /dev/null; then
  if [ "$(id -u)" = 0 ]; then apt-get install -y restic > "$work/apt.log" 2>&1 || { cat "$work/apt.log"; exit 1; }
  else echo "restic is missing: apt-get install restic"; exit 1; fi
fi
if [ ! -f "$tree.done" ] || [ "$(cat "$tree.done")" != "$treeid" ]; then
  echo "Generating $files files under $tree ..."
  rm -rf "$tree"; python3 "$repo/bench/gentree.py" "$tree" "$files"; echo "$treeid" > "$tree.done"
fi
# The task assembly and run logger as the package ships them (ReadyToRun, as bench/startup.sh measures them): `dotnet
# pack sdk` publishes them into sdk/obj/; under .NET 10 Sdk.props picks the net10.0 build (the runtime ignores the
# net8.0 build's ReadyToRun code). BENCH_FROM_SOURCE=1 measures the source build (tasks/bin, compiled at run time) instead.
if [ "${BENCH_FROM_SOURCE:-0}" = 1 ]; then
  dotnet build "$repo/BackupBuild.sln" -c Release -nologo -v:q -nodeReuse:false > "$work/build.log" 2>&1 || { cat "$work/build.log"; exit 1; }
  dll=$repo/tasks/bin/Release/net8.0/BackupBuild.Tasks.dll
  logger=$repo/logger/bin/Release/net8.0/BackupBuild.Logging.dll
else
  dotnet pack "$repo/sdk" -o "$work/feed" -nologo -v:q -nodeReuse:false > "$work/build.log" 2>&1 || { cat "$work/build.log"; exit 1; }
  dll=$repo/sdk/obj/backup-tasks/BackupBuild.Tasks.dll
  logger=$repo/sdk/obj/backup-logger/BackupBuild.Logging.dll
  if [ "$(dotnet --version | cut -d. -f1)" -ge 10 ]; then
    dll=$repo/sdk/obj/backup-tasks-net10.0/BackupBuild.Tasks.dll
    [ -f "$repo/sdk/obj/backup-logger-net10.0/BackupBuild.Logging.dll" ] && logger=$repo/sdk/obj/backup-logger-net10.0/BackupBuild.Logging.dll
  fi
fi
echo "Task assembly: $dll"
grep -m1 "model name" /proc/cpuinfo || true
echo "Cores: $(nproc); date: $(date -u '+%F %H:%M UTC'); tree: $(find "$tree" -type f | wc -l) files, $(du -sb "$tree" | cut -f1) bytes; load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "restic: $(restic version | cut -d' ' -f1-2); pigz: $(pigz --version 2>&1); tar: $(tar --version | head -1)"

msbuild() { dotnet msbuild "$@" -nologo -v:m -tl:off -nodeReuse:false > "$work/last.log" 2>&1 || { cat "$work/last.log"; exit 1; }; }
cat > "$work/bench.proj" <<XML
<Project>
  <PropertyGroup><BackupRoot>$work/bb/</BackupRoot><BackupPeer>bench</BackupPeer><BackupSkipTaskBuild>true</BackupSkipTaskBuild>
    <BackupTasksAssembly>$dll</BackupTasksAssembly><BackupRunLoggerAssembly>$logger</BackupRunLoggerAssembly><CollectCarryUnstaged>false</CollectCarryUnstaged></PropertyGroup>
  <Import Project="$repo/targets/BackupBuild.props" />
  <ItemGroup><CollectDirectory Include="$tree" CollectMode="daily" ArchiveMode="targz" />
    <Peer Include="bench" Type="local" CollectDir="\$(CollectDir)" /></ItemGroup>
  <Import Project="$repo/targets/BackupBuild.targets" />
</Project>
XML

# The staged day: Collect and Stage once (kept; `rm -rf work-dir/bb` makes it again, e.g. after a Collect change).
if ! ls "$work"/bb/staging/*/*/*/bench/cback.collect > /dev/null 2>&1; then
  echo "Collecting and staging the tree ..."
  if [ ! -f "$work/bb/collect/cback.collect" ]; then rm -rf "$work/bb"; msbuild "$work/bench.proj" -t:Collect; fi
  msbuild "$work/bench.proj" -t:Stage
fi
archive=$(ls "$work"/bb/staging/*/*/*/bench/*.tar.gz | head -1)
echo "Staged archive: $archive ($(stat -c %s "$archive") bytes)"
export RESTIC_REPOSITORY=$work/restic RESTIC_PASSWORD_FILE=$work/restic.pass
if [ ! -f "$work/restic.done" ]; then
  echo "Making the restic repository ..."
  rm -rf "$work/restic"; head -c 24 /dev/urandom | base64 > "$work/restic.pass"; chmod 600 "$work/restic.pass"
  restic init -q > /dev/null
  restic backup -q "$tree" > /dev/null
  touch "$work/restic.done"
fi
name=$(basename "$(find "$tree" -type f -name '*.txt' | sort | tail -1)")
echo "Find pattern: $name"

out=$work/out
wait_recent=${RECENT_WAIT:-361}
# Trees of an earlier run removed, then no inode freed in the kernel's window is left (see the top). Nothing else is
# deleted until the end.
if compgen -G "$out*" > /dev/null; then
  echo "Removing the trees of an earlier run ..."
  rm -rf "$out" "$out"-*; sync; date +%s > "$work/removed-at"
fi
# The end of the last run removed its trees and noted when: wait until the window has passed since then.
if [ -f "$work/removed-at" ]; then
  left=$(( $(cat "$work/removed-at") + wait_recent - $(date +%s) ))
  if [ "$left" -gt 0 ]; then echo "Waiting $left s: trees were removed $(( wait_recent - left )) s ago (see the top of this script) ..."; sleep "$left"; fi
fi
need=$(( $(du -sb "$tree" | cut -f1) * 3 * rounds ))
avail=$(( $(df -B1 --output=avail "$work" | tail -1) ))
[ "$avail" -gt $(( need + need / 10 )) ] || { echo "$rounds rounds need $need bytes free in $work for the restored trees; $avail are"; exit 1; }
declare -a bb=() bbs=() bbc=() pg=() pgs=() pgc=() rs=() rss=() rsc=() fb=() fr=()
cpu() { python3 -c "import sys;u,s=open(sys.argv[1]).read().split()[:2];print(f'{float(u)+float(s):.2f}')" "$work/time.txt"; }
run_bb() {
  local out=$out-r$round-bb; mkdir -p "$out"; local t0 t1 t2; t0=$(now)
  /usr/bin/time -o "$work/time.txt" -f '%U %S' dotnet msbuild "$work/bench.proj" -t:Restore -p:RestoreTo="$out" -nologo -v:m -tl:off -nodeReuse:false \
    > "$work/last.log" 2>&1 || { cat "$work/last.log"; exit 1; }
  t1=$(now); sync; t2=$(now)
  [ "$(find "$out" -type f | wc -l)" = "$files" ] || { echo "BackupBuild restored $(find "$out" -type f | wc -l) files, not $files"; exit 1; }
  bb+=("$(elapsed $t0 $t1)"); bbs+=("$(elapsed $t0 $t2)"); bbc+=("$(cpu)")
}
run_pigz() {
  local out=$out-r$round-pigz; mkdir -p "$out"; local t0 t1 t2; t0=$(now)
  /usr/bin/time -o "$work/time.txt" -f '%U %S' tar -I pigz -xf "$archive" -C "$out"; t1=$(now); sync; t2=$(now)
  pg+=("$(elapsed $t0 $t1)"); pgs+=("$(elapsed $t0 $t2)"); pgc+=("$(cpu)")
}
run_restic() {
  local out=$out-r$round-restic; mkdir -p "$out"; local t0 t1 t2; t0=$(now)
  /usr/bin/time -o "$work/time.txt" -f '%U %S' restic restore -q latest --target "$out" > /dev/null; t1=$(now); sync; t2=$(now)
  rs+=("$(elapsed $t0 $t1)"); rss+=("$(elapsed $t0 $t2)"); rsc+=("$(cpu)")
}
run_find() {
  local t0 t1 t2
  t0=$(now); msbuild "$work/bench.proj" -t:Find -p:FindPattern="$name"; t1=$(now)
  grep -q "$name" "$work/last.log" || { echo "Find did not list $name"; cat "$work/last.log"; exit 1; }
  restic find -q "$name" > "$work/restic-find.log"; t2=$(now)
  grep -q "$name" "$work/restic-find.log" || { echo "restic find did not list $name"; exit 1; }
  fb+=("$(elapsed $t0 $t1)"); fr+=("$(elapsed $t1 $t2)")
}

steps=(run_bb run_pigz run_restic)
echo; echo "== $rounds alternating rounds (load before: $(cut -d' ' -f1-3 /proc/loadavg))"
for r in $(seq "$rounds"); do
  round=$r
  for i in 0 1 2; do "${steps[$(( (i + r) % 3 ))]}"; done
  run_find
  echo "round $r: BackupBuild ${bb[-1]} s (+sync ${bbs[-1]}, cpu ${bbc[-1]}), tar -I pigz -xf ${pg[-1]} s (+sync ${pgs[-1]}, cpu ${pgc[-1]}), restic restore ${rs[-1]} s (+sync ${rss[-1]}, cpu ${rsc[-1]}); Find ${fb[-1]} s, restic find ${fr[-1]} s (load $(load))"
done

b=$(median "${bb[@]}"); p=$(median "${pg[@]}"); s=$(median "${rs[@]}")
bS=$(median "${bbs[@]}"); pS=$(median "${pgs[@]}"); sS=$(median "${rss[@]}")
f=$(median "${fb[@]}"); fR=$(median "${fr[@]}")
echo
echo "medians of $rounds rounds [min-max]        command      command + sync   cpu (user+sys)"
echo "BackupBuild Restore (syncs itself)   ${b} s $(spread "${bb[@]}")   ${bS} s   $(median "${bbc[@]}") s"
echo "tar -I pigz -xf                      ${p} s $(spread "${pg[@]}")   ${pS} s   $(median "${pgc[@]}") s"
echo "restic restore                       ${s} s $(spread "${rs[@]}")   ${sS} s   $(median "${rsc[@]}") s"
echo "BackupBuild Find                     ${f} s $(spread "${fb[@]}")"
echo "restic find                          ${fR} s $(spread "${fr[@]}")"
echo "commands alone (BackupBuild syncs, the others do not): restore-vs-pigz $(ratio "$b" "$p")x, restore-vs-restic $(ratio "$b" "$s")x"
echo "cpu: restore-vs-pigz $(ratio "$(median "${bbc[@]}")" "$(median "${pgc[@]}")")x, restore-vs-restic $(ratio "$(median "${bbc[@]}")" "$(median "${rsc[@]}")")x"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
goal restore-vs-pigz "$bS" "$pS"
goal restore-vs-restic "$bS" "$sS"
goal find-vs-restic "$f" "$fR"
# The restored trees go now; the next run waits out the kernel's window from here (removed-at).
rm -rf "$out"-*; sync; date +%s > "$work/removed-at"
