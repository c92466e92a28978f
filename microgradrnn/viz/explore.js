// The BPTT explorer page: walks the backward pass on the cells view drawn above.
// Plain JavaScript, no library. The numbers and words come from the JSON that Python
// embedded (microgradrnn/viz/explore.py); nothing here computes a gradient.
"use strict";

const D = JSON.parse(document.getElementById("bptt-data").textContent);
const svg = document.querySelector("#view svg");
const panel = document.getElementById("panel");
const state = { root: 0, pos: 0, timer: null, weight: null };
const SUP = { "0": "⁰", "1": "¹", "2": "²", "3": "³", "4": "⁴", "5": "⁵", "6": "⁶", "7": "⁷",
  "8": "⁸", "9": "⁹" };

function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  for (const k of kids) e.append(k);
  return e;
}
function num(x) {  // 2 significant digits, as the pictures print them
  if (x === null || x === undefined) return "–";
  if (x === 0) return "0";
  const a = Math.abs(x);
  const s = a >= 1e-3 && a < 1e3 ? (a < 100 ? String(Number(x.toPrecision(2))) : x.toFixed(0))
    : x.toExponential(1);
  return s.replace("-", "−");
}
function name(k) { return D.keys[k].name; }
const STATES = new Set(["x", "y", "loss", "root", "input", "output"]);
function direct(E) {  // a road between two states with no weight on it (carry, cell state)
  return E.bare && !STATES.has(D.keys[E.src].tags.role || "root") &&
    !STATES.has(D.keys[E.dst].tags.role || "root");
}
function via(E) {  // " through Wₕₕ⁽¹⁾", or " directly (no weight)" for a carry
  return E.through.length ? " through " + E.through.join(", ")
    : direct(E) ? " directly (no weight on the way)" : "";
}
function roadWords(e) {  // "from h₄⁽¹⁾ through Wₕₕ⁽¹⁾"
  return "from " + name(D.edges[e].dst) + via(D.edges[e]);
}
function R() { return D.roots[state.root]; }
function sameLoss() { return "∂" + R().name; }

// ---- the page's parts -------------------------------------------------------------
panel.innerHTML = `
  <h1></h1>
  <div class="row"><label for="root">which loss</label>
    <input type="range" id="root" min="0" max="${D.roots.length - 1}" value="0" step="1">
    <b id="rootname"></b></div>
  <div class="row" role="group" aria-label="walk the backward pass">
    <button id="back" title="back (←)">◀ back</button>
    <button id="play" title="play / pause (space)">▶ play</button>
    <button id="step" title="step (→)">step ▶</button>
    <span id="counter"></span></div>
  <div id="story" aria-live="polite"></div>
  <h2>‖∂<span class="rn"></span>/∂h<sub>k</sub>‖ against k (log scale)</h2>
  <div id="plot"></div>
  <h2>inspect</h2><div id="inspect" class="box">hover, click or Tab to a node or an edge</div>
  <h2>shared weights: ‖∂<span class="rn"></span>/∂W‖ (click one)</h2><div id="weights"></div>
  <div id="wchart" class="box"></div>
  <p class="note">A step is one moment of the engine's backward loop (reversed topological
  order) at which gradient arrives at a drawn node along one of its roads; the many ops
  inside a cell are contracted into one road. A node with two roads is visited twice and
  holds the sum of what has arrived. Numbers after "receives" are norms; the terms of a sum
  are each road's additive share, which add up to the node's ‖grad‖ (norms do not).
  Faded: not reached yet; dashed outline: part of its gradient has arrived.
  Keys: ← → step, space play/pause, Home/End, + − zoom; Tab to the slider (← → pick
  the loss), the buttons, the nodes and edges.</p>`;
panel.querySelector("h1").textContent = D.title;
const $ = (id) => document.getElementById(id);

