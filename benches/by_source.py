#!/usr/bin/env python3
"""Where a run's CPU time goes, by the source it was written in, inlining undone.

With `lto = "fat"` and one codegen unit, smoltcp's TCP is inlined into netlab's
`Host::service`, so `perf report` by symbol cannot tell smoltcp's time from netlab's. Each
sampled address still knows its chain of inlined calls (the binary's debug information,
`debug = 1`): this script asks `addr2line -i` for it and gives the sample to the innermost
frame that is not the standard library's (a `Vec` push inlined into the event queue counts
for the event queue). BENCHMARKS.md, round 16.

    perf record -F 2000 -o perf.data target/release/netlab run FILE --out DIR --quiet
    python3 benches/by_source.py perf.data target/release/netlab [ROWS]

Prints the share of the binary's samples by crate (netlab, smoltcp, other crates, the
standard library alone) and then by source file. Needs `perf` and binutils' `addr2line`.
"""

import collections
import os
import re
import subprocess
import sys


def mapping(perf_data, binary):
    """The executable mapping of `binary` in the recording: (start, page offset)."""
    events = subprocess.run(
        ["perf", "script", "-i", perf_data, "--show-mmap-events"],
        capture_output=True, text=True, check=True).stdout
    for line in events.splitlines():
        if "MMAP" in line and binary in line and "r-xp" in line:
            m = re.search(r"\[(0x[0-9a-f]+)\((0x[0-9a-f]+)\) @ (0x[0-9a-f]+|0)", line)
            if m:
                return int(m.group(1), 16), int(m.group(3), 16)
    sys.exit(f"no executable mapping of {binary} in {perf_data}")


def vaddr_shift(binary):
    """p_vaddr - p_offset of the binary's executable loadable segment (the one mapped r-xp)."""
    headers = subprocess.run(["readelf", "-lW", binary], capture_output=True, text=True,
                             check=True).stdout
    for line in headers.splitlines():
        fields = line.split()
        if fields[:1] == ["LOAD"] and "E" in fields[6:-1]:
            return int(fields[2], 16) - int(fields[1], 16)
    sys.exit(f"no executable segment in {binary}")


def sampled_addresses(perf_data, binary):
    """The address of every sample taken in `binary` (as an address in the file), and the
    number of samples in all (the others are in the C library, the kernel...)."""
    start, page_offset = mapping(perf_data, binary)
    shift = vaddr_shift(binary)
    listing = subprocess.run(["perf", "script", "-i", perf_data, "-G", "-F", "ip,dso"],
                             capture_output=True, text=True, check=True).stdout
    addresses = []
    lines = listing.splitlines()
    for line in lines:
        fields = line.split()
        if len(fields) == 2 and binary in fields[1]:
            addresses.append(int(fields[0], 16) - start + page_offset + shift)
    return addresses, len(lines)


def inline_chains(binary, addresses):
    """For each address, its inlined frames as (function, file), innermost first."""
    out = subprocess.run(["addr2line", "-a", "-i", "-f", "-C", "-e", binary]
                         + [hex(a) for a in addresses],
                         capture_output=True, text=True, check=True).stdout.splitlines()
    chains, current = {}, None
    for line in out:
        if line.startswith("0x"):
            current = int(line, 16)
            chains[current] = []
        elif current is not None:
            chains[current].append(line)
    return {a: list(zip(lines[0::2], (l.rsplit(":", 1)[0] for l in lines[1::2])))
            for a, lines in chains.items()}


def owner(chain):
    """(crate, file) of the innermost frame written outside the standard library."""
    for function, path in chain:
        if "/rustc/" in path or path.startswith("??"):
            continue
        if "/smoltcp/src/" in path:
            return "smoltcp", path.split("/smoltcp/src/")[-1]
        if "/src/" in path and "/registry/" not in path and "/deps/" not in path:
            return "netlab", path.split("/src/", 1)[-1]
        return "other crates", re.sub(r".*/(registry/src/[^/]+/|deps/)", "", path)
    return "std alone", chain[-1][0][:70] if chain else "?"


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    # perf names the binary by its full path.
    perf_data, binary = sys.argv[1], os.path.realpath(sys.argv[2])
    rows = int(sys.argv[3]) if len(sys.argv) > 3 else 30
    addresses, everywhere = sampled_addresses(perf_data, binary)
    samples = collections.Counter(addresses)
    chains = inline_chains(binary, list(samples))
    by_crate, by_file = collections.Counter(), collections.Counter()
    for address, count in samples.items():
        crate, file = owner(chains.get(address, []))
        by_crate[crate] += count
        by_file[f"{crate}: {file}"] += count
    total = sum(samples.values())
    print(f"{total} of {everywhere} samples in {binary} (the rest in libc's memcpy, the kernel...)")
    for crate, count in by_crate.most_common():
        print(f"{100 * count / total:6.2f}%  {crate}")
    print()
    for file, count in by_file.most_common(rows):
        print(f"{100 * count / total:6.2f}%  {file}")


if __name__ == "__main__":
    main()
