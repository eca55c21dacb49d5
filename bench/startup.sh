#!/usr/bin/env bash
# Start-up benchmark (docs/benchmarks.md, "Start-up"): what a run costs when nothing or little is to be done, with the
# prebuilt task assembly and no build step, through BackupBuild.Sdk as a site uses it (packed here into a folder feed)
# and from the checkout's targets with the same prebuilt assembly (-p:BackupSkipTaskBuild=true).
#   1. a no-change incremental Collect of bench/collect.sh's tree on a new day, against a `find` stat walk, with MSBuild's
#      own start-up taken out: (Collect - empty) / find                             goal <= 2.0
#      Measured both ways. Through the package, MSBuild's start-up is an empty project on an empty project SDK from the
#      same folder feed (`<Project Sdk="BackupBuild.Bench.EmptySdk/1.0.0">`): MSBuild's SDK resolvers (the .NET SDK's
#      workload resolver reads every workload manifest, then NuGet's resolver finds the package) run before any file of
#      the SDK is read and cost every project SDK the same. From the checkout (the same prebuilt assembly, no SDK) it is
#      the empty project. GOAL A is met when both are.
#   2. an up-to-date `-t:All` of the embedded default (backup.proj, peers/this-machine.props, sample/) run again on the
#      same day, against an empty `dotnet msbuild` project: All / empty             goal <= 1.3
#      Measured both ways: the embedded default itself (this checkout's backup.proj, its imports by path, with the prebuilt
#      assembly: the goal's project, GOAL B) and the same peers and sample as a site repository on the package (the SDK
#      resolver included: printed beside it, docs/benchmarks.md says why the goal is the first).
# Every figure is the median of ROUNDS (default 11) alternating rounds: the machines these run on are shared. The CPU
# time (user + sys, /usr/bin/time from the Debian package time) of each command is printed beside its wall time; the
# last lines, GOAL A (through the package) and GOAL B (the embedded default), are the two ratios above (wall-clock) and
# whether each is met.
# Usage: bench/startup.sh [work-dir]   (default /var/tmp/bkp-bench; the tree is kept for re-runs)
#        PROFILE=1 bench/startup.sh     also writes MSBuild's performance summary of one run of each to work-dir/perf-*.log
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=${1:-/var/tmp/bkp-bench}
tree=$work/tree
files=${BENCH_FILES:-50000}
treeid="$files files, gentree 2"
rounds=${ROUNDS:-11}
export MSBUILDDISABLENODEREUSE=1 DOTNET_CLI_USE_MSBUILD_SERVER=0 DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1
mkdir -p "$work"

now() { date +%s.%N; }
elapsed() { python3 -c "print(f'{$2 - $1:.3f}')"; }
median() { python3 -c "import statistics,sys;print(f'{statistics.median(map(float,sys.argv[1:])):.3f}')" "$@"; }
spread() { python3 -c "import sys;v=sorted(map(float,sys.argv[1:]));print(f'[{v[len(v)//4]:.2f}-{v[(3*len(v))//4]:.2f}]')" "$@"; }

if [ ! -f "$tree.done" ] || [ "$(cat "$tree.done")" != "$treeid" ]; then
  echo "Generating $files files under $tree ..."
  rm -rf "$tree"; python3 "$repo/bench/gentree.py" "$tree" "$files"; echo "$treeid" > "$tree.done"
fi
grep -m1 "model name" /proc/cpuinfo || true
echo "Cores: $(nproc); date: $(date -u +%F); tree: $(find "$tree" -type f | wc -l) files; load: $(cut -d' ' -f1-3 /proc/loadavg)"

# The package, as a site gets it: a folder feed with a version of its own, restored into a package folder of its own.
version=0.0.0-bench.$(date -u +%Y%m%d%H%M%S)
rm -rf "$work/feed" "$work/packages" "$work/su"
dotnet pack "$repo/sdk" -o "$work/feed" -p:Version="$version" -nologo -v:q -nodeReuse:false > "$work/pack.log" 2>&1 \
  || { cat "$work/pack.log"; exit 1; }
