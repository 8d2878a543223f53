// dynlp serve's page: pick a model, tag text or sample and score with a language model.
// Plain JavaScript against the server's JSON API (dynlp/serve/app.py); text from the models is
// always put in the page as text (textContent), never as HTML.
"use strict";

// One hue per universal part of speech; other tags get a hue from their name.
const UPOS_HUES = {
  NOUN: 210, PROPN: 190, VERB: 0, AUX: 20, ADJ: 120, ADV: 90, PRON: 270, DET: 300,
  ADP: 40, CCONJ: 55, SCONJ: 65, NUM: 160, PART: 330, INTJ: 350, PUNCT: 0, SYM: 0, X: 0,
};
const $ = (id) => document.getElementById(id);
let models = {};

function tagColour(tag) {
  if (tag === "PUNCT" || tag === "SYM" || tag === "X") return "hsl(0, 0%, 88%)";
  let hue = UPOS_HUES[tag];
  if (hue === undefined) hue = [...tag].reduce((h, c) => (h * 31 + c.charCodeAt(0)) % 360, 7);
  return `hsl(${hue}, 70%, 85%)`;
}

function showError(message) {
  $("error").textContent = message;
  $("error").hidden = !message;
}

async function call(path, body) {
  const response = await fetch(path, body === undefined ? {} : {
    method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body),
  });
  const data = await response.json();
  if (!response.ok) throw new Error(data.error || `HTTP ${response.status}`);
  return data;
}

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

// ---- models ---------------------------------------------------------------------------------
async function loadModels() {
  const data = await call("/models");
  const select = $("model");
  for (const model of data.models) {
    models[model.name] = model;
    const option = element("option", "", `${model.name} (${model.kind})`);
    option.value = model.name;
    select.append(option);
  }
  select.addEventListener("change", showModel);
  showModel();
}

function showModel() {
  const model = models[$("model").value];
  if (!model) return;
  $("tagger").hidden = model.kind !== "tagger";
  $("lm").hidden = model.kind !== "language-model";
  const config = model.config;
  const what = model.kind === "tagger" ? `columns: ${config.columns}`
    : config.family === "ngram" ? `${config.order}-gram, ${config.level} level`
    : `${config.layers} × ${config.hidden_dim} ${config.cell}, ${config.level} level`;
  const metrics = (model.training || {}).metrics || {};
  const score = metrics.dev_ppl ? `, dev perplexity ${metrics.dev_ppl.toFixed(2)}`
    : metrics.dev_score ? `, dev score ${(100 * metrics.dev_score).toFixed(2)}%` : "";
  $("model-info").textContent = what + score;
  if (model.card) showCard(model.card);
  showError("");
}

// ---- the model card and its dev curve ---------------------------------------------------------
const KINDS = {tagger: "tagger", recurrent: "recurrent language model",
               ngram: "n-gram language model"};
const NAMES = {emb_dim: "embeddings", char_dim: "characters", hidden_dim: "hidden", mlp_dim: "MLP",
               tie_weights: "tied weights", alltags: "AllTags", score: "mean", feats: "FEATS",
               bits_per_token: "bits per token"};
const count = (n) => n.toLocaleString("en-US");
const pairs = (object) => Object.entries(object).map(([k, v]) => `${NAMES[k] || k} ${v}`)
  .join(" · ");

// A dev figure as people read it: accuracies in %, perplexity and losses as decimals.
function devFigure(key, value) {
  const name = key.replace(/^dev_/, "");
  if (value === null || value === undefined) return `${name} –`;
  if (name === "tokens") return `on ${count(value)} tokens`;
  if (name === "ppl") return `perplexity ${value.toFixed(2)}`;
  if (name === "loss" || name === "bits_per_token") {
    return `${NAMES[name] || name} ${value.toFixed(3)}`;
  }
  return `${NAMES[name] || name.toUpperCase()} ${(100 * value).toFixed(2)}%`;
}

function bytes(n) {
  if (n < 1e3) return `${n} bytes`;
  return n < 1e6 ? `${(n / 1e3).toFixed(1)} kB` : `${(n / 1e6).toFixed(1)} MB`;
}

