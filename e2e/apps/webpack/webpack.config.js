import { fileURLToPath } from "node:url";

const html = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>shoptrail with webpack</title>
</head>
<body>
  <h1>shoptrail with webpack</h1>
  <pre id="result"></pre>
  <script src="/webpack/main.js"></script>
</body>
</html>
`;

/** Writes dist/index.html (one fixed page; no html-webpack-plugin needed). */
class IndexHtml {
  apply(compiler) {
    const { Compilation, sources } = compiler.webpack;
    compiler.hooks.thisCompilation.tap("IndexHtml", (compilation) => {
      compilation.hooks.processAssets.tap(
        { name: "IndexHtml", stage: Compilation.PROCESS_ASSETS_STAGE_ADDITIONAL },
        () => compilation.emitAsset("index.html", new sources.RawSource(html)),
      );
    });
  }
}

// Served by the collector under /webpack/ (`--static /webpack=<this dir>/dist`).
export default {
  entry: "./src/main.js",
  output: {
    path: fileURLToPath(new URL("dist", import.meta.url)),
    publicPath: "/webpack/",
    filename: "main.js",
    clean: true,
  },
  experiments: { asyncWebAssembly: true },
  plugins: [new IndexHtml()],
  performance: { hints: false },
  stats: "errors-warnings",
};
