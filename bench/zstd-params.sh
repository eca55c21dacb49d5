#!/usr/bin/env bash
# Which zstd parameters tarzst's CompressionLevel=optimal uses, by measurement: each tree's tar stream compressed as
# independent 16 MiB frames (as Collect writes them) through the system's libzstd.so.1, one thread, for each setting,
# against `zstd -3 -T0` on the same stream. Prints each setting's CPU time (the compressing thread's own, min and
# median of ROUNDS alternating rounds, so other load on the machine matters less) and size relative to zstd -3 -T0.
# Needs gcc. Usage: bench/zstd-params.sh [dir-or-tar ...]   (default: the bench/collect.sh tree)
set -euo pipefail
work=${WORK:-/var/tmp/bkp-bench-zstd-params}
rounds=${ROUNDS:-3}
[ $# -gt 0 ] || set -- /var/tmp/bkp-bench/tree
mkdir -p "$work"
cat > "$work/zb.c" <<'C'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
typedef struct ZSTD_CCtx_s ZSTD_CCtx;
ZSTD_CCtx* ZSTD_createCCtx(void); size_t ZSTD_freeCCtx(ZSTD_CCtx*); size_t ZSTD_CCtx_reset(ZSTD_CCtx*, int);
size_t ZSTD_CCtx_setParameter(ZSTD_CCtx*, int, int);
size_t ZSTD_compress2(ZSTD_CCtx*, void*, size_t, const void*, size_t);
size_t ZSTD_compressBound(size_t); unsigned ZSTD_isError(size_t); const char* ZSTD_getErrorName(size_t);
static double cpu(void) { struct timespec t; clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
/* zb FILE level [windowLog hashLog chainLog minMatch] (0: the level's own): prints CPU seconds and bytes */
int main(int argc, char **argv) {
  int fd = open(argv[1], O_RDONLY); struct stat st; fstat(fd, &st); size_t n = st.st_size, frame = 16 << 20, total = 0;
  unsigned char *in = mmap(0, n, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
  size_t cap = ZSTD_compressBound(frame); unsigned char *out = malloc(cap); memset(out, 1, cap);
  ZSTD_CCtx *c = ZSTD_createCCtx(); double c0 = cpu();
  for (size_t off = 0; off < n; off += frame) {
    size_t len = n - off < frame ? n - off : frame;
    ZSTD_CCtx_reset(c, 3); ZSTD_CCtx_setParameter(c, 100, atoi(argv[2])); ZSTD_CCtx_setParameter(c, 201, 1);
    for (int i = 3; i < argc && i < 7; i++) if (atoi(argv[i])) ZSTD_CCtx_setParameter(c, 101 + (i == 6 ? 4 : i - 3), atoi(argv[i]));
    size_t w = ZSTD_compress2(c, out, cap, in + off, len);
    if (ZSTD_isError(w)) { fprintf(stderr, "%s\n", ZSTD_getErrorName(w)); return 1; }
    total += w;
  }
  printf("%.3f %zu\n", cpu() - c0, total);
  return 0;
}
C
gcc -O2 -o "$work/zb" "$work/zb.c" "$(ls /usr/lib/*/libzstd.so.1 | head -1)"
# Settings: "level windowLog hashLog chainLog minMatch" (0: the level's own). Level 3's own on 16 MiB: 21 17 16 5.
settings=("3 0 0 0 0" "3 22 0 0 0" "3 23 0 0 0" "3 24 0 0 0" "3 23 17 15 0" "3 23 16 16 0" "3 23 16 15 0" "2 23 0 0 0" "1 23 0 0 0")
echo "cores: $(nproc); load: $(cut -d' ' -f1-3 /proc/loadavg); $(date -u +%FT%TZ); $(zstd --version | head -1)"
for src in "$@"; do
  if [ -d "$src" ]; then tar cf "$work/input.tar" -C "$(dirname "$src")" "$(basename "$src")"; input=$work/input.tar; else input=$src; fi
  ref=$(zstd -3 -T0 -c "$input" | wc -c)
  echo "== $src: $(stat -c %s "$input") B; zstd -3 -T0: $ref B"
  declare -A cpus=() sizes=()
  for r in $(seq "$rounds"); do
    for s in "${settings[@]}"; do read -r c b < <("$work/zb" "$input" $s); cpus[$s]+="$c "; sizes[$s]=$b; done
  done
  for s in "${settings[@]}"; do
    python3 -c "import statistics,sys; v=list(map(float,sys.argv[3].split())); print(f'level/wlog/hlog/clog/mml {sys.argv[1]:<14} CPU min {min(v):.2f} s, median {statistics.median(v):.2f} s; {int(sys.argv[2])} B = {int(sys.argv[2])/$ref:.4f}x zstd -3 -T0')" "$s" "${sizes[$s]}" "${cpus[$s]}"
  done
  unset cpus sizes
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
