// The playground's Web Worker: runs a scenario (or tells one request's story) with the
// WebAssembly engine off the page's thread, so the page stays responsive and shows "running…".
//
// It is not loaded by URL: wasm/playground/build.sh appends this file to the engine's
// bindings (wasm-bindgen `--target no-modules`, which define `wasm_bindgen`) and the page
// starts it from that text as a Blob URL, so it works opened from disk (file://), where a
// browser refuses `new Worker("worker.js")`. The page hands over the compiled module too.
//
// Message in: {module, kind: "run" | "explain", name, text, files, capture, request}, `files`
// the keepalived.conf files as JSON (see src/wasm.rs), `capture` as `netlab run --pcap`.
// Message out, for "run": {ok, check, error, table, files: [{name, bytes}]}, the files as
// `netlab run --pcap` writes them; for "explain": {ok, text} or {ok: false, error}.
"use strict";

onmessage = async (ev) => {
  const { module, kind, name, text, files, capture, request } = ev.data;
  try {
    await wasm_bindgen({ module_or_path: module });
    if (kind === "explain") {
      postMessage({ ok: true, text: wasm_bindgen.explain(name, text, undefined, request, files) });
      return;
    }
    const result = wasm_bindgen.run(name, text, undefined, capture, files);
    const out = {
      ok: result.ok(),
      check: result.check(),
      error: result.error(),
      table: result.table(),
      files: [],
    };
    if (out.ok) {
      for (const file of result.files()) out.files.push({ name: file, bytes: result.file(file) });
    }
    result.free();
    postMessage(out, out.files.map((f) => f.bytes.buffer));
  } catch (e) {
    // `explain` throws its message as a string; anything else is a bug, with its stack.
    const error = typeof e === "string" ? e : "error: " + (e && e.stack ? e.stack : e);
    postMessage({ ok: false, check: "", error, files: [] });
  }
};
