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
  showError("");
}

// ---- tagging --------------------------------------------------------------------------------
async function tag() {
  showError("");
  const name = $("model").value;
  try {
    const data = await call(`/models/${encodeURIComponent(name)}/tag`, {text: $("tag-text").value});
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

function wordChip(word) {
  const main = word.upos !== undefined ? "upos" : Object.keys(word).find((k) => k !== "id" && k !== "form");
  const chip = element("span", "word");
  chip.dataset.tag = word[main];
  chip.style.background = tagColour(word[main]);
  if (word.form !== undefined) chip.append(element("span", "form", word.form));
  chip.append(element("span", "tag", word[main]));
  const others = Object.entries(word).filter(([k]) => !["id", "form", main].includes(k));
  chip.title = others.map(([k, v]) => `${k.toUpperCase()}: ${v}`).join("\n");
  return chip;
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