export NUGET_PACKAGES=$work/packages
dll=$repo/sdk/obj/backup-tasks/BackupBuild.Tasks.dll   # the same ReadyToRun builds the package holds and Sdk.props picks:
logger=$repo/sdk/obj/backup-logger/BackupBuild.Logging.dll
if [ "$(dotnet --version | cut -d. -f1)" -ge 10 ]; then   # under .NET 10
  dll=$repo/sdk/obj/backup-tasks-net10.0/BackupBuild.Tasks.dll
  [ -f "$repo/sdk/obj/backup-logger-net10.0/BackupBuild.Logging.dll" ] && logger=$repo/sdk/obj/backup-logger-net10.0/BackupBuild.Logging.dll
fi
# An empty project SDK in the same feed: what MSBuild's SDK resolution costs a project before any SDK file is read.
python3 - "$work/feed/backupbuild.bench.emptysdk.1.0.0.nupkg" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w") as z:
    z.writestr("BackupBuild.Bench.EmptySdk.nuspec", '<?xml version="1.0"?><package><metadata><id>BackupBuild.Bench.EmptySdk</id>'
               '<version>1.0.0</version><authors>bench</authors><description>An empty MSBuild project SDK (bench/startup.sh).</description>'
               '<packageTypes><packageType name="MSBuildSdk" /></packageTypes></metadata></package>')
    z.writestr("Sdk/Sdk.props", "<Project />\n"); z.writestr("Sdk/Sdk.targets", "<Project />\n")
PY
site() {  # $1 = folder: a site repository on the package
  mkdir -p "$1/peers"
  printf '<configuration><packageSources><clear /><add key="bench" value="%s" /></packageSources></configuration>\n' "$work/feed" > "$1/nuget.config"
}

# 1. The stat-walk project: the tree as one incremental CollectDirectory (tar: the baseline's compression is not measured).
site "$work/su/collect"
cat > "$work/su/collect/backup.proj" <<XML
<Project Sdk="BackupBuild.Sdk/$version">
  <PropertyGroup><BackupRoot>$work/su/collect/var/</BackupRoot><BackupLog>false</BackupLog>
    <!-- No master stages this collect dir: an incr archive holds the day's changes only (docs/actions/collect.md). -->
    <CollectCarryUnstaged>false</CollectCarryUnstaged></PropertyGroup>
  <ItemGroup><CollectDirectory Include="$tree" CollectMode="incr" ArchiveMode="tar" /></ItemGroup>
</Project>
XML
mkdir -p "$work/su/source"
cat > "$work/su/source/backup.proj" <<XML
<Project>
  <PropertyGroup><BackupRoot>$work/su/source/var/</BackupRoot><BackupLog>false</BackupLog><CollectCarryUnstaged>false</CollectCarryUnstaged>
    <BackupSkipTaskBuild>true</BackupSkipTaskBuild><BackupTasksAssembly>$dll</BackupTasksAssembly><BackupRunLoggerAssembly>$logger</BackupRunLoggerAssembly></PropertyGroup>
  <Import Project="$repo/targets/BackupBuild.props" />
  <ItemGroup><CollectDirectory Include="$tree" CollectMode="incr" ArchiveMode="tar" /></ItemGroup>
  <Import Project="$repo/targets/BackupBuild.targets" />
</Project>
XML
# 2. The embedded default as a site repository: the checkout's peers/ and sample/, BackupRoot var/ beside it.
site "$work/su/all"
cp -r "$repo/peers" "$repo/sample" "$work/su/all/"
cat > "$work/su/all/backup.proj" <<XML
<Project Sdk="BackupBuild.Sdk/$version">
  <PropertyGroup><BackupRoot>\$(MSBuildThisFileDirectory)var/</BackupRoot></PropertyGroup>
