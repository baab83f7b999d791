// Records exit-intent traces in headless Chromium: real browser events, driven by Playwright's
// mouse and keyboard, written in the trace format the detector's host tests replay
// (engage/traces/chromium-*.trace; see engage/src/engage_core/detect_tests.rs). The page listens the
// way the engage module does (clientX/Y and buttons of mousemove, mouseout without a
// relatedTarget, scrollY and scrollHeight, focus on form fields), so each trace is what the
// detector would be fed. Each scenario's `expect` line is what a shopper meant: an exit or not.
//
//   node e2e/record-traces.mjs        (after `cargo xtask build`; writes the files)
//   node e2e/record-traces.mjs flick-one-step ...   (only the scenarios named)
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { startCollector, launch, tempDir } from "./lib.mjs";

const root = process.env.SHOPTRAIL_ROOT || join(import.meta.dirname, "..");

/** Installs the listeners; samples collect in window.__trace as lines. */
function recorder() {
  const t0 = Date.now();
  const out = (window.__trace = []);
  const put = (line) => out.push(`${Date.now() - t0} ${line}`);
  const d = document.documentElement;
  put(`viewport ${d.clientWidth} ${d.clientHeight} ${innerWidth}`);
  const field = (t) => !!t && /^(INPUT|SELECT|TEXTAREA)$/.test(t.tagName || "");
  document.addEventListener("mousemove", (e) => put(`move ${e.clientX} ${e.clientY} ${e.buttons}`));
  document.addEventListener("mouseout", (e) => {
    if (!e.relatedTarget) put(`leave ${e.clientX} ${e.clientY} ${e.buttons}`);
  });
  addEventListener("scroll", () => put(`scroll ${Math.round(scrollY)} ${d.scrollHeight}`), { passive: true });
  document.addEventListener("focusin", (e) => put(`field ${field(e.target) ? 1 : 0}`));
  document.addEventListener("focusout", () => put("field 0"));
  document.addEventListener("keydown", () => put("key"));
}

/** Scenarios: what the pointer does after 5.5 s on the page, and what it means. */
const SCENARIOS = [
  {
    name: "top-exit",
    about: "The mouse moves up and out through the top of the page.",
    expect: "exit_top",
    async run(page) {
      await page.mouse.move(640, 420, { steps: 5 });
      await page.waitForTimeout(5500);
      await page.mouse.move(660, -10, { steps: 12 });
    },
  },
  {
    name: "flick",
    about: "A fast flick: from 60 px down to above the page in one move.",
    expect: "exit_top",
    async run(page) {
      await page.mouse.move(500, 300, { steps: 3 });
      await page.waitForTimeout(5500);
      await page.mouse.move(500, 60);
      await page.mouse.move(500, -20);
    },
  },
  {
    name: "flick-one-step",
    about: "The mouse rests in the middle of the page, then one move takes it above the top (a fast flick as a trackpad reports it: no sample in between).",
    expect: "exit_top",
    async run(page) {
      await page.mouse.move(640, 360, { steps: 3 });
      await page.waitForTimeout(5500);
      await page.mouse.move(640, -20);
    },
  },
  {
    name: "flick-one-step-moving",
    about: "The mouse moves across the middle of the page, then one move takes it above the top.",
    expect: "exit_top",
    async run(page) {
      await page.mouse.move(500, 400, { steps: 3 });
      await page.waitForTimeout(5500);
      await page.mouse.move(700, 380, { steps: 4 });
      await page.mouse.move(700, -20);
    },
  },
  {
    name: "side-exit",
    about: "The mouse leaves by the left side (not an exit unless sides are enabled).",
    expect: "none",
    async run(page) {
      await page.mouse.move(400, 400, { steps: 3 });
      await page.waitForTimeout(5500);
      await page.mouse.move(-10, 380, { steps: 8 });
    },
  },
  {
    name: "field-focused",
    about: "The search field has focus (its autofill list may be open) when the mouse goes up and out.",
    expect: "none",
    async run(page) {
      await page.click("#search");
      await page.keyboard.type("mug");
      await page.mouse.move(400, 300, { steps: 3 });
      await page.waitForTimeout(5500);
      await page.mouse.move(420, -10, { steps: 10 });
    },
  },
  {
    name: "comes-back",
    about: "Up and out through the top, and straight back in (a tab bar glance).",
    expect: "none",
    async run(page) {
      await page.mouse.move(640, 400, { steps: 3 });
      await page.waitForTimeout(5500);
      await page.mouse.move(640, -6, { steps: 10 });
      await page.waitForTimeout(120);
      await page.mouse.move(640, 120, { steps: 4 });
    },
  },
  {
    name: "wheel-then-leave",
    about: "A wheel scroll, then the pointer leaves the top within half a second.",
    expect: "none",
    async run(page) {
      await page.mouse.move(640, 200, { steps: 3 });
      await page.waitForTimeout(5500);
      await page.mouse.wheel(0, 600);
      await page.waitForTimeout(150);
      await page.mouse.move(640, -6, { steps: 6 });
    },
  },
];

const tmp = tempDir();
const collector = await startCollector({ db: join(tmp.dir, "record.db") });
const browser = await launch();
try {
  const only = process.argv.slice(2);
  for (const s of SCENARIOS.filter((s) => only.length === 0 || only.includes(s.name))) {
    const page = await browser.context.newPage();
    await page.setViewportSize({ width: 1280, height: 720 });
    await page.goto(`${collector.url}/fixtures/engage.html?c=`);
    await page.evaluate(recorder);
    await s.run(page);
    await page.waitForTimeout(100);
    const lines = await page.evaluate(() => window.__trace);
    const file = join(root, "engage/traces", `chromium-${s.name}.trace`);
    writeFileSync(file, [
      `# Recorded in headless Chromium by e2e/record-traces.mjs: ${s.about}`,
      "# hover: yes",
      "# trigger: exit",
      `# expect: ${s.expect}`,
      ...lines,
      "",
    ].join("\n"));
    console.log(`wrote ${file} (${lines.length} samples)`);
    await page.close();
  }
} finally {
  await browser.close();
  await collector.stop();
  tmp.cleanup();
}
