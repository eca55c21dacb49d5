#!/usr/bin/env bash
# Pool benchmark: a master stages 30 remote peers at once. 30 sshd instances listen on their own
# loopback addresses (127.0.0.11 … 127.0.0.40, port 22), each peer with about 10 MB in its collect
# dir. BackupBuild's Stage (StageParallelism peers at a time) against what an administrator would
# script instead: `rsync -a -e ssh` of each peer's collect dir, 4 at a time (xargs -P 4).
# Two more contenders show what connection reuse would give (issue: SSH.NET or OpenSSH's own):
#   controlmaster: per peer one OpenSSH master connection carrying the listing, rsync and the mark;
#   sshnet: per peer one SSH.NET connection (bench/sshnet) carrying all three over SFTP.
# Stage holds one SSH.NET connection per peer for the whole build: listing, copy (RemoteCopy=ssh, the scp protocol, the
# default) and staged mark. RSYNC=1 adds Stage with RemoteCopy=rsync (the copy over rsync's own ssh, as before 2026-12-05);
# OPENSSH=1 Stage on OpenSSH alone (RemoteShell=/usr/bin/ssh: every command its own ssh).
# Each round also prints the CPU time (user + system) of each contender's processes on this side ("client") and of the
# peers' sshd with everything they ran ("peers"): on a loaded machine the wall times are noise, the CPU times are not.
# The last line is the goal of issue 20 point 5: GOAL pool: <Stage / rsync loop, medians>x (goal <= 0.7) met|NOT met.
# Usage: bench/pool.sh [work-dir]   (default /var/tmp/bkp-bench-pool)
#        PEERS=30 ROUNDS=5 PARALLEL=4 OPENSSH=1 EXTRA=1 bench/pool.sh
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=${1:-/var/tmp/bkp-bench-pool}
peers=${PEERS:-30}; rounds=${ROUNDS:-3}; parallel=${PARALLEL:-4}; extra=${EXTRA:-0}; openssh=${OPENSSH:-0}; withrsync=${RSYNC:-0}
export MSBUILDDISABLENODEREUSE=1 DOTNET_CLI_USE_MSBUILD_SERVER=0 DOTNET_NOLOGO=1
now() { date +%s.%N; }
elapsed() { python3 -c "print(f'{$2 - $1:.2f}')"; }
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print (a[int((NR+1)/2)] + a[int(NR/2)+1]) / 2}'; }
# CPU seconds (user + system) the peers' sshd and everything they ran have used so far (reaped children included).
peer_cpu() { local t=0 p; for p in "${pids[@]}"; do t=$((t + $(awk '{print $14 + $15 + $16 + $17}' "/proc/$p/stat" 2>/dev/null || echo 0))); done; echo "$t"; }
# Runs a command, adds "client X s, peers Y s" (CPU) to the variable named by $1.
cpu_of() {
  local var=$1 before after; shift
  before=$(peer_cpu)
  /usr/bin/time -f '%U %S' -o "$work/cpu" "$@"
  after=$(peer_cpu)
  printf -v "$var" 'client %s s, peers %s s' "$(awk '{printf "%.2f", $1 + $2}' "$work/cpu")" "$(python3 -c "print(f'{($after - $before) / $(getconf CLK_TCK):.2f}')")"
}

mkdir -p "$work/ssh" /run/sshd
# The peers log in as a user of their own with /bin/sh: root's shell start-up files (often slow, here pyenv
# takes seconds) would run for every remote command and every rsync, which is not what a pool pays.
user=bkpbench
id "$user" > /dev/null 2>&1 || useradd --system --shell /bin/sh --home-dir "$work/home" --no-create-home "$user"
usermod -p "*" "$user"   # not locked: sshd without PAM refuses a locked account
install -d -o "$user" "$(getent passwd "$user" | cut -d: -f6)"   # its home (a user left by an earlier run may name another)
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
  chown -R "$user" "$work/peers/$name"
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
Subsystem sftp internal-sftp
CFG
  echo "$addr $(cut -d' ' -f1,2 host.pub)" >> known_hosts
  /usr/sbin/sshd -D -e -f "$work/ssh/sshd_$name" 2> "$work/ssh/sshd_$name.log" &
  pids+=($!)
  items+="    <Peer Include=\"$name\" Type=\"remote\" Host=\"$addr\" User=\"$user\" IdentityFile=\"$work/ssh/client\" KnownHostsFile=\"$work/ssh/known_hosts\" CollectDir=\"$collect\" />
"
done
sleep 2