</Project>
XML
# 2'. The embedded default itself: this checkout's backup.proj word for word but for its imports, which name the checkout's
# targets/ by path (a copy, so that the run's var/, logs/ and Directory.Build.rsp stay out of the checkout), with the prebuilt
# assembly and no build step (global properties, as a developer passes them).
mkdir -p "$work/su/embedded"
cp -r "$repo/peers" "$repo/sample" "$work/su/embedded/"
sed "s#Project=\"targets/#Project=\"$repo/targets/#" "$repo/backup.proj" > "$work/su/embedded/backup.proj"
grep -q "$repo/targets/BackupBuild.targets" "$work/su/embedded/backup.proj" || { echo "backup.proj does not import targets/BackupBuild.targets"; exit 1; }
embedded=(-p:BackupSkipTaskBuild=true -p:BackupTasksAssembly="$dll" -p:BackupRunLoggerAssembly="$logger")
mkdir -p "$work/su/empty"
echo '<Project><Target Name="Collect" /></Project>' > "$work/su/empty/empty.proj"
site "$work/su/emptysdk"
echo '<Project Sdk="BackupBuild.Bench.EmptySdk/1.0.0"><Target Name="Collect" /></Project>' > "$work/su/emptysdk/empty.proj"

run() { dotnet msbuild "$@" -nologo -v:m -tl:off -nodeReuse:false > "$work/last.log" 2>&1 || { cat "$work/last.log"; exit 1; }; }
# Wall seconds on stdout; the run's CPU seconds (user + sys of the process and the children it waited for, /usr/bin/time)
# appended to $work/cpu. `timed run ARGS` times `dotnet msbuild ARGS` as run() runs it.
timed() {
  local t0 t1
  t0=$(now)
  if [ "$1" = run ]; then
    shift
    /usr/bin/time -f '%U %S' -o "$work/time.out" dotnet msbuild "$@" -nologo -v:m -tl:off -nodeReuse:false > "$work/last.log" 2>&1 \
      || { cat "$work/last.log" >&2; exit 1; }
  else
    /usr/bin/time -f '%U %S' -o "$work/time.out" "$@"
  fi
  t1=$(now)
  python3 -c "import sys;u,s=open(sys.argv[1]).read().split()[-2:];print(f'{float(u)+float(s):.3f}')" "$work/time.out" >> "$work/cpu"
  elapsed "$t0" "$t1"
}
cpu_last() { tail -n 1 "$work/cpu"; }