// ---- the picture's words per root ----------------------------------------------------
// Each entry of D.texts names a group of the SVG and which of its <text> runs change with
// the root; R().text holds their words. A changed line is laid out again around its
// old centre (node and edge labels are centred), and an edge label's halo follows it.
const groups = D.texts.map(([id, ix]) => {
  const g = document.getElementById(id);
  if (!g) return null;
  const texts = [...g.querySelectorAll(id === "graph0" ? ":scope > text" : "text")];
  const lines = new Map();
  for (const t of texts) {
    const y = t.getAttribute("y");
    if (!lines.has(y)) lines.set(y, []);
    lines.get(y).push(t);
  }
  const centres = new Map();
  for (const [y, ts] of lines) {
    const x0 = Number(ts[0].getAttribute("x"));
    const last = ts[ts.length - 1];
    centres.set(y, (x0 + Number(last.getAttribute("x")) + last.getComputedTextLength()) / 2);
  }
  const halo = g.querySelector(`polygon[fill="${D.halo}"]`);
  // the widest a line may grow: its node's box (less a margin), or its own first width
  const box = g.classList.contains("node") ? g.querySelector("path, polygon, ellipse") : null;
  const room = new Map([...lines].map(([y, ts]) => [y, Math.max(
    ts.reduce((w, t) => w + t.getComputedTextLength(), 0),
    box ? box.getBBox().width - 10 : 0)]));
  for (const t of texts) t.dataset.size = t.getAttribute("font-size");
  return { id, ix, texts, lines, centres, room, halo, centred: id !== "graph0" };
});

function setWords(G, words) {
  if (G.ix) {
    G.ix.forEach((i, j) => { G.texts[i].textContent = words[j]; });
  } else {  // the runs differ in number: fill in order, the rest left empty
    G.texts.forEach((t, i) => {
      t.textContent = i < G.texts.length - 1 ? (words[i] || "")
        : words.slice(i).join("");
    });
  }
  if (!G.centred) return;
  for (const [y, ts] of G.lines) {
    for (const t of ts) t.setAttribute("font-size", t.dataset.size);
    let width = ts.reduce((w, t) => w + t.getComputedTextLength(), 0);
    if (width > G.room.get(y)) {  // a longer number than the box was drawn for: smaller
      const f = G.room.get(y) / width;
      for (const t of ts) t.setAttribute("font-size", (Number(t.dataset.size) * f).toFixed(2));
      width = ts.reduce((w, t) => w + t.getComputedTextLength(), 0);
    }
    let x = G.centres.get(y) - width / 2;
    for (const t of ts) { t.setAttribute("x", x.toFixed(2)); x += t.getComputedTextLength(); }
    if (G.halo && ts.length) {
      const ys = G.halo.getAttribute("points").trim().split(/\s+/)
        .map((p) => Number(p.split(",")[1]));
      const [top, bottom] = [Math.min(...ys), Math.max(...ys)];
      const a = (G.centres.get(y) - width / 2 - 1).toFixed(2);
      const b = (G.centres.get(y) + width / 2 + 1).toFixed(2);
      G.halo.setAttribute("points",
        `${a},${bottom} ${a},${top} ${b},${top} ${b},${bottom} ${a},${bottom}`);
    }
  }
}

function applyRoot() {
  const r = R();
  $("rootname").textContent = r.name + (r.t ? "  (step " + r.t + " alone)" : "  (all steps)");
  for (const s of document.querySelectorAll(".rn")) s.textContent = r.name;
  groups.forEach((G, j) => { if (G) setWords(G, r.text[j]); });
  D.drawn.forEach((id, j) => {
    const g = document.getElementById(id);
    if (!g) return;
    for (const p of g.querySelectorAll("path, polygon")) {
      if (p.getAttribute("fill") !== D.halo) p.setAttribute("stroke-width", r.pens[j]);
    }
  });
  drawWeights();
}

// ---- one moment of the walk ------------------------------------------------------------
function status() {  // per drawn node: how many of its roads have arrived by now
  const r = R();
  const got = new Map();
  const done = new Set();
  r.walk.slice(0, state.pos).forEach(([k, ids, , , , , complete]) => {
    got.set(k, (got.get(k) || 0) + ids.length);
    if (complete) done.add(k);
  });
  return { got, done };
}

