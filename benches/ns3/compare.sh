#!/usr/bin/env bash
# netlab against ns-3 on the reference workload of issue 15, on this machine, one after the other.
#
#   bash benches/ns3/compare.sh                 # 10,000 and 100,000 requests
#   bash benches/ns3/compare.sh 10000           # only these sizes
#
# Builds netlab (release) and benches/ns3/reference.cc against Debian's libns3-dev (ns-3 3.37;
# installed with apt-get when missing), runs both on the same workload (by name: 10 clients, a
# router, 4 web servers, 1,000 requests/s, a fresh connection per request, 10 KiB responses),
# and prints requests per CPU-second of user time and peak memory for each, with their ratios.
# A third row, `links`, is netlab on ns-3's own topology (benches/reference-links.ron: a
# point-to-point link per machine, where the reference scenario has two switches): its mean
# latency is the one to hold against ns-3's.
# Both are measured the same way, by /usr/bin/time (user time, maximum resident set size).
# TIME-WAIT is the same in both, 10 s (netlab keeps smoltcp's; ns-3 gets MaxSegLifetime 5 s):
# NS3_MSL=0 bash benches/ns3/compare.sh runs ns-3 without TIME-WAIT instead, which favours it.
# Everything it writes goes to target/ns3/. Nothing here runs in CI: it takes minutes.
set -euo pipefail
cd "$(dirname "$0")/../.."
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(10000 100000)
work=target/ns3
mkdir -p "$work"

if ! pkg-config --exists ns3-core 2>/dev/null; then
  echo "ns-3 is missing: installing Debian's libns3-dev" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y libns3-dev
fi
[ -x /usr/bin/time ] || { echo "needs /usr/bin/time (Debian package: time)" >&2; exit 1; }

cargo build --release --bin netlab
# pkg-config's --libs for ns-3 also names libgsl, which the Debian package does not need here.
g++ -O2 -std=c++17 -o "$work/ns3-reference" benches/ns3/reference.cc \
  -lns3-core -lns3-network -lns3-internet -lns3-point-to-point

# Runs a command under /usr/bin/time; prints "USER_SECONDS PEAK_KB" and keeps its stdout in $2.
measure() {
  local log=$1
  shift
  /usr/bin/time -f "%U %M" -o "$work/time.txt" "$@" >"$log"
  cat "$work/time.txt"
}

# Prints "OK MEAN_MS" from a netlab run's summary.json.
outcome() {
  python3 -c "import json,sys; s = json.load(open(sys.argv[1]))
print(s['requests']['ok'], s['latency_ms']['mean'])" "$1"
}

# Prints one row: TOOL REQUESTS USER_SECONDS PEAK_KB OK MEAN_MS.
row() {
  awk -v t="$1" -v n="$2" -v u="$3" -v k="$4" -v ok="$5" -v ms="$6" \
    'BEGIN { printf "%-8s %9d %9s %9.2f %12.0f %10.1f %9.3f\n", t, n, ok, u, n / u, k / 1024, ms }'
}

printf '%-8s %9s %9s %9s %12s %10s %9s\n' tool requests ok "user s" "req/CPU-s" "peak MiB" "mean ms"
for n in "${sizes[@]}"; do
  # The scenario file holds 4 groups of 2,500 requests (10,000 in all): scale them.
  scenario="$work/reference-by-name-$n.ron"
  sed "s/requests: 2500)/requests: $((n / 4)))/" benches/reference-by-name.ron >"$scenario"
  read -r nl_user nl_kb < <(measure "$work/netlab-$n.txt" \
    target/release/netlab run "$scenario" --out "$work/netlab-$n" --quiet)
  read -r nl_ok nl_ms < <(outcome "$work/netlab-$n/summary.json")
  # The links scenario splits each group's 2,500 requests among its hosts (834 + 833 + 833):
  # split n / 4 the same way.
  links="$work/reference-links-$n.ron"
  python3 - "$n" benches/reference-links.ron "$links" <<'EOF'
import re, sys
n, source, target = int(sys.argv[1]), sys.argv[2], sys.argv[3]
text = open(source).read()
asked = re.findall(r'url: "http://(web[0-9]+)/', text)
hosts = {server: asked.count(server) for server in asked}
order, seen = iter(asked), {}
def share(_match):
    server = next(order)
    k = seen[server] = seen.get(server, -1) + 1
    whole, rest = divmod(n // 4, hosts[server])
    return "requests: %d)" % (whole + (1 if k < rest else 0))
scaled = re.sub(r"requests: [0-9]+\)", share, text)
assert n != 10000 or scaled == text, "the split differs from the file's"
open(target, "w").write(scaled)
EOF
  read -r ln_user ln_kb < <(measure "$work/links-$n.txt" \
    target/release/netlab run "$links" --out "$work/links-$n" --quiet)
  read -r ln_ok ln_ms < <(outcome "$work/links-$n/summary.json")
  read -r ns_user ns_kb < <(measure "$work/ns3-$n.txt" "$work/ns3-reference" --requests="$n" \
    --msl="${NS3_MSL:-5}")
  read -r ns_ok ns_ms < <(awk '{ print $4, $8 }' "$work/ns3-$n.txt")
  row netlab "$n" "$nl_user" "$nl_kb" "$nl_ok" "$nl_ms"
  row links "$n" "$ln_user" "$ln_kb" "$ln_ok" "$ln_ms"
  row ns-3 "$n" "$ns_user" "$ns_kb" "$ns_ok" "$ns_ms"
  awk -v a="$nl_user" -v b="$ns_user" -v ka="$nl_kb" -v kb="$ns_kb" -v n="$n" \
    'BEGIN { printf "%-8s %9d netlab is %.1fx faster per request and uses %.2fx the memory\n", "ratio", n, b / a, ka / kb }'
done
