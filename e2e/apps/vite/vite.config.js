import { defineConfig } from "vite";
import wasm from "vite-plugin-wasm";

// Served by the collector under /vite/ (`--static /vite=<this dir>/dist`).
// vite-plugin-wasm handles the bundler entry's `import * as wasm from "./shoptrail_bg.wasm"`;
// Vite 7's default build target supports the top-level await it emits, so
// vite-plugin-top-level-await is not needed.
export default defineConfig({
  base: "/vite/",
  plugins: [wasm()],
  build: { outDir: "dist", emptyOutDir: true },
  logLevel: "warn",
});
