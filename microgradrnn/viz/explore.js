// The BPTT explorer page: walks the backward pass on the cells view drawn above.
// Plain JavaScript, no library. The numbers come from the JSON that Python embedded
// (microgradrnn/viz/explore.py); nothing here computes a gradient.
"use strict";

const D = JSON.parse(document.getElementById("bptt-data").textContent);
const svg = document.querySelector("#view svg");
const panel = document.getElementById("panel");
const keyIx = new Map(D.keys.map((k, i) => [k.id, i]));
const state = { root: 0, pos: 0, timer: null, inspect: null, weight: null };

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
  if (a >= 1e-3 && a < 1e3) return a < 100 ? String(Number(x.toPrecision(2))) : x.toFixed(0);
  return x.toExponential(1);
}
function name(id) { return D.keys[keyIx.get(id)].name; }
function road(e) {
  return "from " + name(e.dst) + (e.through.length ? " through " + e.through.join(", ") : "");
}

// ---- the page's parts -------------------------------------------------------------
panel.innerHTML = `
  <h1>${D.title}</h1>
  <div class="row"><label for="root">which loss</label>
    <input type="range" id="root" min="0" max="${D.roots.length - 1}" value="0" step="1">
    <b id="rootname"></b></div>
  <div class="row" role="group" aria-label="walk">
    <button id="back" title="back (←)">◀ back</button>
    <button id="play" title="play / pause (space)">▶ play</button>
    <button id="step" title="step (→)">step ▶</button>
    <span id="counter"></span></div>
  <div id="story" aria-live="polite"></div>
  <h2>‖∂<span class="rn"></span>/∂h<sub>k</sub>‖ against k (log scale)</h2>
  <div id="plot"></div>
  <h2>node</h2><div id="inspect" class="box">hover or click a node</div>
  <h2>shared weights (click one)</h2><div id="weights"></div>
  <div id="wchart" class="box"></div>
  <p class="note">The walk goes one key node at a time (x, h, c, y, L as drawn), in the order
  the engine's backward loop (reversed topological order) reaches each one's tensor; the
  many ops inside a cell are contracted into one edge, and an edge counts as arrived once the
  op sending its gradient has run. Numbers are additive shares: the roads into a node add up
  to its ‖grad‖. Keys: ← → step, space play/pause, Home/End, + − zoom, Tab to the controls and nodes.</p>`;
const $ = (id) => document.getElementById(id);

// ---- drawing one state ----------------------------------------------------------------
function rootData() { return D.roots[state.root]; }
function stepOf(id) { return rootData().walk.indexOf(keyIx.get(id)); }

function applyRoot() {
  const R = rootData();
  $("rootname").textContent = R.name + (R.t ? "  (step " + R.t + " alone)" : "  (all steps)");
  for (const s of document.querySelectorAll(".rn")) s.textContent = R.name;
  D.keys.forEach((k, i) => {
    const g = document.getElementById(k.id);
    if (!g) return;
    const t = g.querySelector("tspan.num");
    if (t) {
      t.textContent = R.gradText[i];
      t.parentNode.style.visibility = R.gradText[i] ? "" : "hidden";
    }
  });
  D.edges.forEach((e, i) => {
    const g = document.getElementById("e-" + e.src + "-" + e.dst);
    if (!g) return;
    const [, , width, , text] = R.edges[i];
    for (const p of g.querySelectorAll("path, polygon")) {
      p.setAttribute("stroke-width", width === null ? D.penMin : width);
    }
    const t = g.querySelector("tspan.num");
    if (t) t.textContent = text;
  });
  // the heading drawn in the picture: its weights' numbers and which root it shows
  for (const t of svg.querySelectorAll("text")) {
    let s = t.textContent;
    if (s.includes("shared weights")) {
      const was = t.dataset.shown ? JSON.parse(t.dataset.shown) : D.roots[0].header;
      R.header.forEach(([w, v], j) => { s = s.replace(w + " " + was[j][1], w + " " + v); });
      t.dataset.shown = JSON.stringify(R.header);
      t.textContent = s;
    } else if (/gradients of (the root L|L\S* only)$/.test(s)) {
      t.textContent = s.replace(/gradients of (the root L|L\S* only)$/,
        state.root === 0 ? "gradients of the root L" : "gradients of " + R.name + " only");
    }
  }
  drawPlot();
  drawWeights();
}

