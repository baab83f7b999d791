// The metrics view of the live page: GET /v1/metrics and /v1/journeys drawn as numbers,
// uPlot time series, bars and tables. Everything shown is set with textContent.
"use strict";
(function () {
  var root = document.getElementById("metrics");
  var DAY = 86400000;
  var plots = [];

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function pct(x) { return x === null || x === undefined ? "—" : (x * 100).toFixed(1) + "%"; }
  function points(x) {
    if (x === null || x === undefined) return "—";
    return (x >= 0 ? "+" : "") + (x * 100).toFixed(1) + " pts";
  }
  function money(map) {
    var keys = Object.keys(map || {}).sort();
    return keys.length ? keys.map(function (c) { return map[c] + " " + c; }).join(" · ") : "—";
  }
  function count(n) { return n === null || n === undefined ? "—" : String(n); }

  function fetchJson(url) {
    // The live page's token (a read token is enough for these routes).
    var auth = window.shoptrailAuth ? window.shoptrailAuth() : {};
    return fetch(url, { cache: "no-store", headers: auth }).then(function (r) {
      return r.json().then(function (body) {
        if (!r.ok) throw new Error(body && body.error ? body.error : "HTTP " + r.status);
        return body;
      });
    });
  }

  function section(title, id) {
    var s = el("section", "card");
    s.id = id;
    s.appendChild(el("h2", "", title));
    root.appendChild(s);
    return s;
  }

  function table(parent, head, rows) {
    var t = el("table", "grid");
    var tr = el("tr");
    head.forEach(function (h) { tr.appendChild(el("th", "", h)); });
    var thead = el("thead");
    thead.appendChild(tr);
    t.appendChild(thead);
    var body = el("tbody");
    rows.forEach(function (cells) {
      var row = el("tr");
      cells.forEach(function (c) {
        if (c instanceof Node) {
          var td = el("td");
          td.appendChild(c);
          row.appendChild(td);
        } else {
          row.appendChild(el("td", "", c));
        }
      });
      body.appendChild(row);
    });
    t.appendChild(body);
    parent.appendChild(t);
    return t;
  }

  function bar(fraction, label) {
    var wrap = el("div", "bar");
    var fill = el("div", "fill");
    fill.style.width = Math.max(0, Math.min(1, fraction || 0)) * 100 + "%";
    wrap.appendChild(fill);
    wrap.appendChild(el("span", "", label));
    return wrap;
  }

  var TILES = [
    ["sessions", "Sessions", count],
    ["orders", "Orders", count],
    ["conversionRate", "Conversion", pct],
    ["revenue", "Revenue", money],
    ["averageOrderValue", "Average order", money],
    ["customers", "Customers", count],
    ["repeatPurchaseRate", "Repeat purchase", pct],
    ["customerLifetimeValue", "Customer value", money],
    ["cartAbandonmentRate", "Cart abandonment", pct],
    ["reminderRecoveryRate", "Reminder recovery", pct],
    ["nps", "NPS", function (n) { return n === null || n === undefined ? "—" : String(n); }],
  ];

  function tiles(totals) {
    var box = el("div", "tiles");
    box.id = "kpis";
    TILES.forEach(function (t) {
      var tile = el("div", "kpi");
      tile.dataset.metric = t[0];
      tile.appendChild(el("span", "label", t[1]));
      tile.appendChild(el("span", "value", t[2](totals[t[0]])));
      box.appendChild(tile);
    });
    root.appendChild(box);
  }

  function seriesChart(parent, title, xs, lines, fmt) {
    var box = el("div", "chart");
    box.appendChild(el("h3", "", title));
    parent.appendChild(box);
    if (typeof window.uPlot !== "function") {
      box.appendChild(el("p", "none", "chart library not loaded"));
      return;
    }
    var colors = ["#2f5bd3", "#1f8a5b", "#c0591b", "#9a4fd0", "#b8860b"];
    var opts = {
      width: Math.max(280, Math.min(parent.clientWidth - 24, 560)),
      height: 200,
      series: [{}].concat(lines.map(function (l, i) {
        return { label: l.label, stroke: colors[i % colors.length], width: 2, value: function (u, v) { return v === null ? "—" : fmt(v); } };
      })),
      axes: [{}, { size: 64, values: function (u, vals) { return vals.map(fmt); } }],
    };
    plots.push(new window.uPlot(opts, [xs].concat(lines.map(function (l) { return l.values; })), box));
  }

  function overTime(series) {
    var s = section("Over time (UTC days)", "over-time");
    var xs = series.map(function (d) { return Date.parse(d.date + "T00:00:00Z") / 1000; });
    seriesChart(s, "Conversion", xs, [{ label: "conversion", values: series.map(function (d) { return d.conversionRate === null ? null : d.conversionRate * 100; }) }],
      function (v) { return v.toFixed(1) + "%"; });
    var currencies = {};
    series.forEach(function (d) { Object.keys(d.revenue || {}).forEach(function (c) { currencies[c] = true; }); });
    var lines = Object.keys(currencies).sort().map(function (c) {
      return { label: c, values: series.map(function (d) { return d.revenue && d.revenue[c] !== undefined ? Number(d.revenue[c]) : 0; }) };
    });
    if (!lines.length) lines = [{ label: "revenue", values: series.map(function () { return 0; }) }];
    seriesChart(s, "Revenue", xs, lines, function (v) { return v.toFixed(2); });
  }

  function channelName(key) {
    if (key && typeof key === "object") return (key.source || "?") + " / " + (key.medium || "?");
    return String(key);
  }

  function channels(groups) {
    var s = section("By channel", "by-channel");
    var most = groups.reduce(function (m, g) { return Math.max(m, g.metrics.sessions || 0); }, 0);
    var t = table(s, ["Source / medium", "Sessions", "Orders", "Conversion", "Revenue"], groups.map(function (g) {
      return [channelName(g.key), bar(most ? g.metrics.sessions / most : 0, count(g.metrics.sessions)),
        count(g.metrics.orders), pct(g.metrics.conversionRate), money(g.metrics.revenue)];
    }));
    t.id = "channels";
    if (!groups.length) s.appendChild(el("p", "none", "No sessions in this period."));
  }

  var STEPS = { viewed: "Viewed", addedToCart: "Added to cart", checkoutStarted: "Checkout started", ordered: "Ordered" };

  function funnel(steps) {
    var s = section("Funnel (sessions)", "funnel");
    var first = steps.length ? steps[0].count : 0;
    var t = table(s, ["Step", "Sessions", "Drop-off"], steps.map(function (st) {
      return [STEPS[st.step] || st.step, bar(first ? st.count / first : 0, count(st.count)), pct(st.dropOff)];
    }));
    t.id = "funnel-table";
  }

  function journeys(data) {
    var s = section("Journeys", "journeys");
    if (!data) {
      s.appendChild(el("p", "none", "No journeys: start the collector with --journeys FILE."));
      return;
    }
    var rows = [];
    data.journeys.forEach(function (j) {
      j.steps.forEach(function (st) {
        var c = st.counts;
        rows.push([j.id, st.step + ". " + st.name + " (" + st.after + ")", count(c.delivered), count(c.scheduled + c.retrying + c.sending),
          count(c.failed), count(c.skipped), count(c.cancelled)]);
      });
    });
    var t = table(s, ["Journey", "Step", "Delivered", "Waiting", "Failed", "Skipped", "Cancelled"], rows);
    t.id = "journeys-table";
    data.journeys.forEach(function (j) {
      if (!j.recovery) return;
      var p = el("p", "recovery", j.id + ": " + j.recovery.recovered + " of " + j.recovery.reminded + " reminded carts recovered (an order within 7 days)");
      p.dataset.journey = j.id;
      s.appendChild(p);
    });
  }

  function experiments(list) {
    var s = section("Experiments", "experiments");
    if (!list.length) {
      s.appendChild(el("p", "none", "No Experiment Viewed events in this period."));
      return;
    }
    list.forEach(function (e) {
      s.appendChild(el("h3", "", e.experimentId));
      // Revenue in the currency the verdicts read (the one of the most orders).
      var cur = e.currency;
      var t = table(s, ["Variant", "Shoppers", "Converted", "Conversion", "Lift vs control", "95% interval", "p",
        "Revenue / shopper", "Lift / shopper (95% interval)"], e.variants.map(function (v) {
        var ci = v.ci ? points(v.ci[0]) + " … " + points(v.ci[1]) : "—";
        var r = cur && v.revenue && v.revenue[cur];
        var rpv = r && r.perVisitor !== null ? r.perVisitor + " " + cur : "—";
        var lift = r && r.perVisitorLift ? r.perVisitorLift + " (" + r.perVisitorLiftCi[0] + " … " + r.perVisitorLiftCi[1] + ")" : "—";
        return [v.variationId, count(v.exposed), count(v.converted), pct(v.conversionRate), points(v.lift), ci,
          v.pValue === null || v.pValue === undefined ? "—" : v.pValue.toFixed(3), rpv, lift];
      }));
      t.dataset.experiment = e.experimentId;
      e.variants.forEach(function (v) {
        if (!v.verdictLine) return;
        var p = el("p", "verdict", v.verdictLine);
        p.dataset.experiment = e.experimentId;
        p.dataset.verdict = v.verdict;
        s.appendChild(p);
      });
    });
  }

  function campaigns(list, days) {
    var s = section("Campaigns", "campaigns");
    if (!list.length) {
      s.appendChild(el("p", "none", "No popups shown in this period."));
      return;
    }
    var t = table(s, ["Campaign", "Shows", "Shoppers", "Conversions", "Conversion", "Orders within " + days + " days", "Revenue"],
      list.map(function (c) {
        return [c.campaignId, count(c.shows), count(c.shoppers), count(c.conversions), pct(c.conversionRate), count(c.orders), money(c.revenue)];
      }));
    t.id = "campaigns-table";
  }

  function load(days) {
    plots.forEach(function (p) { p.destroy(); });
    plots = [];
    var to = new Date();
    var from = new Date(to.getTime() - days * DAY);
    var range = "from=" + encodeURIComponent(from.toISOString()) + "&to=" + encodeURIComponent(to.toISOString());
    root.dataset.from = from.toISOString();
    root.dataset.to = to.toISOString();
    root.dataset.state = "loading";
    Promise.all([
      fetchJson("../v1/metrics?" + range),
      fetchJson("../v1/metrics?" + range + "&by=channel"),
      fetchJson("../v1/journeys").catch(function () { return null; }),
    ]).then(function (res) {
      var m = res[0];
      root.textContent = "";
      root.appendChild(controls(days));
      tiles(m.totals);
      overTime(m.series || []);
      channels(res[1].groups || []);
      funnel(m.funnel || []);
      journeys(res[2]);
      campaigns(m.campaigns || [], m.attributionDays);
      experiments(m.experiments || []);
      root.dataset.state = "ready";
    }).catch(function (e) {
      root.textContent = "";
      root.appendChild(controls(days));
      root.appendChild(el("p", "none", "Could not load the metrics: " + e.message));
      root.dataset.state = "error";
    });
  }

  function controls(days) {
    var bar = el("div", "range");
    bar.appendChild(el("span", "label", "Last"));
    [7, 30, 90].forEach(function (d) {
      var b = el("button", "chip" + (d === days ? " on" : ""), d + " days");
      b.type = "button";
      b.setAttribute("aria-pressed", d === days ? "true" : "false");
      b.addEventListener("click", function () { load(d); });
      bar.appendChild(b);
    });
    var again = el("button", "plain", "Refresh");
    again.type = "button";
    again.addEventListener("click", function () { load(days); });
    bar.appendChild(again);
    return bar;
  }

  window.shoptrailDashboard = { load: load };
  load(30);
})();
