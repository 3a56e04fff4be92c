// Same results everywhere: runs scenarios with the native `netlab run --pcap` and with the
// WebAssembly build (Node bindings made by `wasm-bindgen --target nodejs`), and compares
// every output file byte for byte: summary.json, requests.csv, events.csv, the captures,
// the charts, the ipvsadm view and the keepalived exports.
//
// A different architecture (wasm32: 32-bit words), allocator and float library: a byte that
// differs is a determinism bug (see ARCHITECTURE.md, "Deterministic").
//
// Usage (wasm/build.sh makes the bindings; see README.md):
//   node wasm/check-identical.mjs --pkg wasm/pkg --netlab target/debug/netlab scenarios/*.ron
// Prints one line per scenario and ends with "N passed, N failed"; exits 1 on any failure.
// A scenario that names keepalived.conf files gets them as the playground gives them: every
// .conf file of its folder's tree, in memory, by the path the scenario would open
// (src/wasm.rs, `files`).

import { createRequire } from "node:module";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, isAbsolute, join, relative, resolve } from "node:path";

function parseArgs(argv) {
  const args = { pkg: "wasm/pkg", netlab: "target/debug/netlab", seed: undefined, files: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--pkg") args.pkg = argv[++i];
    else if (a === "--netlab") args.netlab = argv[++i];
    else if (a === "--seed") args.seed = BigInt(argv[++i]);
    else args.files.push(a);
  }
  if (args.files.length === 0) {
    console.error("usage: check-identical.mjs [--pkg DIR] [--netlab BIN] [--seed N] FILE.ron...");
    process.exit(2);
  }
  return args;
}

// The native run's files, by name (the output folder's marker left out).
function nativeRun(netlab, file, seed) {
  const out = mkdtempSync(join(tmpdir(), "netlab-identical-"));
  const dir = join(out, "results");
  const argv = ["run", file, "--pcap", "--quiet", "--out", dir];
  if (seed !== undefined) argv.push("--seed", String(seed));
  const done = spawnSync(netlab, argv, { encoding: "utf8" });
  if (done.status !== 0) {
    rmSync(out, { recursive: true, force: true });
    throw new Error(`native run failed (${done.status}): ${done.stderr}`);
  }
  const files = new Map();
  for (const name of readdirSync(dir)) {
    if (name !== ".netlab-output") files.set(name, readFileSync(join(dir, name)));
  }
  rmSync(out, { recursive: true, force: true });
  return files;
}

// The .conf files under the scenario's folder, as JSON: {path as opened from here: text}.
function confFiles(file) {
  const files = {};
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith(".conf")) {
        // In memory, `/` is the current folder: an absolute path is a path under it.
        const key = isAbsolute(file) ? path.slice(1) : relative(".", path);
        files[key] = readFileSync(path, "utf8");
      }
    }
  };
  walk(dirname(file));
  return JSON.stringify(files);
}

// Compares one scenario; returns a list of differences (empty: identical).
function compare(netlab, file, seed) {
  const text = readFileSync(file, "utf8");
  const run = netlab.run(file, text, seed, true, confFiles(file));
  if (!run.ok()) {
    const check = JSON.parse(run.check());
    return { problems: [`wasm run failed: ${run.error() || check.text}`] };
  }
  const native = nativeRun(args.netlab, file, seed);
  const problems = [];
  const names = run.files();
  if ([...names].sort().join(",") !== [...native.keys()].sort().join(",")) {
    problems.push(`files differ: wasm [${names}] native [${[...native.keys()]}]`);
  }
  for (const name of names) {
    const a = Buffer.from(run.file(name));
    const b = native.get(name);
    if (b === undefined) continue;
    if (!a.equals(b)) problems.push(`${name} differs (wasm ${a.length} bytes, native ${b.length})`);
  }
  run.free();
  return { problems, count: names.length };
}

const args = parseArgs(process.argv.slice(2));
const require = createRequire(import.meta.url);
const netlab = require(resolve(args.pkg, "netlab.js"));
let passed = 0;
let failed = 0;
for (const file of args.files) {
  const started = process.hrtime.bigint();
  let result;
  try {
    result = compare(netlab, file, args.seed);
  } catch (e) {
    result = { problems: [String(e)] };
  }
  const ms = Number((process.hrtime.bigint() - started) / 1000000n);
  if (result.problems.length === 0) {
    console.log(`ok   ${file}: ${result.count} files identical (${ms} ms)`);
    passed++;
  } else {
    console.log(`FAIL ${file}:\n  ${result.problems.join("\n  ")}`);
    failed++;
  }
}
// The editor's contract: a syntax error comes back at its line and column, with the text
// `netlab check` prints. Break the first `name:` of the first file and look for it.
{
  const lines = readFileSync(args.files[0], "utf8").split("\n");
  const at = lines.findIndex((l) => l.trimStart().startsWith("name:"));
  lines[at] = lines[at].replace("name:", "name");
  const report = JSON.parse(netlab.check("broken.ron", lines.join("\n")));
  const first = report.diagnostics[0];
  if (!report.ok && first && first.line === at + 1 && report.text.includes(`broken.ron:${at + 1}:`)) {
    console.log(`ok   diagnostics: a syntax error is reported at line ${first.line}, column ${first.col}`);
    passed++;
  } else {
    console.log(`FAIL diagnostics: expected an error at line ${at + 1}, got ${JSON.stringify(report)}`);
    failed++;
  }
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
