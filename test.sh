#!/usr/bin/env bash
# Installs what the tests need (Debian packages) when it is missing, builds, runs every test,
# and ends with one line "N passed, N failed, N skipped" taken from the test results.
# Under CI=true nothing is skipped: a test whose program is missing fails.
#   ./test.sh          the full suite (what CI runs)
#   ./test.sh --fast   the fast tier: classes marked [Trait("Tier", "Fast")], no server, no MSBuild run
set -uo pipefail
cd "$(dirname "$0")"

tier=full
for arg in "$@"; do
  case "$arg" in
    --fast) tier=fast ;;
    *) echo "test.sh: unknown argument '$arg' (use --fast for the fast tier, nothing for the full suite)" >&2; exit 2 ;;
  esac
done

# program -> Debian package that provides it
required=(
  "tar:tar" "gzip:gzip" "bzip2:bzip2" "python3:python3"
  "xorriso:xorriso" "isoinfo:genisoimage" "bsdtar:libarchive-tools"
  "cback3:cedar-backup3" "rsync:rsync" "ssh:openssh-client" "sshd:openssh-server" "gpg:gnupg"
  "svnadmin:subversion" "svnlook:subversion" "svnmucc:subversion" "git:git" "grepmail:grepmail"
  "mariadbd:mariadb-server" "mariadb-install-db:mariadb-server" "mariadb:mariadb-client" "mariadb-dump:mariadb-client"
  "pg_dump:postgresql-client" "runuser:util-linux" "unshare:util-linux" "nsenter:util-linux" "setpriv:util-linux" "ip:iproute2" "findmnt:util-linux" "fdisk:fdisk" "dpkg:dpkg" "sqlite3:sqlite3"
  "chromium:chromium"
  "sftp:openssh-client" "msmtp:msmtp"
  "logrotate:logrotate"
  "strace:strace" "mount:mount" "mkfs.ext4:e2fsprogs" "truncate:coreutils" "mkfifo:coreutils"
  "ceph-mon:ceph-mon" "ceph-osd:ceph-osd" "radosgw:radosgw" "ceph:ceph-common" "radosgw-admin:ceph-common" "rados:ceph-common"
)
missing=()
for pair in "${required[@]}"; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || [ -x "/usr/sbin/${pair%%:*}" ] || missing+=("${pair##*:}")
done
# The PostgreSQL server (initdb, postgres) lives in /usr/lib/postgresql/<version>/bin, not on PATH.
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=("postgresql")
# The request-queue tests' SMTP listener: aiosmtpd for Debian's own Python (not a python3 earlier on PATH).
/usr/bin/python3 -c "import aiosmtpd" >/dev/null 2>&1 || missing+=("python3-aiosmtpd")
if [ ${#missing[@]} -gt 0 ]; then
  echo "test.sh: installing ${missing[*]}"
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
    || echo "test.sh: could not install ${missing[*]}; the tests that need them will fail"
fi

# Reused MSBuild nodes would run stale task code (docs/development.md).
export MSBUILDDISABLENODEREUSE=1 DOTNET_CLI_USE_MSBUILD_SERVER=0 DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1

results=TestResults
rm -rf "$results"
if ! dotnet build BackupBuild.sln -c Release -nologo -v:q -nodeReuse:false; then
  echo "test.sh: the build failed; no test ran"
  echo "0 passed, 1 failed, 0 skipped"
  exit 1
fi
filter=()
if [ "$tier" = fast ]; then
  # Servers and BackupProject refuse to start under this variable (tests/BackupBuild.Tests/Support/Tier.cs).
  export BACKUPBUILD_TEST_TIER=fast
  filter=(--filter "Tier=Fast")
fi
dotnet test BackupBuild.sln -c Release --no-build --nologo "${filter[@]}" \
  --logger "trx;LogFileName=results.trx" --logger "console;verbosity=normal" --results-directory "$results"
status=$?

trx=$(find "$results" -name '*.trx' | head -n 1)
if [ -z "$trx" ]; then
  echo "test.sh: the test run produced no results"
  echo "0 passed, 1 failed, 0 skipped"
  exit 1
fi
counters=$(grep -o '<Counters [^>]*>' "$trx")
count() { echo "$counters" | grep -o " $1=\"[0-9]*\"" | grep -o '[0-9]*'; }
passed=$(count passed); failed=$(( $(count failed) + $(count error) + $(count timeout) + $(count aborted) ))
skipped=$(count notExecuted)
if [ "${CI:-}" = "true" ] && [ "$skipped" -gt 0 ]; then
  echo "test.sh: $skipped tests were skipped under CI=true; counting them as failed"
  failed=$((failed + skipped)); skipped=0
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] && [ "$status" -eq 0 ]