function applyStep() {
  const r = R();
  const n = r.walk.length;
  const pos = state.pos;  // 0: the overview; k: step k has happened (r.walk[k - 1])
  const current = pos > 0 ? r.walk[pos - 1][0] : null;
  const inWalk = new Set(r.walk.map((s) => s[0]));
  const { got, done } = status();
  D.keys.forEach((key, k) => {
    const g = document.getElementById(key.id);
    if (!g) return;
    g.classList.toggle("current", k === current);
    g.classList.toggle("unreached", !inWalk.has(k));
    g.classList.toggle("pending", pos > 0 && inWalk.has(k) && !got.has(k) && !done.has(k));
    g.classList.toggle("partial", pos > 0 && got.has(k) && !done.has(k));
  });
  D.edges.forEach((E, i) => {
    const g = E.g && document.getElementById(E.g);
    if (!g) return;
    const at = r.edges[i][2];
    g.classList.toggle("nograd", at === null);
    g.classList.toggle("waiting", pos > 0 && at !== null && at > pos - 1);
    g.classList.toggle("fresh", pos > 0 && at === pos - 1);
  });
  $("counter").textContent = pos === 0 ? "overview (" + n + " steps)" : "step " + pos + " of " + n;
  $("play").textContent = state.timer ? "❚❚ pause" : "▶ play";
  $("story").replaceChildren(...story(pos));
  if (current !== null) {
    const g = document.getElementById(D.keys[current].id);
    if (g && g.scrollIntoView) g.scrollIntoView({ block: "nearest", inline: "center" });
    showNode(current);
  }
  drawPlot();
}

function story(pos) {
  const r = R();
  if (pos === 0) {
    const reached = new Set(r.walk.map((s) => s[0])).size;
    const out = [el("p", {}, "The gradient of " + r.name + ": each edge's width and number " +
      "show what came back along it, each node its ‖grad‖. " + reached + " drawn nodes " +
      "receive gradient from " + r.name + ", in " + r.walk.length + " steps. Press → " +
      "(or step) to walk the backward pass in the engine's order.")];
    if (r.t && r.t < D.steps[D.steps.length - 1]) {
      out.push(el("p", { class: "muted" }, r.name + " does not depend on the steps after " +
        r.t + ": nothing arrives there (the engine passes exact zeros through them, " +
        "which the walk leaves out)."));
    }
    return out;
  }
  const [k, ids, p, op, , [total, parts], complete] = r.walk[pos - 1];
  const where = el("p", { class: "muted" }, "engine: node " + (p + 1) + " of " + r.ops +
    " in backward order; the backward of its op (" + op + ") just ran" +
    (pos > 2 && r.walk[pos - 2][2] === p ? " (the same op as in the step before)" : "") + ".");
  if (pos === 1) {
    return [el("p", { id: "step-text" }, "Step 1: the backward pass starts at " + name(k) +
      ", seeded with " + sameLoss() + "/∂" + name(k) + " = 1.")];
  }
  const words = ids.map((e) => r.edges[e][3] + " " + roadWords(e));
  let text = "Step " + pos + ": " + name(k) + " receives " + words.join(" and ") +
    " — it now holds " + total;
  if (parts.length > 1) {
    text += " = " + parts.map(([e, part], j) => {
      const neg = part.startsWith("−");
      const E = D.edges[e];
      const twin = parts.some(([f]) => f !== e && D.edges[f].dst === E.dst);
      const term = (neg ? part.slice(1) : part) + " (from " + name(E.dst) +
        (twin ? (E.through.length ? " through " + E.through.join(", ") : " directly") : "") + ")";
      return j === 0 ? (neg ? "−" : "") + term : (neg ? " − " : " + ") + term;
    }).join("");
  }
  const out = [el("p", { id: "step-text" }, text + ".")];
  const reachedBy = new Set(r.walk.map((s) => s[0]));
  if (complete) {
    const next = [...new Set(D.edges.map((E, i) => [E, i])
      .filter(([E, i]) => E.dst === k && reachedBy.has(E.src) && r.edges[i][2] !== null)
      .map(([E]) => name(E.src)))];
    out.push(el("p", {}, "That is all of " + sameLoss() + "/∂" + name(k) + "; " +
      (next.length ? "from here it goes on to " + next.join(", ")
        : "it goes no further (nothing it depends on needs a gradient)") + "."));
  } else {
    const later = D.edges.map((E, i) => [E, i]).filter(([E, i]) => E.src === k &&
      r.edges[i][2] !== null && r.edges[i][2] > pos - 1)
      .map(([E]) => name(E.dst) + (direct(E) ? " directly" : ""));
    out.push(el("p", {}, "More arrives later from " + [...new Set(later)].join(", ") +
      "; the picture shows the total, ‖grad‖ " + r.gradText[k] + ", and each road's " +
      "share of it."));
  }
  out.push(where);
  return out;
}