function applyStep() {
  const R = rootData();
  const n = R.walk.length;
  const pos = state.pos;  // 0: overview; 1..n: the walk has reached R.walk[pos - 1]
  const reached = new Set(R.walk.map((k) => D.keys[k].id));
  const done = new Set(R.walk.slice(0, pos).map((k) => D.keys[k].id));
  const current = pos > 0 ? D.keys[R.walk[pos - 1]].id : null;
  for (const k of D.keys) {
    const g = document.getElementById(k.id);
    if (!g) continue;
    g.classList.toggle("current", k.id === current);
    g.classList.toggle("unreached", !reached.has(k.id));
    g.classList.toggle("pending", pos > 0 && reached.has(k.id) && !done.has(k.id));
  }
  D.edges.forEach((e, i) => {
    const g = document.getElementById("e-" + e.src + "-" + e.dst);
    if (!g) return;
    const arrive = R.edges[i][3];
    g.classList.toggle("nograd", arrive === null);
    g.classList.toggle("waiting", pos > 0 && arrive !== null && arrive >= pos);
    g.classList.toggle("fresh", pos > 0 && arrive === pos - 1);
  });
  $("counter").textContent = pos === 0 ? "overview" : "step " + pos + " of " + n;
  $("play").textContent = state.timer ? "❚❚ pause" : "▶ play";
  $("story").innerHTML = "";
  $("story").append(...story(pos));
  if (current) {
    const g = document.getElementById(current);
    if (g && g.scrollIntoView) g.scrollIntoView({ block: "nearest", inline: "center" });
    showNode(current);
  }
  drawPlot();
}

function roadsInto(id, upTo) {  // the edges whose gradient reached key node id, by upTo
  const R = rootData();
  const out = [];
  D.edges.forEach((e, i) => {
    const [norm, share, , arrive] = R.edges[i];
    if (e.src === id && arrive !== null && (upTo === undefined || arrive <= upTo)) {
      out.push({ e, norm, share, arrive });
    }
  });
  return out.sort((a, b) => a.arrive - b.arrive);
}

function story(pos) {
  const R = rootData();
  if (pos === 0) {
    return [el("p", {}, "The flow of " + R.name + ": widths and numbers show the gradient " +
      "that went back along each edge; a node shows its ‖grad‖. " + R.walk.length +
      " key nodes receive gradient from " + R.name + ". Press → (or step) to walk the " +
      "backward pass in the engine's order.")];
  }
  const id = D.keys[R.walk[pos - 1]].id;
  const i = keyIx.get(id);
  const k = D.keys[i];
  const p = el("p", { id: "step-text" });
  if (pos === 1) {
    p.textContent = "Step 1: the engine starts at " + k.name + ", seeded with ∂" + R.name +
      "/∂" + k.name + " = 1.";
    return [p];
  }
  const roads = roadsInto(id, pos - 1);
  const words = roads.map((r) => num(r.norm) + " " + road(r.e));
  let text = "Step " + pos + ": " + k.name + " receives " + words.join(" and ") + ".";
  text += " It now holds ‖∂" + R.name + "/∂" + k.name + "‖ = " + R.gradText[i];
  if (roads.length > 1) {
    text += " = " + roads.map((r) => num(r.share) + " (from " + name(r.e.dst) + ")")
      .join(" + ");
  }
  p.textContent = text + ".";
  const next = D.edges.filter((e) => e.dst === id && R.walk.includes(keyIx.get(e.src)))
    .map((e) => name(e.src));
  const more = [p];
  if (next.length) {
    more.push(el("p", { class: "muted" }, "From here its gradient goes on to " +
      [...new Set(next)].join(", ") + "."));
  }
  return more;
}

