/* shoptrail engage-module loader. `cargo xtask build` bundles this file with wasm-bindgen's `web`
   glue of the engage module into one classic script, dist/shoptrail-engage.js, which the
   tracker's loader adds to pages with campaigns. It fetches its wasm from beside itself, checked
   against the hash the build writes here, and hands the started module to the tracker. */
(function () {
  var me = document.currentScript, s = window.shoptrail;
  var src = (me && me.src) || "";
  var wasmUrl = (me && me.dataset && me.dataset.wasm) || src.replace(/\.js(\?.*)?$/, ".wasm");
  var ready = compileWasm(fetch(wasmUrl, { integrity: "__SHOPTRAIL_ENGAGE_WASM_SRI__" })).then(function (module) {
    initSync({ module: module });
    return { start: start, add: add, shutdown: shutdown };
  });
  if (s && typeof s.__engaged === "function") s.__engaged(ready);
})();
