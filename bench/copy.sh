#!/usr/bin/env bash
# Copy benchmark (issue 19 (a)): 1 GiB from one peer over loopback, `rsync -a -e ssh` (Stage's default RemoteCopy)
# against SFTP through SSH.NET (bench/sshnet, one connection, the files one after the other). One sshd on
# 127.0.0.10 port 22, four files of 256 MiB; the tools alternate round by round; medians. SSH.NET would replace rsync
# for the copy only if its median is within 1.15x of rsync's.
# Usage: bench/copy.sh [work-dir]   (default /var/tmp/bkp-bench-copy);  ROUNDS=3 MIB=1024 bench/copy.sh
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=${1:-/var/tmp/bkp-bench-copy}
rounds=${ROUNDS:-3}; mib=${MIB:-1024}
export DOTNET_NOLOGO=1
now() { date +%s.%N; }
elapsed() { python3 -c "print(f'{$2 - $1:.2f}')"; }
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print (a[int((NR+1)/2)] + a[int(NR/2)+1]) / 2}'; }

mkdir -p "$work/ssh" "$work/peer" /run/sshd
user=bkpbench
id "$user" > /dev/null 2>&1 || useradd --system --shell /bin/sh --home-dir "$work/home" --no-create-home "$user"
usermod -p "*" "$user"
cd "$work/ssh"
[ -f host ] || ssh-keygen -q -t ed25519 -N '' -f host
[ -f client ] || ssh-keygen -q -t ed25519 -N '' -f client
cp client.pub authorized_keys
addr=127.0.0.10
echo "$addr $(cut -d' ' -f1,2 host.pub)" > known_hosts
for i in 1 2 3 4; do
  f=$work/peer/part$i.tar.gz
  [ "$(stat -c %s "$f" 2>/dev/null || echo 0)" = $((mib / 4 * 1048576)) ] || head -c $((mib / 4))M /dev/urandom > "$f"
done
chown -R "$user" "$work/peer"
cat > sshd_config <<CFG
Port 22
ListenAddress $addr
HostKey $work/ssh/host
AuthorizedKeysFile $work/ssh/authorized_keys
StrictModes no
UsePAM no
PasswordAuthentication no
PidFile none
Subsystem sftp internal-sftp
CFG
/usr/sbin/sshd -D -e -f "$work/ssh/sshd_config" 2> "$work/ssh/sshd.log" &
sshd=$!
trap 'kill $sshd 2>/dev/null || true' EXIT
sleep 1
dotnet build "$repo/bench/sshnet/SshNetPool.csproj" -c Release -nologo -v:q -o "$work/sshnet" > /dev/null
ssh_cmd="ssh -i $work/ssh/client -o IdentitiesOnly=yes -o UserKnownHostsFile=$work/ssh/known_hosts -o BatchMode=yes -o Ciphers=^aes128-gcm@openssh.com"
echo "Cores: $(nproc); date: $(date -u +%F); load before: $(cut -d' ' -f1-3 /proc/loadavg); $(du -sb "$work/peer" | cut -f1) bytes in 4 files"
cat "$work"/peer/* > /dev/null
# Wall time, and the client's CPU time (user + system of rsync and its ssh, or of the SSH.NET process): on a loaded
# machine a client with more threads gets a larger share of the cores, which wall time alone would credit to it.
cpu() { awk '{printf "%.2f", $1 + $2}' "$work/time"; }
run_rsync() { rm -rf "$work/dest"; mkdir -p "$work/dest"; sync; t0=$(now)
  /usr/bin/time -f "%U %S" -o "$work/time" rsync -a -e "$ssh_cmd" "$user@$addr:$work/peer/" "$work/dest/"
  t1=$(now); r=$(elapsed $t0 $t1); rc=$(cpu); }
run_sftp() { rm -rf "$work/dest"; mkdir -p "$work/dest"; sync; t0=$(now)
  BENCH_USER=$user /usr/bin/time -f "%U %S" -o "$work/time" \
    dotnet "$work/sshnet/SshNetPool.dll" copy "$work/ssh/client" "$work/ssh/known_hosts" "$addr" "$work/peer" "$work/dest" > /dev/null
  t1=$(now); s=$(elapsed $t0 $t1); sc=$(cpu); }
rs=(); ss=(); rcs=(); scs=()
for round in $(seq 1 "$rounds"); do
  if [ $((round % 2)) -eq 1 ]; then run_rsync; run_sftp; else run_sftp; run_rsync; fi
  rs+=("$r"); ss+=("$s"); rcs+=("$rc"); scs+=("$sc")
  echo "round $round: rsync -a -e ssh ${r} s (client CPU ${rc} s)   SSH.NET SFTP ${s} s (client CPU ${sc} s)   (load $(cut -d' ' -f1 /proc/loadavg))"
done
mr=$(median "${rs[@]}"); ms=$(median "${ss[@]}")
echo "median of $rounds: rsync ${mr} s ($(python3 -c "print(f'{$mib / $mr:.0f}')") MiB/s); SSH.NET SFTP ${ms} s ($(python3 -c "print(f'{$mib / $ms:.0f}')") MiB/s)"
mrc=$(median "${rcs[@]}"); msc=$(median "${scs[@]}")
echo "client CPU, median: rsync ${mrc} s; SSH.NET SFTP ${msc} s"
echo "ratio SFTP / rsync: wall $(python3 -c "print(f'{$ms / $mr:.2f}')"), client CPU $(python3 -c "print(f'{$msc / $mrc:.2f}')")   (SFTP replaces rsync only at <= 1.15)"
