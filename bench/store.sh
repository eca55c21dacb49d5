#!/usr/bin/env bash
# Store benchmark: BackupBuild's Store writing a staging day of about 600 MB onto a new ISO image, against
# `xorriso -as mkisofs -r` building an image of the same folder, in one run (median of 5 each, alternating, `sync` before each run
# so neither inherits the other's dirty pages);
# then a second day appended as a session, against xorriso appending the same folder with -dev stdio:.
# Usage: bench/store.sh [work-dir]   (default /var/tmp/bkp-bench-store; the staged data is kept for re-runs)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=${1:-/var/tmp/bkp-bench-store}
export MSBUILDDISABLENODEREUSE=1 DOTNET_CLI_USE_MSBUILD_SERVER=0 DOTNET_NOLOGO=1
mkdir -p "$work"

now() { date +%s.%N; }
elapsed() { python3 -c "print(f'{$2 - $1:.2f}')"; }
median() { python3 -c "import statistics,sys; print(f'{statistics.median(map(float, sys.argv[1:])):.2f}')" "$@"; }
ratio() { python3 -c "print(f'{$1 / $2:.2f}')"; }

# A staging day as Stage leaves it: one peer with four big archives (random bytes, like compressed tars)
# and a folder of 5,000 small files (bench/gentree.py), then cback.stage. About 600 MB.
stage_day() {  # $1 = YYYY/MM/DD, $2 = seed
  local day=$work/staging/$1
  [ -f "$day/cback.stage" ] && return
  mkdir -p "$day/master"
  for i in 1 2 3 4; do head -c $((120 * 1024 * 1024)) /dev/urandom > "$day/master/srv-data-$i.tar.gz"; done
  python3 "$repo/bench/gentree.py" "$day/master/small" 5000 > /dev/null
  : > "$day/master/cback.collect"; : > "$day/cback.stage"
}
stage_day 2026/11/23 1
stage_day 2026/11/24 2
rm -f "$work"/staging/2026/11/2[34]/cback.store # left by an earlier run
echo "Staging day: $(find "$work/staging/2026/11/23" -type f | wc -l) files, $(du -sb "$work/staging/2026/11/23" | cut -f1) bytes"
dotnet build "$repo/tasks/BackupBuild.Tasks.csproj" -c Release -nologo -v:q >/dev/null
dll=$repo/tasks/bin/Release/net8.0/BackupBuild.Tasks.dll
grep -m1 "model name" /proc/cpuinfo || true
echo "Cores: $(nproc); date: $(date -u +%F); $(xorriso -version 2>/dev/null | head -1)"

cat > "$work/backup.proj" <<XML
<Project>
  <PropertyGroup><BackupRoot>$work/</BackupRoot><BackupSkipTaskBuild>true</BackupSkipTaskBuild><BackupTasksAssembly>$dll</BackupTasksAssembly>
    <StoreMediaType>dvd+rw</StoreMediaType><StoreImageFile>$work/media/backup.iso</StoreImageFile></PropertyGroup>
  <Import Project="$repo/targets/BackupBuild.props" />
  <Import Project="$repo/targets/BackupBuild.targets" />
</Project>
XML
msbuild() { dotnet msbuild "$@" -nologo -v:m -tl:off -nodeReuse:false > "$work/last.log" 2>&1 || { cat "$work/last.log"; exit 1; }; }
tar cf - "$work/staging" > /dev/null # warm the page cache: both tools read from memory

echo; echo "== A new image of one staging day"
xo=(); bb=()
for run in 1 2 3 4 5; do
  rm -f "$work/xorriso.iso"; sync
  t0=$(now); xorriso -as mkisofs -r -graft-points -V "CEDAR BACKUP 23-NOV-2026" -o "$work/xorriso.iso" \
    "2026/11/23/=$work/staging/2026/11/23" 2> "$work/xorriso.log"; t1=$(now); xo+=("$(elapsed $t0 $t1)")
  rm -rf "$work/media" "$work/staging/2026/11/23/cback.store"; sync
  t0=$(now); msbuild "$work/backup.proj" -t:Store -p:BackupRunDate=2026-11-23T01:00; t1=$(now); bb+=("$(elapsed $t0 $t1)")
done
xo_t=$(median "${xo[@]}"); bb_t=$(median "${bb[@]}")
echo "xorriso -as mkisofs -r        ${xo_t} s  $(stat -c %s "$work/xorriso.iso") B   (runs: ${xo[*]})"
echo "BackupBuild -t:Store          ${bb_t} s  $(stat -c %s "$work/media/backup.iso") B   (runs: ${bb[*]}; MSBuild start-up included)"
echo "ratio                         $(ratio "$bb_t" "$xo_t")x"

echo; echo "== A second day appended as a session"
xa=(); ba=()
for run in 1 2 3 4 5; do
  cp "$work/media/backup.iso" "$work/base.iso"
  cp "$work/base.iso" "$work/xorriso-append.iso"; sync
  t0=$(now); xorriso -dev "stdio:$work/xorriso-append.iso" -volid "CEDAR BACKUP 24-NOV-2026" \
    -map "$work/staging/2026/11/24" /2026/11/24 -commit 2> "$work/xorriso.log"; t1=$(now); xa+=("$(elapsed $t0 $t1)")
  rm -f "$work/staging/2026/11/24/cback.store"; sync
  t0=$(now); msbuild "$work/backup.proj" -t:Store -p:BackupRunDate=2026-11-24T01:00; t1=$(now); ba+=("$(elapsed $t0 $t1)")
  grep -q "appending session 2" "$work/last.log" || { echo "expected an append"; cat "$work/last.log"; exit 1; }
  mv "$work/base.iso" "$work/media/backup.iso"
done
xa_t=$(median "${xa[@]}"); ba_t=$(median "${ba[@]}")
echo "xorriso -dev stdio: -map      ${xa_t} s   (runs: ${xa[*]})"
echo "BackupBuild -t:Store (append) ${ba_t} s   (runs: ${ba[*]})"
echo "ratio                         $(ratio "$ba_t" "$xa_t")x"
bsdtar -tf "$work/xorriso-append.iso" > /dev/null