// ---- inspecting ------------------------------------------------------------------------
function showNode(k) {
  const key = D.keys[k];
  const r = R();
  const tags = Object.entries(key.tags).filter(([, v]) => v !== null)
    .map(([a, v]) => a + "=" + v).join(", ");
  const roads = D.edges.map((E, i) => [E, i]).filter(([E, i]) => E.src === k &&
    r.edges[i][0] !== null);
  const box = $("inspect");
  box.replaceChildren(el("div", { class: "big" }, key.name),
    el("div", {}, "op " + key.op + "; tags " + (tags || "none") + "; shape (" +
      key.shape.join(", ") + ")"),
    el("div", {}, "‖data‖ " + num(key.data) + ";  ‖" + sameLoss() + "/∂" + key.name + "‖ " +
      (r.grads[k] === null ? "– (not reached)" : r.gradText[k])));
  if (roads.length) {
    const ul = el("ul");
    for (const [, i] of roads) {
      const at = r.edges[i][2];
      ul.append(el("li", {}, roadWords(i) + ": ‖part‖ " + r.edges[i][3] + ", share " +
        r.edges[i][4] + (at === null ? "" : " (arrives at step " + (at + 1) + ")")));
    }
    box.append(el("div", {}, "roads in (the shares add up to ‖grad‖):"), ul);
  }
}

function showEdge(i) {
  const E = D.edges[i];
  const r = R();
  const [, , at, normText, shareText] = r.edges[i];
  const box = $("inspect");
  box.replaceChildren(el("div", { class: "big" }, name(E.src) + " → " + name(E.dst)),
    el("div", {}, "forward: " + name(E.src) + " feeds " + name(E.dst) + via(E) +
      "; backward: gradient comes back from " + name(E.dst) + " to " + name(E.src) + "."),
    el("div", {}, at === null ? "Nothing comes back along it for " + r.name + "."
      : "‖part‖ " + normText + ", share " + shareText + " of ‖" + sameLoss() + "/∂" +
      name(E.src) + "‖ = " + r.gradText[E.src] + "; arrives at step " + (at + 1) + "."));
  const w = D.weights.findIndex((W) => E.through.includes(W.name) && !W.bias);
  if (w >= 0) { state.weight = w; drawWeightChart(); }
}

function drawWeights() {
  const r = R();
  const box = $("weights");
  box.replaceChildren();
  D.weights.forEach((w, i) => {
    const b = el("button", { class: "weight" + (w.bias ? " bias" : ""), "aria-pressed":
      String(state.weight === i) }, w.name + (w.bias && w.label !== w.name ? " (" + w.label +
      ")" : "") + "  " + num(r.weights[i].grad));
    b.addEventListener("click", () => { state.weight = i; drawWeights(); });
    box.append(b);
  });
  drawWeightChart();
}