// ---- inspecting ------------------------------------------------------------------------
function showNode(id) {
  const i = keyIx.get(id);
  const k = D.keys[i];
  const R = rootData();
  const tags = Object.entries(k.tags).filter(([, v]) => v !== null)
    .map(([a, v]) => a + "=" + v).join(", ");
  const box = $("inspect");
  box.innerHTML = "";
  box.append(el("div", { class: "big" }, k.name),
    el("div", {}, "op " + k.op + "; tags " + (tags || "none") + "; shape (" +
      k.shape.join(", ") + ")"),
    el("div", {}, "‖data‖ " + num(k.data) + ";  ‖∂" + R.name + "/∂" + k.name + "‖ " +
      (R.grads[i] === null ? "– (not reached)" : num(R.grads[i]))));
  const roads = roadsInto(id);
  if (roads.length) {
    const ul = el("ul");
    for (const r of roads) {
      ul.append(el("li", {}, road(r.e) + ": ‖part‖ " + num(r.norm) + ", share " +
        num(r.share)));
    }
    box.append(el("div", {}, "roads in (shares add up to ‖grad‖):"), ul);
  }
  state.inspect = id;
}

function drawWeights() {
  const R = rootData();
  const box = $("weights");
  box.innerHTML = "";
  D.weights.forEach((w, i) => {
    const b = el("button", { class: "weight" + (w.bias ? " bias" : ""), "data-w": i },
      w.name + (w.bias && w.label !== w.name ? " (" + w.label + ")" : "") + "  " + num(R.weights[i].grad));
    b.addEventListener("click", () => { state.weight = i; drawWeightChart(); });
    box.append(b);
  });
  drawWeightChart();
}

function drawWeightChart() {
  const box = $("wchart");
  if (state.weight === null) { box.textContent = "click a weight to see each step's share"; return; }
  const w = D.weights[state.weight];
  const R = rootData();
  const W = R.weights[state.weight];
  const vals = W.steps.map((v) => v || 0);
  const big = Math.max(1e-300, ...vals.map(Math.abs));
  const bw = 300 / Math.max(1, vals.length);
  let bars = "";
  vals.forEach((v, j) => {
    const h = 50 * Math.abs(v) / big;
    const y = v >= 0 ? 60 - h : 60;
    bars += `<rect x="${10 + j * bw}" y="${y}" width="${Math.max(1, bw - 2)}" height="${h}"` +
      ` fill="${D.colors.h}"><title>t=${D.steps[j]}: share ${num(W.steps[j])}</title></rect>`;
  });
  box.innerHTML = `<div><b>${w.name}</b> (${w.label}, shape ${w.shape.join("×")}): ` +
    `‖∂${R.name}/∂W‖ = ${num(W.grad)}; each step's share (they add up to it):</div>` +
    `<svg width="320" height="80" role="img" aria-label="share per step">` +
    `<line x1="8" x2="312" y1="60" y2="60" stroke="#888"/>${bars}` +
    `<text x="10" y="76" font-size="10">t=${D.steps[0]}</text>` +
    `<text x="312" y="76" font-size="10" text-anchor="end">t=${D.steps[D.steps.length - 1]}` +
    `</text></svg>`;
}

