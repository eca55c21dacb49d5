#!/usr/bin/env bash
# Stage benchmark: BackupBuild stages about 1 GiB from a remote peer over loopback SSH, against
# plain `rsync -a -e ssh` of the same folder, both through a real sshd started here on 127.0.0.1.
# Usage: bench/stage.sh [work-dir]   (default /var/tmp/bkp-bench-stage)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=${1:-/var/tmp/bkp-bench-stage}
export MSBUILDDISABLENODEREUSE=1 DOTNET_CLI_USE_MSBUILD_SERVER=0 DOTNET_NOLOGO=1
now() { date +%s.%N; }
elapsed() { python3 -c "print(f'{$2 - $1:.2f}')"; }

mkdir -p "$work/ssh"
collect=$work/peer/collect
if [ ! -f "$collect/cback.collect" ]; then
  echo "Generating 1 GiB in $collect ..."
  mkdir -p "$collect"
  for i in 1 2 3 4; do head -c 256M /dev/urandom > "$collect/srv-data-$i.tar.gz"; done
  : > "$collect/cback.collect"
fi
cd "$work/ssh"
[ -f host ] || ssh-keygen -q -t ed25519 -N '' -f host
[ -f client ] || ssh-keygen -q -t ed25519 -N '' -f client
cp client.pub authorized_keys
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > sshd_config <<CFG
Port $port
ListenAddress 127.0.0.1
HostKey $work/ssh/host
AuthorizedKeysFile $work/ssh/authorized_keys
PermitRootLogin yes
StrictModes no
UsePAM no
PasswordAuthentication no
PidFile none
CFG
echo "[127.0.0.1]:$port $(cut -d' ' -f1,2 host.pub)" > known_hosts
mkdir -p /run/sshd
/usr/sbin/sshd -D -e -f "$work/ssh/sshd_config" 2> "$work/ssh/sshd.log" &
sshd_pid=$!
trap 'kill $sshd_pid 2>/dev/null || true' EXIT
sleep 1

dotnet build "$repo/tasks/BackupBuild.Tasks.csproj" -c Release -nologo -v:q >/dev/null
dll=$repo/tasks/bin/Release/net8.0/BackupBuild.Tasks.dll
cat > "$work/stage.proj" <<XML
<Project>
  <PropertyGroup><BackupRoot>$work/master/</BackupRoot><BackupSkipTaskBuild>true</BackupSkipTaskBuild><BackupTasksAssembly>$dll</BackupTasksAssembly></PropertyGroup>
  <Import Project="$repo/targets/BackupBuild.props" />
  <ItemGroup>
    <Peer Include="peer" Type="remote" Host="127.0.0.1" Port="$port" User="root" IdentityFile="$work/ssh/client"
          KnownHostsFile="$work/ssh/known_hosts" CollectDir="$collect" />
  </ItemGroup>
  <Import Project="$repo/targets/BackupBuild.targets" />
</Project>
XML
ssh_cmd="ssh -p $port -i $work/ssh/client -o IdentitiesOnly=yes -o UserKnownHostsFile=$work/ssh/known_hosts -o BatchMode=yes"
grep -m1 "model name" /proc/cpuinfo || true
echo "Cores: $(nproc); date: $(date -u +%F); data: $(du -sb "$collect" | cut -f1) bytes in $(ls "$collect" | wc -l) files"
cat "$collect"/* > /dev/null   # warm the page cache

run_rsync() {
  rm -rf "$work/rsync-dest"; sync
  t0=$(now); rsync -a -e "$ssh_cmd" "root@127.0.0.1:$collect/" "$work/rsync-dest/"; t1=$(now); r=$(elapsed $t0 $t1)
}
run_stage() {
  rm -rf "$work/master"; rm -f "$collect/cback.stage"; sync
  t0=$(now); dotnet msbuild "$work/stage.proj" -t:Stage -nologo -v:m -tl:off -p:BackupRunDate=2026-11-24T02:00 > "$work/stage.log" || { cat "$work/stage.log"; exit 1; }; t1=$(now); b=$(elapsed $t0 $t1)
}
# Alternate the order and flush writes in between, so neither pays for the other's dirty pages.
rs=(); bs=()
for round in 1 2 3 4 5 6; do
  if [ $((round % 2)) -eq 1 ]; then run_rsync; run_stage; else run_stage; run_rsync; fi
  rs+=("$r"); bs+=("$b")
  echo "round $round: rsync -a -e ssh ${r} s   BackupBuild Stage ${b} s   ratio $(python3 -c "print(f'{$b / $r:.2f}')")"
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print (a[int((NR+1)/2)] + a[int(NR/2)+1]) / 2}'; }
mr=$(median "${rs[@]}"); mb=$(median "${bs[@]}")
echo "median: rsync -a -e ssh ${mr} s, BackupBuild Stage ${mb} s (MSBuild start-up included): ratio $(python3 -c "print(f'{$mb / $mr:.2f}')")"
t0=$(now); dotnet msbuild "$work/stage.proj" -t:Stage -nologo -v:m -tl:off -p:BackupRunDate=2026-11-24T03:00 > "$work/stage.log"; t1=$(now)
echo "Stage again, peer unchanged: $(elapsed $t0 $t1) s ($(grep -o 'skipped, unchanged since staged' "$work/stage.log" | head -1))"