function drawWeightChart() {
  const box = $("wchart");
  if (state.weight === null) {
    box.textContent = "click a weight (or an edge) to see how much of its gradient each " +
      "step gave";
    return;
  }
  const w = D.weights[state.weight];
  const W = R().weights[state.weight];
  const vals = W.steps.map((v) => v || 0);
  const big = Math.max(1e-300, ...vals.map(Math.abs));
  const neg = vals.some((v) => v < 0);
  const [left, width, top] = [52, 276, 10];
  const scale = neg ? 35 : 60;  // bar height of the largest share
  const base = top + scale;  // the zero line
  const ticks = base + (neg ? scale : 0) + 14;
  const bw = width / Math.max(1, vals.length);
  let s = `<line x1="${left - 2}" x2="${left + width}" y1="${base}" y2="${base}" stroke="#888"/>` +
    `<text x="${left - 6}" y="${top + 4}" font-size="10" text-anchor="end">${num(big)}</text>` +
    `<text x="${left - 6}" y="${base + 4}" font-size="10" text-anchor="end">0</text>` +
    `<text x="${left - 6}" y="${ticks}" font-size="10" text-anchor="end">t</text>`;
  vals.forEach((v, j) => {
    const h = scale * Math.abs(v) / big;
    s += `<rect x="${left + j * bw + 1}" y="${v >= 0 ? base - h : base}"` +
      ` width="${Math.max(1, bw - 2)}" height="${h}" fill="${D.colors.h}">` +
      `<title>t=${D.steps[j]}: share ${num(W.steps[j])}</title></rect>`;
    if (vals.length <= 12 || j % Math.ceil(vals.length / 12) === 0) {
      s += `<text x="${left + (j + 0.5) * bw}" y="${ticks}" font-size="10" ` +
        `text-anchor="middle">${D.steps[j]}</text>`;
    }
  });
  box.innerHTML = `<div><b>${w.name}</b> (${w.label}, shape ${w.shape.join("×")}): ` +
    `‖∂${R().name}/∂W‖ = ${num(W.grad)}. Each step t's share of it (the shares add up to ` +
    `it${W.other ? "; uses without a step: " + num(W.other) : ""}):</div>` +
    `<svg width="340" height="${ticks + 6}" role="img" aria-label="share per step">${s}</svg>`;
}

// ---- the plot: ||dL/dh_k|| against k, per layer, log scale ---------------------------
const LINES = [["#222222", ""], ["#555555", "6 3"], ["#888888", "2 2"], ["#222222", "8 2 2 2"]];
function drawPlot() {
  const r = R();
  const rows = new Map();
  D.keys.forEach((k, i) => {
    if (k.tags.role !== "h" || !k.tags.t) return;
    const key = String(k.tags.layer || 1).replace(/\d/g, (c) => SUP[c]) +
      (k.tags.direction === "bwd" ? "′" : "");
    if (!rows.has(key)) rows.set(key, []);
    if (r.grads[i]) rows.get(key).push([k.tags.t, r.grads[i], i]);
  });
  const all = [...rows.values()].flat();
  const box = $("plot");
  if (!all.length) { box.textContent = "no hₖ is reached"; return; }
  const T = D.steps.length ? D.steps[D.steps.length - 1] : 1;
  let lo = Math.floor(Math.log10(Math.min(...all.map((p) => p[1]))));
  let hi = Math.ceil(Math.log10(Math.max(...all.map((p) => p[1]))));
  if (hi === lo) hi = lo + 1;
  const X = (t) => 44 + (T > 1 ? (t - 1) / (T - 1) : 0.5) * 240;
  const Y = (v) => 10 + (hi - Math.log10(v)) / (hi - lo) * 110;
  const every = Math.ceil((hi - lo) / 6);
  let s = "";
  for (let d = lo; d <= hi; d++) {
    s += `<line x1="44" x2="284" y1="${Y(10 ** d)}" y2="${Y(10 ** d)}" stroke="#e4e4e4"/>`;
    if ((d - lo) % every === 0) {
      s += `<text x="40" y="${Y(10 ** d) + 3}" font-size="10" text-anchor="end">` +
        `10${String(d).replace("-", "⁻").replace(/\d/g, (c) => SUP[c])}</text>`;
    }
  }
  const tick = Math.ceil(T / 10);
  for (let t = 1; t <= T; t += tick) {
    s += `<text x="${X(t)}" y="134" font-size="10" text-anchor="middle">${t}</text>`;
  }
  const cur = state.pos > 0 ? r.walk[state.pos - 1][0] : null;
  [...rows.entries()].forEach(([key, pts], j) => {
    const [c, dash] = LINES[j % LINES.length];
    s += `<polyline fill="none" stroke="${c}" stroke-width="1.5" stroke-dasharray="${dash}" ` +
      `points="${pts.map((p) => X(p[0]) + "," + Y(p[1])).join(" ")}"/>`;
    for (const p of pts) {
      const on = p[2] === cur;
      s += `<circle cx="${X(p[0])}" cy="${Y(p[1])}" r="${on ? 5.5 : 2.5}"` +
        ` fill="${on ? "#fff" : c}"` +
        ` stroke="${c}" stroke-width="${on ? 2.5 : 0}"><title>${D.keys[p[2]].name}: ` +
        `${num(p[1])}</title></circle>`;
    }
    s += `<line x1="292" x2="312" y1="${16 + 14 * j}" y2="${16 + 14 * j}" stroke="${c}" ` +
      `stroke-width="1.5" stroke-dasharray="${dash}"/><text x="316" y="${20 + 14 * j}" ` +
      `font-size="11">h${key}</text>`;
  });
  s += `<text x="164" y="148" font-size="10" text-anchor="middle">k (the step of hₖ)</text>`;
  box.innerHTML = `<svg width="350" height="152" role="img" aria-label="gradient norm ` +
    `against step, log scale">${s}</svg>`;
}

