#!/usr/bin/env bash
# Pool benchmark: a master stages 30 remote peers at once. 30 sshd instances listen on their own
# loopback addresses (127.0.0.11 … 127.0.0.40, port 22), each peer with about 10 MB in its collect
# dir. BackupBuild's Stage (StageParallelism peers at a time) against what an administrator would
# script instead: `rsync -a -e ssh` of each peer's collect dir, 4 at a time (xargs -P 4).
# Usage: bench/pool.sh [work-dir]   (default /var/tmp/bkp-bench-pool)
#        PEERS=30 ROUNDS=5 PARALLEL=4 bench/pool.sh
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=${1:-/var/tmp/bkp-bench-pool}
peers=${PEERS:-30}; rounds=${ROUNDS:-5}; parallel=${PARALLEL:-4}
export MSBUILDDISABLENODEREUSE=1 DOTNET_CLI_USE_MSBUILD_SERVER=0 DOTNET_NOLOGO=1
now() { date +%s.%N; }
elapsed() { python3 -c "print(f'{$2 - $1:.2f}')"; }
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print (a[int((NR+1)/2)] + a[int(NR/2)+1]) / 2}'; }

mkdir -p "$work/ssh" /run/sshd
cd "$work/ssh"
[ -f host ] || ssh-keygen -q -t ed25519 -N '' -f host
[ -f client ] || ssh-keygen -q -t ed25519 -N '' -f client
cp client.pub authorized_keys
: > known_hosts
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
items=""
for i in $(seq 1 "$peers"); do
  addr=127.0.0.$((10 + i)); name=$(printf 'peer%02d' "$i"); collect=$work/peers/$name/collect
  if [ ! -f "$collect/cback.collect" ]; then
    mkdir -p "$collect"
    head -c 6M /dev/urandom > "$collect/$name-srv-data.tar.gz"
    head -c 3M /dev/urandom > "$collect/$name-etc.tar.gz"
    head -c 1M /dev/urandom > "$collect/$name-home.tar.gz"
    : > "$collect/cback.collect"
  fi
  cat > "sshd_$name" <<CFG
Port 22
ListenAddress $addr
HostKey $work/ssh/host
AuthorizedKeysFile $work/ssh/authorized_keys
PermitRootLogin yes
StrictModes no
UsePAM no
PasswordAuthentication no
PidFile none
MaxStartups 100
CFG
  echo "$addr $(cut -d' ' -f1,2 host.pub)" >> known_hosts
  /usr/sbin/sshd -D -e -f "$work/ssh/sshd_$name" 2> "$work/ssh/sshd_$name.log" &
  pids+=($!)
  items+="    <Peer Include=\"$name\" Type=\"remote\" Host=\"$addr\" User=\"root\" IdentityFile=\"$work/ssh/client\" KnownHostsFile=\"$work/ssh/known_hosts\" CollectDir=\"$collect\" />
"
done
sleep 2

dotnet build "$repo/tasks/BackupBuild.Tasks.csproj" -c Release -nologo -v:q >/dev/null
dll=$repo/tasks/bin/Release/net8.0/BackupBuild.Tasks.dll
cat > "$work/pool.proj" <<XML
<Project>
  <PropertyGroup><BackupRoot>$work/master/</BackupRoot><BackupSkipTaskBuild>true</BackupSkipTaskBuild><BackupTasksAssembly>$dll</BackupTasksAssembly>
    <BackupLog>false</BackupLog></PropertyGroup>
  <Import Project="$repo/targets/BackupBuild.props" />
  <ItemGroup>
$items  </ItemGroup>
  <Import Project="$repo/targets/BackupBuild.targets" />
</Project>
XML
ssh_cmd="ssh -i $work/ssh/client -o IdentitiesOnly=yes -o UserKnownHostsFile=$work/ssh/known_hosts -o BatchMode=yes"
grep -m1 "model name" /proc/cpuinfo || true
echo "Cores: $(nproc); date: $(date -u +%F); $peers peers, $(du -sb "$work/peers" | cut -f1) bytes; rsync and Stage $parallel peers at a time"
cat "$work"/peers/*/collect/* > /dev/null   # warm the page cache

run_rsync() {
  rm -rf "$work/rsync-dest"; mkdir -p "$work/rsync-dest"; sync
  t0=$(now)
  for i in $(seq 1 "$peers"); do printf '127.0.0.%d peer%02d\n' $((10 + i)) "$i"; done |
    xargs -P "$parallel" -L 1 sh -c 'rsync -a -e "$0" "root@$1:'"$work"'/peers/$2/collect/" "'"$work"'/rsync-dest/$2/"' "$ssh_cmd"
  t1=$(now); r=$(elapsed $t0 $t1)
}
run_stage() {
  rm -rf "$work/master"; rm -f "$work"/peers/*/collect/cback.stage; sync
  t0=$(now)
  dotnet msbuild "$work/pool.proj" -t:Stage -nologo -v:m -tl:off -p:BackupRunDate=2026-11-24T02:00 -p:StageParallelism="$parallel" \
    > "$work/stage.log" || { cat "$work/stage.log"; exit 1; }
  t1=$(now); b=$(elapsed $t0 $t1)
}
t0=$(now); dotnet msbuild "$work/pool.proj" -t:Validate -nologo -v:q -tl:off > /dev/null; t1=$(now)
startup=$(elapsed $t0 $t1)
rs=(); bs=()
for round in $(seq 1 "$rounds"); do
  if [ $((round % 2)) -eq 1 ]; then run_rsync; run_stage; else run_stage; run_rsync; fi
  rs+=("$r"); bs+=("$b")
  echo "round $round: rsync loop ${r} s   BackupBuild Stage ${b} s   ratio $(python3 -c "print(f'{$b / $r:.2f}')")"
done
mr=$(median "${rs[@]}"); mb=$(median "${bs[@]}")
echo "median of $rounds: rsync -a -e ssh, $parallel at a time: ${mr} s; BackupBuild Stage: ${mb} s (MSBuild start-up and evaluation, a Validate run: ${startup} s, included)"
echo "ratio Stage / rsync loop: $(python3 -c "print(f'{$mb / $mr:.2f}')")   (goal <= 0.70)"
