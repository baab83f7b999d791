/* Compiles a fetched wasm: streaming when the server says application/wasm, from the bytes
   otherwise. The script-tag loaders use it with wasm-bindgen's `initSync` (instantiating an
   already compiled module), so the glue's own fetching code is left out of the bundle. */
export function compileWasm(response) {
  return response.then(function (r) {
    if (!r.ok) throw new Error("HTTP " + r.status + " for " + r.url);
    var type = r.headers.get("Content-Type") || "";
    return typeof WebAssembly.compileStreaming == "function" && type.indexOf("application/wasm") == 0
      ? WebAssembly.compileStreaming(r)
      : r.arrayBuffer().then(function (b) { return WebAssembly.compile(b); });
  });
}