// ---- the plot: ||dL/dh_k|| against k, per layer, log scale ---------------------------
function drawPlot() {
  const R = rootData();
  const rows = new Map();
  D.keys.forEach((k, i) => {
    if (k.tags.role !== "h" || !k.tags.t) return;
    const key = (k.tags.layer || 1) + (k.tags.direction === "bwd" ? "′" : "");
    if (!rows.has(key)) rows.set(key, []);
    if (R.grads[i]) rows.get(key).push([k.tags.t, R.grads[i], k.id]);
  });
  const all = [...rows.values()].flat();
  const box = $("plot");
  if (!all.length) { box.textContent = "no h_k reached"; return; }
  const T = D.steps.length ? D.steps[D.steps.length - 1] : 1;
  let lo = Math.log10(Math.min(...all.map((p) => p[1])));
  let hi = Math.log10(Math.max(...all.map((p) => p[1])));
  lo = Math.floor(lo); hi = Math.ceil(hi); if (hi === lo) hi = lo + 1;
  const X = (t) => 40 + (T > 1 ? (t - 1) / (T - 1) : 0.5) * 270;
  const Y = (v) => 10 + (hi - Math.log10(v)) / (hi - lo) * 110;
  const colours = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9"];
  let s = "";
  for (let d = lo; d <= hi; d++) {
    s += `<line x1="40" x2="310" y1="${Y(10 ** d)}" y2="${Y(10 ** d)}" stroke="#ddd"/>` +
      `<text x="36" y="${Y(10 ** d) + 3}" font-size="9" text-anchor="end">1e${d}</text>`;
  }
  const cur = state.pos > 0 ? D.keys[R.walk[state.pos - 1]].id : null;
  [...rows.entries()].forEach(([key, pts], j) => {
    const c = colours[j % colours.length];
    s += `<polyline fill="none" stroke="${c}" stroke-width="1.5" points="` +
      pts.map((p) => X(p[0]) + "," + Y(p[1])).join(" ") + `"/>`;
    for (const p of pts) {
      s += `<circle cx="${X(p[0])}" cy="${Y(p[1])}" r="${p[2] === cur ? 5 : 2.5}" fill="${c}"` +
        ` stroke="${p[2] === cur ? "#000" : "none"}"><title>h${p[0]} layer ${key}: ` +
        `${num(p[1])}</title></circle>`;
    }
    s += `<text x="${318}" y="${20 + 12 * j}" font-size="10" fill="${c}">h⁽${key}⁾</text>`;
  });
  s += `<text x="175" y="140" font-size="10" text-anchor="middle">k (the step of h_k)` +
    `</text><text x="40" y="140" font-size="9">1</text>` +
    `<text x="310" y="140" font-size="9" text-anchor="end">${T}</text>`;
  box.innerHTML = `<svg width="350" height="146" role="img" aria-label="gradient norm ` +
    `against step">${s}</svg>`;
}

// ---- controls -----------------------------------------------------------------------
function go(pos) {
  const n = rootData().walk.length;
  state.pos = Math.max(0, Math.min(n, pos));
  applyStep();
}
function play() {
  if (state.timer) { clearInterval(state.timer); state.timer = null; applyStep(); return; }
  if (state.pos >= rootData().walk.length) state.pos = 0;
  state.timer = setInterval(() => {
    if (state.pos >= rootData().walk.length) { play(); return; }
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
  if (ev.target.tagName === "INPUT") return;  // the slider keeps its own keys
  if (ev.key === "ArrowRight") { go(state.pos + 1); ev.preventDefault(); }
  else if (ev.key === "ArrowLeft") { go(state.pos - 1); ev.preventDefault(); }
  else if (ev.key === " ") { play(); ev.preventDefault(); }
  else if (ev.key === "Home") { go(0); ev.preventDefault(); }
  else if (ev.key === "End") { go(rootData().walk.length); ev.preventDefault(); }
});
for (const k of D.keys) {
  const g = document.getElementById(k.id);
  if (!g) continue;
  g.setAttribute("tabindex", "0");
  g.addEventListener("mouseenter", () => showNode(k.id));
  g.addEventListener("click", () => showNode(k.id));
  g.addEventListener("focus", () => showNode(k.id));
}
// the picture fits the window's height at first (no smaller than half size); + and - zoom
const size = [svg.width.baseVal.value, svg.height.baseVal.value];
let zoom = Math.max(0.5, Math.min(1, (document.getElementById("view").clientHeight - 4) /
  size[1]));
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
