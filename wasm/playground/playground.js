// The playground page: scenario picker, editor with live diagnostics, Run in a Web Worker,
// results drawn by the report viewer (NetlabReport.render, as report.html does), "why" for any
// request (the viewer asks `explain` here), and every output file offered as a download.
//
// Everything is a classic script with no fetch, so the page works opened from disk (file://)
// as well as from any static host: the engine's module comes as base64 and the worker as text
// (pkg/engine.js), the scenarios and their keepalived.conf files as data (pkg/scenarios.js).
//
// `check` runs here, on the page's thread (it takes milliseconds), a moment after the student
// stops typing. A run takes seconds, so it goes to the worker and the page stays responsive.
//
// Page address options, after `#` (or `?`): `scenario=NAME.ron` opens a shipped scenario
// (the book's links), `src=URL` loads the text from URL (served pages only), `run` runs it at
// once, `why=ID` then opens request ID, `pcap=0` unticks "capture every wire". `hold=URL` is for headless Chromium's
// `--virtual-time-budget` (tests/it/playground.rs): while the worker is busy the page keeps
// a fetch of URL pending, because virtual time does not advance while a fetch is pending and
// would otherwise end the test before the run does.
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  const picker = $("scenario");
  const editor = $("editor");
  const runButton = $("run");
  const status = $("status");
  const params = new URLSearchParams(location.search);
  for (const [k, v] of new URLSearchParams(location.hash.slice(1))) params.set(k, v);
  const files = JSON.stringify(NETLAB_FILES);
  let currentName = "scenario.ron";
  let engine = null; // the compiled WebAssembly module, shared with the workers
  let runWorker = null;
  let busy = 0;
  let downloads = [];

  function fail(message) {
    $("errors").hidden = false;
    $("errors").textContent += message + "\n";
  }
  window.addEventListener("error", (ev) => fail("error: " + ev.message));
  window.addEventListener("unhandledrejection", (ev) => fail("error: " + ev.reason));

  // Shows the check's diagnostics, each with its line and column; a click selects the line.
  function showCheck() {
    const report = JSON.parse(wasm_bindgen.check(currentName, editor.value, files));
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
    if (!report.ok && report.diagnostics.length === 0) {
      const li = document.createElement("li");
      li.className = "error";
      li.textContent = report.text;
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
    if (!found) return;
    load(found.name, found.text);
    // The address names the scenario, to bookmark or share (the book's links look the same).
    try {
      history.replaceState(null, "", "#scenario=" + encodeURIComponent(found.name));
    } catch {
      // A browser that refuses it on file:// loses only the bookmark.
    }
  });

  // A worker from the engine's text (a Blob URL: allowed on file://), given the compiled
  // module. `onDone` gets its one answer; the worker ends after it.
  function startWorker(message, onDone) {
    const url = URL.createObjectURL(new Blob([NETLAB_WORKER_SOURCE], { type: "text/javascript" }));
    const worker = new Worker(url);
    URL.revokeObjectURL(url);
    busy++;
    const finish = (result) => {
      worker.terminate();
      busy--;
      onDone(result);
    };
    worker.onerror = (ev) => finish({ ok: false, error: "worker: " + ev.message, files: [] });
    worker.onmessage = (ev) => finish(ev.data);
    worker.postMessage(Object.assign({ module: engine, name: currentName, text: editor.value, files }, message));
    holdWhileBusy();
    return worker;
  }

  // With `hold=URL`: a fetch of URL kept pending while anything runs (see the top).
  let holding = false;
  function holdWhileBusy() {
    const url = params.get("hold");
    if (!url || holding) return;
    holding = true;
    const again = () => {
      holding = false;
      if (busy > 0) holdWhileBusy();
    };
    fetch(url).then(again, again);
  }

  function startRun() {
    if (!showCheck().ok) {
      status.textContent = "fix the errors first";
      return;
    }
    if (runWorker) runWorker.terminate();
    const started = performance.now();
    status.textContent = "running…";
    delete status.dataset.done;
    runButton.disabled = true;
    const name = currentName;
    const text = editor.value;
    runWorker = startWorker({ kind: "run", capture: $("pcap").checked }, (result) => {
      runWorker = null;
      showRun(result, started, name, text);
    });
  }
  runButton.addEventListener("click", startRun);

  // The story of request `id` of the run shown (scenario `name`, text `text`), from a worker.
  function explainer(name, text) {
    return (id) => new Promise((resolve, reject) => {
      startWorker({ kind: "explain", name, text, request: id }, (answer) => {
        if (answer.ok) resolve(answer.text);
        else reject(answer.error);
      });
    });
  }

  // Draws a finished run: the report viewer from report.html's data, and the downloads.
  function showRun(result, started, name, text) {
    runButton.disabled = false;
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
    const report = NetlabReport.render(data, $("report"), { explain: explainer(name, text) });
    const why = params.get("why");
    if (why !== null) {
      params.delete("why");
      report.open(Number(why));
    }
  }

  function decodeBase64(text) {
    const binary = atob(text);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes;
  }

  async function start() {
    // Compiled once, asynchronously (a browser refuses to compile a large module
    // synchronously on the page's thread), then instantiated here and in each worker.
    busy++;
    holdWhileBusy();
    engine = await WebAssembly.compile(decodeBase64(NETLAB_WASM_BASE64));
    await wasm_bindgen({ module_or_path: engine });
    busy--;
    for (const s of NETLAB_SCENARIOS) picker.appendChild(new Option(s.name, s.name));
    const src = params.get("src");
    const wanted = params.get("scenario") || "00-hello-web.ron";
    if (src) {
      const text = await (await fetch(src)).text();
      load(src.split("/").pop(), text);
    } else {
      const found = NETLAB_SCENARIOS.find((s) => s.name === wanted);
      if (!found) fail(`error: there is no shipped scenario "${wanted}"; showing the first one`);
      const shown = found || NETLAB_SCENARIOS[0];
      picker.value = shown.name;
      load(shown.name, shown.text);
    }
    $("pcap").checked = params.get("pcap") !== "0";
    runButton.disabled = false;
    status.textContent = "ready";
    if (params.has("run")) startRun();
  }
  start().catch((e) => fail("error: " + (e && e.stack ? e.stack : e)));
})();
