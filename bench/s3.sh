#!/usr/bin/env bash
# S3 benchmark: upload and restore of one staged day to a local single-node Ceph RADOS Gateway (started here,
# everything under the work folder) with BackupBuild (-t:UploadStagedDayToS3, then -t:Restore from S3 alone)
# against rclone (Debian's rclone: `rclone sync` of the same day folder up, `rclone copy` down). Prints the times
# and the ratios. rclone only moves bytes; BackupBuild's restore also reads the tar archives back and extracts them.
# Usage: bench/s3.sh [work-dir]   (default /var/tmp/bkp-bench-s3)
#        BENCH_MB=400 bench/s3.sh  size of the day in MiB (default 256)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=${1:-/var/tmp/bkp-bench-s3}
mb=${BENCH_MB:-256}
export MSBUILDDISABLENODEREUSE=1 DOTNET_CLI_USE_MSBUILD_SERVER=0 DOTNET_NOLOGO=1
for p in ceph-mon ceph-osd radosgw radosgw-admin ceph ceph-authtool monmaptool rclone; do
  command -v "$p" >/dev/null || { echo "bench/s3.sh: $p is missing (apt-get install ceph-mon ceph-osd radosgw ceph-common rclone)"; exit 1; }
done
rm -rf "$work"; mkdir -p "$work"
now() { date +%s.%N; }
elapsed() { python3 -c "print(f'{$2 - $1:.2f}')"; }
ratio() { python3 -c "print(f'{$1 / $2:.2f}')"; }
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# ----- a single-node Ceph cluster with RGW under $work/ceph (as tests/BackupBuild.Tests/Support/CephRgw.cs) -----
D=$work/ceph; MP=$(port); RP=$(port)
mkdir -p "$D"/{mon,osd/0,run,log,rgw,crash,tmp}
fsid=$(cat /proc/sys/kernel/random/uuid)
cat > "$D/ceph.conf" <<C
[global]
fsid = $fsid
mon host = v2:127.0.0.1:$MP
public network = 127.0.0.1/32
ms bind msgr1 = false
keyring = $D/keyring
admin socket = $D/run/\$name.asok
pid file = $D/run/\$name.pid
run dir = $D/run
crash dir = $D/crash
tmp dir = $D/tmp
log file = $D/log/\$name.log
mon cluster log file = $D/log/cluster.log
log to stderr = false
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd crush chooseleaf type = 0
mon allow pool size one = true
mon warn on pool no redundancy = false
mon data avail warn = 1
mon data avail crit = 0
paxos propose interval = 0.05
[mon]
mon data = $D/mon/\$name
[osd]
osd data = $D/osd/\$id
osd objectstore = memstore
memstore device bytes = 8589934592
[client.rgw.a]
rgw data = $D/rgw
rgw frontends = beast endpoint=127.0.0.1:$RP
C
C="-c $D/ceph.conf"
pids=()
stop() {  # radosgw before the OSD, the OSD before the monitor
  for ((i=${#pids[@]}-1; i>=0; i--)); do kill "${pids[i]}" 2>/dev/null || true; wait "${pids[i]}" 2>/dev/null || true; done
}
trap stop EXIT
ceph-authtool $C --create-keyring "$D/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
ceph-authtool $C "$D/keyring" --gen-key -n client.admin --cap mon 'allow *' --cap osd 'allow *' --cap mgr 'allow *' >/dev/null
ceph-authtool $C "$D/keyring" --gen-key -n osd.0 --cap mon 'allow profile osd' --cap osd 'allow *' >/dev/null
ceph-authtool $C "$D/keyring" --gen-key -n client.rgw.a --cap mon 'allow rw' --cap osd 'allow rwx' >/dev/null
monmaptool $C --create --fsid "$fsid" --addv a "[v2:127.0.0.1:$MP]" "$D/monmap" >/dev/null
ceph-mon $C --mkfs -i a --monmap "$D/monmap" --keyring "$D/keyring"
ceph-mon $C -i a -f >/dev/null 2>&1 & pids+=($!)
uuid=$(cat /proc/sys/kernel/random/uuid)
ceph $C --connect-timeout 60 osd new "$uuid" 0 >/dev/null
ceph-osd $C -i 0 --mkfs --osd-uuid "$uuid" >/dev/null 2>&1
ceph-osd $C -i 0 -f >/dev/null 2>&1 & pids+=($!)
radosgw $C -n client.rgw.a -f >/dev/null 2>&1 & pids+=($!)
export AWS_ACCESS_KEY_ID=BENCHACCESSKEY AWS_SECRET_ACCESS_KEY=bench-secret-key
radosgw-admin $C user create --uid bench --display-name bench --access-key "$AWS_ACCESS_KEY_ID" --secret-key "$AWS_SECRET_ACCESS_KEY" >/dev/null
endpoint=http://127.0.0.1:$RP
cat > "$work/rclone.conf" <<R
[rgw]
type = s3
provider = Ceph
env_auth = true
endpoint = $endpoint
R
# (an AWS_CA_BUNDLE in the environment makes rclone's S3 backend fail on a plain-HTTP endpoint)
rc() { env -u AWS_CA_BUNDLE rclone --config "$work/rclone.conf" "$@"; }
for i in $(seq 1 60); do rc mkdir rgw:backupbuild 2>/dev/null && break; [ "$i" -lt 60 ] || { echo "the gateway never answered"; exit 1; }; sleep 1; done
rc mkdir rgw:rclone

# ----- the day: BackupBuild collects $mb MiB (8 folders of random data, one tar archive each) and stages it -----
mkdir -p "$work/src"
for i in $(seq 0 7); do mkdir -p "$work/src/d$i"; head -c $((mb * 1024 * 1024 / 8)) /dev/urandom > "$work/src/d$i/data.bin"; done
dotnet build "$repo/tasks/BackupBuild.Tasks.csproj" -c Release -nologo -v:q >/dev/null
dll=$repo/tasks/bin/Release/net8.0/BackupBuild.Tasks.dll
cat > "$work/backup.proj" <<XML
<Project>
  <PropertyGroup><BackupRoot>$work/var/</BackupRoot><BackupSkipTaskBuild>true</BackupSkipTaskBuild><BackupTasksAssembly>$dll</BackupTasksAssembly>
    <S3Endpoint>$endpoint</S3Endpoint><BackupPeer>bench</BackupPeer></PropertyGroup>
  <Import Project="$repo/targets/BackupBuild.props" />
  <ItemGroup>
    <Peer Include="bench" Type="local" CollectDir="$work/var/collect" />
    <CollectDirectory Include="$work/src" CollectMode="daily" ArchiveMode="tar" RecursionLevel="1" />
  </ItemGroup>
  <Import Project="$repo/targets/BackupBuild.targets" />
</Project>
XML
msbuild() { dotnet msbuild -nologo -v:m -nodeReuse:false "$@" >> "$work/msbuild.log"; }
msbuild "$work/backup.proj" -t:Collect\;Stage -p:BackupRunDate=2026-12-04T01:00
day=$work/var/staging/2026/12/04
cat /proc/cpuinfo | grep -m1 "model name" || true
echo "Cores: $(nproc); load: $(cut -d' ' -f1-3 /proc/loadavg); date: $(date -u +%F)"
echo "Day: $(find "$day" -type f ! -name 'cback.*' | wc -l) files, $(du -sb --exclude='cback.*' "$day" | cut -f1) bytes"

# ----- upload -----
t0=$(now); msbuild "$work/backup.proj" -t:UploadStagedDayToS3 -p:S3Bucket=backupbuild -p:BackupRunDate=2026-12-04T01:00; t1=$(now)
bb_up=$(elapsed $t0 $t1)
t0=$(now); rc sync --exclude 'cback.*' "$day" rgw:rclone/2026/12/04; t1=$(now)
rc_up=$(elapsed $t0 $t1)

# ----- restore (from S3 alone: staging moved away) -----
mv "$work/var/staging" "$work/staging.away"
t0=$(now); msbuild "$work/backup.proj" -t:Restore -p:S3Bucket=backupbuild -p:RestoreDate=2026-12-04 -p:RestoreTo="$work/restored"; t1=$(now)
bb_down=$(elapsed $t0 $t1)
t0=$(now); rc copy rgw:rclone/2026/12/04 "$work/rclone-restored"; t1=$(now)
rc_down=$(elapsed $t0 $t1)
cmp -s "$work/restored$work/src/d0/data.bin" "$work/src/d0/data.bin" || { echo "restored data differs"; exit 1; }

echo "upload:  BackupBuild $bb_up s, rclone sync $rc_up s, ratio $(ratio "$bb_up" "$rc_up")"
echo "restore: BackupBuild $bb_down s (download, check and extract), rclone copy $rc_down s (download), ratio $(ratio "$bb_down" "$rc_down")"
