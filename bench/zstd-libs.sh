#!/usr/bin/env bash
# Which zstd library Collect's tarzst mode uses, by measurement: ZstdSharp.Port (managed), ZstdNet (a
# wrapper with its own bundled native libzstd) and the system's libzstd.so.1 (Debian's libzstd1) called
# directly, each compressing the same tar stream as independent frames of CHUNK bytes on all cores,
# against `zstd -3 -T0` on the same stream. Everything is in memory: this measures the compressors only.
# Usage: bench/zstd-libs.sh [tree] [work-dir]   (default tree: the bench/collect.sh tree)
set -euo pipefail
tree=${1:-/var/tmp/bkp-bench/tree}
work=${2:-/var/tmp/bkp-bench-zstd}
rounds=${ROUNDS:-3}
export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1
mkdir -p "$work/prog"
tar cf "$work/input.tar" -C "$(dirname "$tree")" "$(basename "$tree")"
echo "Input: $(stat -c %s "$work/input.tar") B tar of $tree; cores: $(nproc); load: $(cut -d' ' -f1-3 /proc/loadavg); $(date -u +%FT%TZ)"
cat > "$work/prog/prog.csproj" <<'XML'
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup><OutputType>Exe</OutputType><TargetFramework>net8.0</TargetFramework><Nullable>enable</Nullable>
    <ImplicitUsings>enable</ImplicitUsings><AllowUnsafeBlocks>true</AllowUnsafeBlocks><ServerGarbageCollection>false</ServerGarbageCollection><RollForward>Major</RollForward></PropertyGroup>
  <ItemGroup><PackageReference Include="ZstdSharp.Port" Version="0.8.8" /><PackageReference Include="ZstdNet" Version="1.5.7" /></ItemGroup>
</Project>
XML
cat > "$work/prog/Program.cs" <<'CS'
using System.Diagnostics;
using System.Runtime.InteropServices;

var input = File.ReadAllBytes(args[0]);
var rounds = int.Parse(args[1]);
var threads = Environment.ProcessorCount;
var native = NativeLibrary.Load("libzstd.so.1");
unsafe
{
    var createCCtx = (delegate* unmanaged<nint>)NativeLibrary.GetExport(native, "ZSTD_createCCtx");
    var compressCCtx = (delegate* unmanaged<nint, byte*, nuint, byte*, nuint, int, nuint>)NativeLibrary.GetExport(native, "ZSTD_compressCCtx");
    var bound = (delegate* unmanaged<nuint, nuint>)NativeLibrary.GetExport(native, "ZSTD_compressBound");
    var isError = (delegate* unmanaged<nuint, uint>)NativeLibrary.GetExport(native, "ZSTD_isError");

    Func<int, (string Name, Func<Func<byte[], int, int, long>> Make)[]> kindsAt = level => new (string Name, Func<Func<byte[], int, int, long>> Make)[]
    {
        ("ZstdSharp.Port 0.8.8", () => { var c = new ZstdSharp.Compressor(level);
            return (b, o, n) => c.Wrap(new ReadOnlySpan<byte>(b, o, n)).Length; }),
        ("ZstdNet 1.5.7", () => { var c = new ZstdNet.Compressor(new ZstdNet.CompressionOptions(level));
            return (b, o, n) => c.Wrap(new ReadOnlySpan<byte>(b, o, n)).Length; }),
        ("system libzstd.so.1", () => { var ctx = createCCtx(); var dst = new byte[(int)bound((nuint)(16 << 20))];
            return (b, o, n) => { fixed (byte* s = &b[o]) fixed (byte* d = dst) { var r = compressCCtx(ctx, d, (nuint)dst.Length, s, (nuint)n, level);
                if (isError(r) != 0) throw new Exception("zstd"); return (long)r; } }; }),
    };
    foreach (var level in new[] { 3, 4 })
    foreach (var chunk in new[] { 4 << 20, 8 << 20, 16 << 20 })
        foreach (var (name, make) in kindsAt(level))
        {
            var times = new List<double>(); long size = 0;
            for (var r = -1; r < rounds; r++) // round -1 warms up (JIT tiers, page faults) and is not counted
            {
                var next = -1; long total = 0;
                var sw = Stopwatch.StartNew();
                var workers = Enumerable.Range(0, threads).Select(_ => new Thread(() =>
                {
                    var compress = make();
                    long mine = 0;
                    for (int i; (i = Interlocked.Increment(ref next)) * (long)chunk < input.Length;)
                        mine += compress(input, i * chunk, (int)Math.Min(chunk, input.Length - (long)i * chunk));
                    Interlocked.Add(ref total, mine);
                })).ToList();
                workers.ForEach(t => t.Start()); workers.ForEach(t => t.Join());
                if (r >= 0) times.Add(sw.Elapsed.TotalSeconds);
                size = total;
            }
            times.Sort();
            Console.WriteLine($"{name,-22} level {level}, frames of {chunk >> 20,2} MiB  median {times[times.Count / 2]:F2} s  {size} B");
        }
}
CS
(cd "$work/prog" && dotnet build -c Release -nologo -v:q -o out >/dev/null)
for l in 3 4; do for r in $(seq "$rounds"); do
  s=$(date +%s.%N); zstd -$l -T0 -q -c "$work/input.tar" > "$work/cli.zst"; e=$(date +%s.%N)
  python3 -c "print(f'zstd -$l -T0 (CLI)      round $r  {$e - $s:.2f} s  $(stat -c %s "$work/cli.zst") B')"
done; done
dotnet "$work/prog/out/prog.dll" "$work/input.tar" "$rounds"
