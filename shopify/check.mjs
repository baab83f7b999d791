// Theme-check on the app embed, with Shopify's rules for theme app extensions
// (extensions/shoptrail-embed/.theme-check.yml). Prints each offense; exits 1 on any.
import { themeCheckRun } from "@shopify/theme-check-node";
import { fileURLToPath } from "node:url";
import path from "node:path";

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), "extensions/shoptrail-embed");
const { offenses, theme } = await themeCheckRun(root, path.join(root, ".theme-check.yml"), () => {});
for (const o of offenses) {
  const at = o.start ? `:${o.start.line + 1}:${o.start.character + 1}` : "";
  console.log(`${path.relative(root, fileURLToPath(o.uri))}${at} ${o.check} (severity ${o.severity}): ${o.message}`);
}
console.log(`theme-check: ${theme.length} files, ${offenses.length} offenses`);
process.exit(offenses.length ? 1 : 0);