# New days for the no-change runs: consecutive days after the baseline's Monday, never a Monday (the starting day
# collects in full), each used once.
mapfile -t days < <(python3 -c "
import datetime
d=datetime.date(2026,11,23); n=0
while n < $rounds + 2:
    d+=datetime.timedelta(days=1)
    if d.weekday()!=0: print(d.isoformat()); n+=1")

echo "Baselines (a full incremental collect on Monday 2026-11-23; the embedded default's first two runs) ..."
tar cf - "$tree" > /dev/null   # warm the page cache
run "$work/su/emptysdk/empty.proj" -t:Collect
run "$work/su/collect/backup.proj" -t:Collect -p:BackupRunDate=2026-11-23T01:00
run "$work/su/source/backup.proj" -t:Collect -p:BackupRunDate=2026-11-23T01:00
run "$work/su/all/backup.proj" -t:All -p:BackupRunDate=2026-11-24
run "$work/su/all/backup.proj" -t:All -p:BackupRunDate=2026-11-24
run "$work/su/embedded/backup.proj" -t:All -p:BackupRunDate=2026-11-24 "${embedded[@]}"
run "$work/su/embedded/backup.proj" -t:All -p:BackupRunDate=2026-11-24 "${embedded[@]}"

find_t=(); empty_t=(); pkg_t=(); src_t=(); all_t=(); emb_t=(); empty2_t=(); esdk_t=()
find_c=(); empty_c=(); pkg_c=(); src_c=(); all_c=(); emb_c=(); esdk_c=()
: > "$work/cpu"
for r in $(seq "$rounds"); do
  day=${days[$r]}
  find_t+=("$(timed sh -c "find '$tree' -type f -printf '%s %T@\n' > /dev/null")"); find_c+=("$(cpu_last)")
  empty_t+=("$(timed run "$work/su/empty/empty.proj" -t:Collect)"); empty_c+=("$(cpu_last)")
  esdk_t+=("$(timed run "$work/su/emptysdk/empty.proj" -t:Collect)"); esdk_c+=("$(cpu_last)")
  pkg_t+=("$(timed run "$work/su/collect/backup.proj" -t:Collect -p:BackupRunDate="$day")"); pkg_c+=("$(cpu_last)")
  grep -q "no changes since the baseline" "$work/last.log" || { echo "expected a no-change run on $day"; cat "$work/last.log"; exit 1; }
  src_t+=("$(timed run "$work/su/source/backup.proj" -t:Collect -p:BackupRunDate="$day")"); src_c+=("$(cpu_last)")
  grep -q "no changes since the baseline" "$work/last.log" || { echo "expected a no-change run on $day"; cat "$work/last.log"; exit 1; }
  empty2_t+=("$(timed run "$work/su/empty/empty.proj" -t:Collect)"); empty_c+=("$(cpu_last)")
  # The two All runs alternate which goes first.
  if [ $((r % 2)) = 1 ]; then
    emb_t+=("$(timed run "$work/su/embedded/backup.proj" -t:All -p:BackupRunDate=2026-11-24 "${embedded[@]}")"); emb_c+=("$(cpu_last)")
    grep -q "nothing changed since the last collect" "$work/last.log" || { echo "expected an up-to-date All"; cat "$work/last.log"; exit 1; }
  fi
  all_t+=("$(timed run "$work/su/all/backup.proj" -t:All -p:BackupRunDate=2026-11-24)"); all_c+=("$(cpu_last)")
  grep -q "nothing changed since the last collect" "$work/last.log" || { echo "expected an up-to-date All"; cat "$work/last.log"; exit 1; }
  if [ $((r % 2)) = 0 ]; then
    emb_t+=("$(timed run "$work/su/embedded/backup.proj" -t:All -p:BackupRunDate=2026-11-24 "${embedded[@]}")"); emb_c+=("$(cpu_last)")
    grep -q "nothing changed since the last collect" "$work/last.log" || { echo "expected an up-to-date All"; cat "$work/last.log"; exit 1; }
  fi
  echo "round $r ($day): find ${find_t[-1]}  empty ${empty_t[-1]}  empty SDK ${esdk_t[-1]}  Collect package ${pkg_t[-1]}  source ${src_t[-1]}  | empty ${empty2_t[-1]}  All embedded ${emb_t[-1]}  package ${all_t[-1]}  (load $(cut -d' ' -f1 /proc/loadavg))"
done

f=$(median "${find_t[@]}"); e=$(median "${empty_t[@]}" "${empty2_t[@]}")
es=$(median "${esdk_t[@]}"); p=$(median "${pkg_t[@]}"); s=$(median "${src_t[@]}"); a=$(median "${all_t[@]}"); m=$(median "${emb_t[@]}")
ratio() { python3 -c "print(f'{$1:.2f}')"; }
goal_a=$(ratio "($p - $es) / $f"); goal_a_src=$(ratio "($s - $e) / $f"); goal_b=$(ratio "$m / $e")
verdict() { python3 -c "print('met' if $1 <= $2 else 'NOT met')"; }
echo
echo "Medians of $rounds alternating rounds (interquartile ranges in brackets; cpu = user + sys of the whole process):"
echo "find stat walk                      $f s $(spread "${find_t[@]}")  cpu $(median "${find_c[@]}") s"
echo "empty dotnet msbuild project        $e s $(spread "${empty_t[@]}" "${empty2_t[@]}")  cpu $(median "${empty_c[@]}") s"
echo "empty project on an empty SDK       $es s $(spread "${esdk_t[@]}")  cpu $(median "${esdk_c[@]}") s  (MSBuild's SDK resolution: +$(python3 -c "print(f'{$es - $e:.3f}')") s)"
echo "no-change Collect, new day, package $p s $(spread "${pkg_t[@]}")  cpu $(median "${pkg_c[@]}") s"
echo "no-change Collect, new day, source  $s s $(spread "${src_t[@]}")  cpu $(median "${src_c[@]}") s  -> $(ratio "($s - $e) / $f")x the stat walk from the checkout"
echo "up-to-date -t:All, embedded default $m s $(spread "${emb_t[@]}")  cpu $(median "${emb_c[@]}") s  (the checkout's backup.proj, prebuilt assembly)"
echo "up-to-date -t:All, package          $a s $(spread "${all_t[@]}")  cpu $(median "${all_c[@]}") s  -> $(ratio "$a / $e")x an empty project (site repository on the package)"
echo
echo "The two goals of issue 17 point 8 (wall-clock medians, load at the end: $(cut -d' ' -f1-3 /proc/loadavg)):"
echo "  A: (no-change Collect, new day - MSBuild's start-up) / find stat walk, through the package (start-up: an empty"
echo "     project on an empty project SDK from the same feed) and from the checkout (start-up: an empty project)"
echo "  B: up-to-date -t:All of the embedded default (this checkout's backup.proj, prebuilt assembly) / empty project"
echo "GOAL A: ${goal_a}x through the package, ${goal_a_src}x from the checkout (goal <= 2.0) $(python3 -c "print('met' if max($goal_a, $goal_a_src) <= 2.0 else 'NOT met')")"
echo "GOAL B: ${goal_b}x (goal <= 1.3) $(verdict "$goal_b" 1.3)"
echo "A through the package against an empty project without SDK (SDK resolution counted as ours): $(ratio "($p - $e) / $f")x"
echo "B through the package (not the goal's project): $(ratio "$a / $e")x an empty project, $(ratio "$a / $es")x an empty project on an empty SDK"
# The same ratios in CPU time (user + sys), which a loaded machine disturbs less than the wall clock (not the goals).
ec=$(median "${empty_c[@]}")
echo "(cpu: A $(ratio "($(median "${pkg_c[@]}") - $(median "${esdk_c[@]}")) / $(median "${find_c[@]}")")x through the package, $(ratio "($(median "${src_c[@]}") - $ec) / $(median "${find_c[@]}")")x from the checkout, B $(ratio "$(median "${emb_c[@]}") / $ec")x, B through the package $(ratio "$(median "${all_c[@]}") / $ec")x)"

if [ -n "${PROFILE:-}" ]; then
  d=${days[$((rounds + 1))]}
  dotnet msbuild "$work/su/collect/backup.proj" -t:Collect -p:BackupRunDate="$d" -nologo -tl:off -nodeReuse:false -v:m -clp:PerformanceSummary > "$work/perf-collect.log" 2>&1
  dotnet msbuild "$work/su/embedded/backup.proj" -t:All -p:BackupRunDate=2026-11-24 "${embedded[@]}" -nologo -tl:off -nodeReuse:false -v:m -clp:PerformanceSummary > "$work/perf-embedded.log" 2>&1
  dotnet msbuild "$work/su/all/backup.proj" -t:All -p:BackupRunDate=2026-11-24 -nologo -tl:off -nodeReuse:false -v:m -clp:PerformanceSummary > "$work/perf-all.log" 2>&1
  echo "performance summaries: $work/perf-collect.log, $work/perf-embedded.log, $work/perf-all.log"
fi
