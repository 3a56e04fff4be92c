// The playground page: scenario picker, editor with live diagnostics, Run in a Web Worker,
// results drawn by the report viewer (NetlabReport.render, as report.html does) and every
// output file offered as a download.
//
// `check` runs here, on the page's thread (it takes milliseconds), a moment after the student
// stops typing. A run takes seconds, so it goes to worker.js and the page stays responsive.
//
// Page address options: `?scenario=NAME.ron` opens a shipped scenario, `?src=URL` loads the
// text from URL (same site), and `&run` runs it at once (the book's links and the browser test).
// `&hold=URL`, for headless Chromium's `--virtual-time-budget` (tests/it/playground.rs): while
// a run is in the worker the page keeps a fetch of URL pending, because virtual time does not
// advance while a fetch is pending and would otherwise end the test before the run does.
import init, { check } from "./pkg/netlab.js";

const $ = (id) => document.getElementById(id);
const picker = $("scenario");
const editor = $("editor");
const runButton = $("run");
const status = $("status");
let currentName = "scenario.ron";
let worker = null;
let downloads = [];

function fail(message) {
  $("errors").hidden = false;
  $("errors").textContent += message + "\n";
}
window.addEventListener("error", (ev) => fail("error: " + ev.message));
window.addEventListener("unhandledrejection", (ev) => fail("error: " + ev.reason));

// Shows the check's diagnostics, each with its line and column; a click selects the line.
function showCheck() {
  const report = JSON.parse(check(currentName, editor.value));
  $("check-summary").textContent = report.ok
    ? `ok: ${report.nodes} nodes` + (report.diagnostics.length ? `, ${report.diagnostics.length} warning(s)` : "")
    : "not valid:";
  $("check-summary").className = report.ok ? "ok" : "error";
  const list = $("diagnostics");
  list.textContent = "";
  for (const d of report.diagnostics) {
    const li = document.createElement("li");
    li.className = d.severity;
    li.dataset.line = d.line;
    li.dataset.col = d.col;
    li.textContent = `line ${d.line}, column ${d.col}: ${d.severity}: ${d.message}` +
      (d.help ? `\n  help: ${d.help}` : "");
    li.addEventListener("click", () => selectLine(d.line, d.col, d.width));
    list.appendChild(li);
  }
  return report;
}

function selectLine(line, col, width) {
  const lines = editor.value.split("\n");
  let at = 0;
  for (let i = 0; i < line - 1 && i < lines.length; i++) at += lines[i].length + 1;
  at += Math.max(0, col - 1);
  editor.focus();
  editor.setSelectionRange(at, at + Math.max(1, width || 1));
}

let checkTimer = null;
editor.addEventListener("input", () => {
  clearTimeout(checkTimer);
  checkTimer = setTimeout(showCheck, 300);
});

function load(name, text) {
  currentName = name;
  editor.value = text;
  showCheck();
}

picker.addEventListener("change", () => {
  const found = NETLAB_SCENARIOS.find((s) => s.name === picker.value);
  if (found) load(found.name, found.text);
});

function startRun() {
  if (!showCheck().ok) {
    status.textContent = "fix the errors first";
    return;
  }
  if (worker) worker.terminate();
  worker = new Worker(new URL("./worker.js", import.meta.url), { type: "module" });
  worker.onerror = (ev) => {
    fail("worker: " + ev.message);
    status.textContent = "failed";
    runButton.disabled = false;
  };
  worker.onmessage = (ev) => showRun(ev.data, started);
  const started = performance.now();
  status.textContent = "running…";
  runButton.disabled = true;
  worker.postMessage({ name: currentName, text: editor.value });
  const hold = new URLSearchParams(location.search).get("hold");
  if (hold) holdWhileRunning(hold);
}

function holdWhileRunning(url) {
  if (worker) fetch(url).then(() => holdWhileRunning(url), () => {});
}
runButton.addEventListener("click", startRun);

// Draws a finished run: the report viewer from report.html's data, and the downloads.
function showRun(result, started) {
  runButton.disabled = false;
  worker.terminate();
  worker = null;
  if (!result.ok) {
    status.textContent = "failed";
    fail(result.error || JSON.parse(result.check).text);
    return;
  }
  const ms = (performance.now() - started).toFixed(0);
  status.textContent = `done in ${ms} ms`;
  status.dataset.done = "true";
  for (const url of downloads) URL.revokeObjectURL(url);
  downloads = [];
  const list = $("downloads");
  list.textContent = "";
  for (const file of result.files) {
    const url = URL.createObjectURL(new Blob([file.bytes]));
    downloads.push(url);
    const a = document.createElement("a");
    a.href = url;
    a.download = file.name;
    a.textContent = file.name;
    const li = document.createElement("li");
    li.appendChild(a);
    list.appendChild(li);
  }
  const html = result.files.find((f) => f.name === "report.html");
  const page = new DOMParser().parseFromString(new TextDecoder().decode(html.bytes), "text/html");
  const data = JSON.parse(page.getElementById("netlab-data").textContent);
  NetlabReport.render(data, $("report"));
}

async function start() {
  await init();
  for (const s of NETLAB_SCENARIOS) picker.appendChild(new Option(s.name, s.name));
  const params = new URLSearchParams(location.search);
  const src = params.get("src");
  const wanted = params.get("scenario") || "00-hello-web.ron";
  if (src) {
    const text = await (await fetch(src)).text();
    load(src.split("/").pop(), text);
  } else {
    picker.value = wanted;
    const found = NETLAB_SCENARIOS.find((s) => s.name === wanted) || NETLAB_SCENARIOS[0];
    picker.value = found.name;
    load(found.name, found.text);
  }
  runButton.disabled = false;
  status.textContent = "ready";
  if (params.has("run")) startRun();
}
start().catch((e) => fail("error: " + (e && e.stack ? e.stack : e)));
