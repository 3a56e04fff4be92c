// The playground's Web Worker: runs a scenario with the WebAssembly engine off the page's
// thread (a run takes seconds; the page stays responsive and shows "running…").
// Message in: {name, text}. Message out: {ok, check, error, table, files: [{name, bytes}]},
// the files as `netlab run --pcap` writes them (report.html, summary.json, captures, …).
import init, { run } from "./pkg/netlab.js";

const ready = init();

onmessage = async (ev) => {
  const { name, text } = ev.data;
  try {
    await ready;
    const result = run(name, text, undefined, true);
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
    postMessage({ ok: false, check: "", error: "error: " + (e && e.stack ? e.stack : e), files: [] });
  }
};