dotnet build "$repo/tasks/BackupBuild.Tasks.csproj" -c Release -nologo -v:q >/dev/null
if [ "$extra" = 1 ]; then dotnet build "$repo/bench/sshnet/SshNetPool.csproj" -c Release -nologo -v:q -o "$work/sshnet" >/dev/null; fi
sshnet=$work/sshnet/SshNetPool.dll
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
echo "Cores: $(nproc); date: $(date -u +%F); load: $(cut -d' ' -f1-3 /proc/loadavg); $peers peers, $(du -sb "$work/peers" | cut -f1) bytes; rsync and Stage $parallel peers at a time"
cat "$work"/peers/*/collect/* > /dev/null   # warm the page cache

run_rsync() {
  rm -rf "$work/rsync-dest"; mkdir -p "$work/rsync-dest"; sync
  for i in $(seq 1 "$peers"); do printf '127.0.0.%d peer%02d\n' $((10 + i)) "$i"; done > "$work/rsync-list"
  t0=$(now)
  cpu_of rcpu xargs -a "$work/rsync-list" -P "$parallel" -L 1 sh -c 'rsync -a -e "$0" "'"$user"'@$1:'"$work"'/peers/$2/collect/" "'"$work"'/rsync-dest/$2/"' "$ssh_cmd"
  t1=$(now); r=$(elapsed $t0 $t1)
}
run_controlmaster() {
  rm -rf "$work/cm-dest"; mkdir -p "$work/cm-dest"; rm -f "$work"/peers/*/collect/cback.stage; sync
  t0=$(now)
  for i in $(seq 1 "$peers"); do printf '127.0.0.%d peer%02d\n' $((10 + i)) "$i"; done |
    xargs -P "$parallel" -L 1 sh -c '
      s="'"$work"'/cm-$2.sock"; c="'"$work"'/peers/$2/collect"
      h="'"$user"'@$1"
      $0 -M -S "$s" -fN "$h" &&
      $0 -S "$s" "$h" "test -f $c/cback.collect && ls -l $c" > /dev/null &&
      rsync -a -e "$0 -S $s" "$h:$c/" "'"$work"'/cm-dest/$2/" &&
      $0 -S "$s" "$h" "touch $c/cback.stage"; st=$?
      $0 -S "$s" -O exit "$h" 2> /dev/null; exit $st' "$ssh_cmd"
  t1=$(now); c=$(elapsed $t0 $t1)
}
run_sshnet() {
  rm -rf "$work/sn-dest"; mkdir -p "$work/sn-dest"; rm -f "$work"/peers/*/collect/cback.stage; sync
  args=()
  for i in $(seq 1 "$peers"); do n=$(printf 'peer%02d' "$i"); args+=("127.0.0.$((10 + i))=$n=$work/peers/$n/collect"); done
  t0=$(now); BENCH_USER=$user dotnet "$sshnet" "$work/ssh/client" "$work/ssh/known_hosts" "$work/sn-dest" "$parallel" "${args[@]}" > /dev/null; t1=$(now)
  n=$(elapsed $t0 $t1)
}
run_stage() {  # $1: extra msbuild arguments; sets b and bcpu
  rm -rf "$work/master"; rm -f "$work"/peers/*/collect/cback.stage; sync
  t0=$(now)
  cpu_of bcpu dotnet msbuild "$work/pool.proj" -t:Stage -nologo -v:m -tl:off -p:BackupRunDate=2026-11-24T02:00 -p:StageParallelism="$parallel" $1 \
    > "$work/stage.log" || { cat "$work/stage.log"; exit 1; }
  t1=$(now); b=$(elapsed $t0 $t1)
}
run_sshnet_stage() { run_stage ""; g=$b; gcpu=$bcpu; }
run_rsync_stage() { run_stage "-p:RemoteCopy=rsync"; y=$b; ycpu=$bcpu; }
run_openssh_stage() { run_stage "-p:RemoteShell=/usr/bin/ssh"; o=$b; }
t0=$(now); dotnet msbuild "$work/pool.proj" -t:Validate -nologo -v:q -tl:off > /dev/null; t1=$(now)
startup=$(elapsed $t0 $t1)
rs=(); gs=(); os=(); cs=(); ns=(); ys=()
for round in $(seq 1 "$rounds"); do
  c=-; n=-; o=-; y=-; ycpu=-
  # Odd rounds start with the rsync loop, even rounds with Stage.
  if [ $((round % 2)) -eq 1 ]; then
    run_rsync; if [ "$openssh" = 1 ]; then run_openssh_stage; fi; if [ "$withrsync" = 1 ]; then run_rsync_stage; fi
    run_sshnet_stage; if [ "$extra" = 1 ]; then run_controlmaster; run_sshnet; fi
  else
    if [ "$extra" = 1 ]; then run_sshnet; run_controlmaster; fi; run_sshnet_stage
    if [ "$withrsync" = 1 ]; then run_rsync_stage; fi; if [ "$openssh" = 1 ]; then run_openssh_stage; fi; run_rsync
  fi
  rs+=("$r"); gs+=("$g"); os+=("$o"); cs+=("$c"); ns+=("$n"); ys+=("$y")
  echo "round $round: rsync loop ${r} s   Stage ${g} s   Stage (RemoteCopy=rsync) ${y} s   Stage (OpenSSH) ${o} s   controlmaster ${c} s   sshnet ${n} s   (load $(cut -d' ' -f1 /proc/loadavg))"
  echo "  CPU: rsync loop: $rcpu; Stage: $gcpu; Stage (RemoteCopy=rsync): $ycpu"
done
mr=$(median "${rs[@]}"); mg=$(median "${gs[@]}")
echo "median of $rounds: rsync -a -e ssh, $parallel at a time: ${mr} s; Stage: ${mg} s (MSBuild start-up and evaluation, a Validate run: ${startup} s, included)"
if [ "$withrsync" = 1 ]; then echo "Stage with RemoteCopy=rsync (its own ssh per peer): $(median "${ys[@]}") s"; fi
if [ "$openssh" = 1 ]; then
  mo=$(median "${os[@]}")
  echo "Stage before SSH.NET (RemoteShell=/usr/bin/ssh): ${mo} s; Stage (OpenSSH) / rsync loop: $(python3 -c "print(f'{$mo / $mr:.2f}')")   SSH.NET / OpenSSH: $(python3 -c "print(f'{$mg / $mo:.2f}')")"
fi
if [ "$extra" = 1 ]; then
  mc=$(median "${cs[@]}"); mn=$(median "${ns[@]}")
  echo "OpenSSH ControlMaster per peer: ${mc} s; SSH.NET, one SFTP connection per peer (bench/sshnet): ${mn} s"
fi
echo "load at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 -c "r = $mg / $mr; print(f'GOAL pool: {r:.2f}x (goal <= 0.7) ' + ('met' if r <= 0.7 else 'NOT met'))"
