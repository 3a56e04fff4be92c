// The speed of the WebAssembly build against the native one, on the benchmark scenarios
// (book/src/reference/browser.md quotes the figures). For each scenario, best of `--runs`:
//   native    `netlab run FILE --quiet` (a release build), wall time of the process;
//   node      the wasm build's `run` in Node (wasm/pkg, `wasm-bindgen --target nodejs`), wall
//             time of the call, the module already instantiated;
//   chromium  the playground in headless Chromium (wasm/playground, served by this script on
//             127.0.0.1): wall time of a Chromium that opens the scenario and runs it, less
//             that of one that only opens it (the page's clocks, even a worker's, are
//             virtual under --virtual-time-budget, so they cannot time the run). It covers
//             the worker's start, the run, the files handed back and the report viewer.
// Best of the runs each (for Chromium: the best run less the best opening).
// All three write the same files, charts and report.html included, with capture as the
// scenario says (off in the benchmarks).
//
// Usage (release builds: wasm/build.sh, wasm/playground/build.sh, cargo build --release):
//   node wasm/speed.mjs --netlab target/release/netlab [--runs 3] benches/reference-*.ron
import { createRequire } from "node:module";
import { spawnSync, spawn } from "node:child_process";
import { createServer } from "node:http";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve, extname } from "node:path";

const argv = process.argv.slice(2);
const opt = { netlab: "target/release/netlab", pkg: "wasm/pkg", runs: 3, chromium: "chromium", files: [] };
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === "--netlab") opt.netlab = argv[++i];
  else if (argv[i] === "--pkg") opt.pkg = argv[++i];
  else if (argv[i] === "--runs") opt.runs = Number(argv[++i]);
  else if (argv[i] === "--chromium") opt.chromium = argv[++i];
  else opt.files.push(argv[i]);
}

function best(times) {
  return Math.min(...times);
}

function native(file) {
  const out = mkdtempSync(join(tmpdir(), "netlab-speed-"));
  const started = process.hrtime.bigint();
  const done = spawnSync(opt.netlab, ["run", file, "--quiet", "--out", join(out, "r")]);
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  rmSync(out, { recursive: true, force: true });
  if (done.status !== 0) throw new Error(`native run failed: ${done.stderr}`);
  return ms;
}

const netlab = createRequire(import.meta.url)(resolve(opt.pkg, "netlab.js"));
function node(file) {
  const text = readFileSync(file, "utf8");
  const started = process.hrtime.bigint();
  const run = netlab.run(file, text, undefined, false);
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (!run.ok()) throw new Error(`wasm run failed: ${run.error() || run.check()}`);
  run.free();
  return ms;
}

// Serves the repository (the playground and the scenario files) and /hold (see playground.js).
function serve() {
  const types = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css" };
  const server = createServer((req, res) => {
    const path = decodeURIComponent(req.url.split("?")[0]);
    if (path === "/hold") {
      setTimeout(() => res.end("held"), 20);
      return;
    }
    try {
      if (path.includes("..")) throw new Error("outside");
      const body = readFileSync(join(".", path));
      res.writeHead(200, { "Content-Type": types[extname(path)] || "text/plain" });
      res.end(body);
    } catch {
      res.writeHead(404);
      res.end();
    }
  });
  return new Promise((ok) => server.listen(0, "127.0.0.1", () => ok(server)));
}

// Wall time of a Chromium opening `file` in the playground (and running it, with `run`).
function chromium(base, file, run) {
  const profile = mkdtempSync(join(tmpdir(), "netlab-speed-chromium-"));
  const url = `${base}/wasm/playground/index.html?src=/${file}&pcap=0${run ? "&run" : ""}&hold=/hold`;
  const started = process.hrtime.bigint();
  return new Promise((ok, fail) => {
    const child = spawn(opt.chromium, ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
      "--virtual-time-budget=5000", `--user-data-dir=${profile}`, "--dump-dom", url]);
    let dom = "";
    child.stdout.on("data", (d) => (dom += d));
    child.on("close", () => {
      rmSync(profile, { recursive: true, force: true });
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      const finished = run ? dom.includes('data-done="true"') : dom.includes(">ready<");
      if (finished) ok(ms);
      else fail(new Error(`the playground did not finish ${file}: ${(/<pre id="errors"[^>]*>([^<]*)/.exec(dom) || [])[1]}`));
    });
  });
}

const server = await serve();
const base = `http://127.0.0.1:${server.address().port}`;
console.log("| scenario | native | wasm in Node | ratio | wasm in Chromium | ratio |");
console.log("| --- | --- | --- | --- | --- | --- |");
for (const file of opt.files) {
  const n = [], w = [], c = [], open = [];
  for (let r = 0; r < opt.runs; r++) {
    n.push(native(file));
    w.push(node(file));
    c.push(await chromium(base, file, true));
    open.push(await chromium(base, file, false));
  }
  const [bn, bw, bc] = [best(n), best(w), best(c) - best(open)];
  console.log(`| ${file} | ${(bn / 1000).toFixed(2)} s | ${(bw / 1000).toFixed(2)} s | ${(bw / bn).toFixed(2)} | ` +
    `${(bc / 1000).toFixed(2)} s | ${(bc / bn).toFixed(2)} |`);
}
server.close();