// ---- controls -----------------------------------------------------------------------
function go(pos) {
  state.pos = Math.max(0, Math.min(R().walk.length, pos));
  applyStep();
}
function play() {
  if (state.timer) { clearInterval(state.timer); state.timer = null; applyStep(); return; }
  if (state.pos >= R().walk.length) state.pos = 0;
  state.timer = setInterval(() => {
    if (state.pos >= R().walk.length) { play(); return; }
    go(state.pos + 1);
  }, 700);
  applyStep();
}
$("step").addEventListener("click", () => go(state.pos + 1));
$("back").addEventListener("click", () => go(state.pos - 1));
$("play").addEventListener("click", play);
$("root").addEventListener("input", (ev) => {
  state.root = Number(ev.target.value);
  state.pos = 0;
  applyRoot();
  applyStep();
});
document.addEventListener("keydown", (ev) => {
  if (ev.target.tagName === "INPUT" || ev.altKey || ev.ctrlKey || ev.metaKey) return;
  const keys = { ArrowRight: () => go(state.pos + 1), ArrowLeft: () => go(state.pos - 1),
    " ": play, Home: () => go(0), End: () => go(R().walk.length) };
  if (keys[ev.key]) { keys[ev.key](); ev.preventDefault(); }
});
D.keys.forEach((k, i) => {
  const g = document.getElementById(k.id);
  if (!g) return;
  g.setAttribute("tabindex", "0");
  g.setAttribute("aria-label", k.name);
  for (const on of ["mouseenter", "click", "focus"]) g.addEventListener(on, () => showNode(i));
});
D.edges.forEach((E, i) => {
  const g = E.g && document.getElementById(E.g);
  if (!g) return;
  for (const p of g.querySelectorAll(`polygon[fill="${D.halo}"]`)) p.classList.add("halo");
  g.setAttribute("tabindex", "0");
  g.setAttribute("aria-label", name(E.src) + " to " + name(E.dst));
  for (const on of ["click", "focus"]) g.addEventListener(on, () => showEdge(i));
});
// the picture fits the window's height at first, but no smaller than 80 % (its numbers
// stay readable; the walk scrolls to the current node); + and - zoom
const size = [svg.width.baseVal.value, svg.height.baseVal.value];
let zoom = Math.max(0.8, Math.min(1, ($("view").clientHeight - 4) / size[1]));
function applyZoom() {
  svg.style.width = size[0] * zoom + "px";
  svg.style.height = size[1] * zoom + "px";
}
document.addEventListener("keydown", (ev) => {
  if (ev.key === "+" || ev.key === "=") { zoom = Math.min(2, zoom * 1.2); applyZoom(); }
  else if (ev.key === "-") { zoom = Math.max(0.2, zoom / 1.2); applyZoom(); }
});
applyZoom();
applyRoot();
applyStep();