function duration(seconds) {
  if (seconds === null || seconds === undefined) return "unknown time";
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const minutes = Math.round(seconds / 60);
  return minutes < 60 ? `${minutes} min` : `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

// [term, text, id] of each line of the card.
function cardRows(card) {
  const orders = card.ngrams ? `: ${card.ngrams.map(count).join(" / ")} n-grams of order 1 ` +
    `to ${card.ngrams.length}` : "";
  const parameters = card.parameters !== null ? count(card.parameters) : `none${orders}`;
  const epochs = card.epochs === null ? ""
    : `${card.epochs} epoch${card.epochs === 1 ? "" : "s"}, `;
  const best = Object.entries(card.best_dev).map(([k, v]) => devFigure(k, v)).join(" · ");
  const kept = card.best_epoch !== null ? `epoch ${card.best_epoch}: ` : "";
  return [["kind", KINDS[card.family] || card.kind, "kind"], ["model", pairs(card.model), "model"],
          ["sizes", pairs(card.sizes) || "–", "sizes"], ["parameters", parameters, "parameters"],
          ["on disk", bytes(card.disk_bytes), "disk"],
          ["training", epochs + duration(card.training_seconds), "training"],
          ["best dev", kept + (best || "–"), "best"]];
}

function showCard(card) {
  const fields = [];
  for (const [term, text, id] of cardRows(card)) {
    const dd = element("dd", "", text);
    dd.id = `card-${id}`;
    fields.push(element("dt", "", term), dd);
  }
  $("card-fields").replaceChildren(...fields);
  drawCurve(card.curve, card.best_epoch);
}

// SVG elements in the namespace of the page's own <svg> (the HTML parser gave it that).
function svg(tag, attributes, text) {
  const node = document.createElementNS($("curve-chart").namespaceURI, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

// Where the chart's figures go: x from the first to the last epoch, y from the lowest figure
// (at the bottom) to the highest; a single value sits in the middle.
const CHART = {width: 420, height: 200, left: 62, right: 14, top: 14, bottom: 34};
function scale(low, high, from, to) {
  return (v) => (high === low ? (from + to) / 2 : from + (v - low) / (high - low) * (to - from));
}

// The curve as inline SVG: one polyline point (and one circle, hover for its figure) per epoch,
// the axes labelled with the first and last epoch and the lowest and highest figure.
function drawCurve(curve, bestEpoch) {
  const points = curve.epochs.map((epoch, i) => [epoch, curve.values[i]])
    .filter(([, v]) => v !== null);
  const chart = $("curve-chart");
  chart.replaceChildren();
  chart.classList.toggle("empty", !points.length);
  if (!points.length) {
    $("curve-caption").textContent = "no training curve (no dev figures by epoch)";
    return;
  }
  const {width: W, height: H, left, right, top, bottom} = CHART;
  const xs = points.map(([e]) => e), ys = points.map(([, v]) => v);
  const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const x = scale(x0, x1, left, W - right), y = scale(y0, y1, H - bottom, top);
  const show = (v) => (curve.metric === "dev_ppl" ? v.toFixed(2) : `${(100 * v).toFixed(2)}%`);
  chart.setAttribute("viewBox", `0 0 ${W} ${H}`);
  chart.setAttribute("width", W);
  chart.setAttribute("height", H);
  chart.setAttribute("aria-label", `${curve.label} by epoch`);
  chart.append(
    svg("line", {class: "axis", x1: left, y1: top, x2: left, y2: H - bottom}),
    svg("line", {class: "axis", x1: left, y1: H - bottom, x2: W - right, y2: H - bottom}),
    svg("text", {x: left - 6, y: top + 4, "text-anchor": "end"}, show(y1)),
    svg("text", {x: left - 6, y: H - bottom, "text-anchor": "end"}, show(y0)),
    svg("text", {x: left, y: H - bottom + 14, "text-anchor": "middle"}, String(x0)),
    svg("text", {x: W - right, y: H - bottom + 14, "text-anchor": "end"}, String(x1)),
    svg("text", {x: (left + W) / 2, y: H - 4, "text-anchor": "middle"}, "epoch"),
    svg("polyline", {class: "line", points: points.map(
      ([e, v]) => `${x(e).toFixed(1)},${y(v).toFixed(1)}`).join(" ")}),
    ...points.map(([e, v]) => {
      const dot = svg("circle", {cx: x(e), cy: y(v), r: 3, class: e === bestEpoch ? "best" : ""});
      dot.append(svg("title", {}, `epoch ${e}: ${show(v)}`));
      return dot;
    }));
  const note = curve.earlier_left_out ? ` (the last ${points.length} epochs)` : "";
  $("curve-caption").textContent = `${curve.label} by epoch${note}; the kept epoch in orange`;
}

// ---- tagging --------------------------------------------------------------------------------
async function tag() {
  showError("");
  const name = $("model").value;
  try {
    const data = await call(`/models/${encodeURIComponent(name)}/tag`,
                            {text: $("tag-text").value, n_best: PAGE_N_BEST});
    const output = $("tag-output");
    output.replaceChildren();
    const seen = new Set();
    for (const sentence of data.sentences) {
      const row = element("div", "sentence");
      for (const word of sentence) {
        row.append(wordChip(word));
        seen.add(word.upos);
      }
      output.append(row);
    }
    $("legend").replaceChildren(...[...seen].filter((t) => t).sort().map(
      (t) => wordChip({upos: t})));
  } catch (error) {
    showError(error.message);
  }
}

// The page asks for each word's probabilities and this many alternatives per column; a word
// whose first column's value has a probability under UNSURE is marked (dashed outline).
const PAGE_N_BEST = 3;
const UNSURE = 0.9;

function wordChip(word) {
  const notTags = ["id", "form", "probabilities", "alternatives"];
  const main = word.upos !== undefined ? "upos" : Object.keys(word).find((k) => !notTags.includes(k));
  const chip = element("span", "word");
  chip.dataset.tag = word[main];
  chip.style.background = tagColour(word[main]);
  if (word.form !== undefined) chip.append(element("span", "form", word.form));
  chip.append(element("span", "tag", word[main]));
  const probabilities = word.probabilities || {};
  if (probabilities[main] !== undefined && probabilities[main] < UNSURE) chip.classList.add("unsure");
  const columns = Object.keys(word).filter((k) => !notTags.includes(k));
  chip.title = columns.map((k) => columnLine(k, word)).join("\n");
  return chip;
}

// "UPOS: NOUN 0.62 (or VERB 0.31, ADJ 0.05)": a column's value, its probability and alternatives.
function columnLine(column, word) {
  let line = `${column.toUpperCase()}: ${word[column]}`;
  const p = (word.probabilities || {})[column];
  if (p !== undefined) line += ` ${p.toFixed(2)}`;
  const others = (word.alternatives || {})[column] || [];
  if (others.length) line += ` (or ${others.map(([v, q]) => `${v} ${q.toFixed(2)}`).join(", ")})`;
  return line;
}

// ---- language models ------------------------------------------------------------------------
async function sample() {
  showError("");
  const topK = Number($("top-k").value);
  const body = {n: Number($("n").value), temperature: Number($("temperature").value),
                top_k: topK > 0 ? topK : null, prefix: $("prefix").value};
  try {
    const data = await call(`/models/${encodeURIComponent($("model").value)}/sample`, body);
    $("samples").replaceChildren(...data.samples.map(
      (s) => element("p", "sample", s || "(empty: the model ended the sentence at once)")));
  } catch (error) {
    showError(error.message);
  }
}

async function score() {
  showError("");
  try {
    const data = await call(`/models/${encodeURIComponent($("model").value)}/score`,
                            {lines: [$("score-text").value]});
    const tokens = data.tokens[0];
    // null is a probability of 0 (an unsmoothed n-gram model): JSON has no -Infinity.
    const nats = (x, digits) => (x === null ? "-∞" : x.toFixed(digits));
    const strip = tokens.map(({token, log_prob}) => {
      const span = element("span", "token", token);
      // 0 (certain) is green, -10 nats or less is red.
      const hue = log_prob === null ? 0 : Math.max(0, Math.min(1, 1 + log_prob / 10)) * 120;
      span.style.background = `hsl(${hue}, 75%, 80%)`;
      span.title = `log p = ${nats(log_prob, 3)}`;
      span.dataset.logProb = log_prob === null ? "-Infinity" : log_prob;
      return span;
    });
    const perplexity = data.perplexity === null ? "infinite" : data.perplexity.toFixed(2);
    const summary = element("div", "", `log p ${nats(data.log_probs[0], 2)} (nats), ` +
                            `perplexity ${perplexity}`);
    summary.id = "perplexity";
    $("score-output").replaceChildren(...strip, summary);
  } catch (error) {
    showError(error.message);
  }
}

function showSlider(input, output, format) {
  const update = () => { $(output).textContent = format(Number($(input).value)); };
  $(input).addEventListener("input", update);
  update();
}

$("tag-run").addEventListener("click", tag);
$("sample-run").addEventListener("click", sample);
$("score-run").addEventListener("click", score);
showSlider("temperature", "temperature-value", (v) => v.toFixed(2));
showSlider("top-k", "top-k-value", (v) => (v > 0 ? String(v) : "all"));
loadModels().catch((error) => showError(`could not list the models: ${error.message}`));
