// Charts drawn as inline SVG by this file alone: a multi-series line chart over periods and a
// grouped bar chart. Every series and mark carries data-* attributes (its key and value) and a
// <title> tooltip, so the figures are readable by tests and screen readers alike.

const NS = "http://www.w3.org/2000/svg";
export const PALETTE = [
  "#1c6fb8", "#e8710a", "#1e8e3e", "#d93025", "#9334e6", "#12a4af", "#f9ab00", "#5f6368",
];
// The drawing's size in CSS pixels (one user unit = one pixel, so text keeps its size): set by
// each chart call from its spec before anything is drawn.
let W = 720;
let H = 320;
const M = { top: 44, right: 18, bottom: 64, left: 78 };

function el(tag, attrs = {}, ...children) {
  const node = document.createElementNS(NS, tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value !== undefined && value !== null) node.setAttribute(key, String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(typeof child === "string" ? document.createTextNode(child) : child);
  }
  return node;
}

function title(text) {
  return el("title", {}, text);
}

// Round tick steps (1, 2, 5 × 10^n) from 0 to at least max.
export function niceTicks(max, count = 5, integer = false) {
  if (!(max > 0)) return [0, 1];
  const raw = max / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  let step = [1, 2, 5, 10].map((f) => f * power).find((s) => s >= raw) || 10 * power;
  if (integer) step = Math.max(1, Math.ceil(step));
  const ticks = [];
  for (let v = 0; v <= max + step * 0.999; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

function frame(svg, ticks, yLabel, format) {
  const top = ticks[ticks.length - 1];
  const y = (v) => M.top + (H - M.top - M.bottom) * (1 - v / top);
  const axis = el("g", { class: "axis" });
  for (const tick of ticks) {
    axis.append(
      el("line", { class: "grid-line", x1: M.left, x2: W - M.right, y1: y(tick), y2: y(tick) }),
      el("text", { x: M.left - 8, y: y(tick) + 4, "text-anchor": "end" }, format(tick)),
    );
  }
  axis.append(
    el("line", { class: "axis-line", x1: M.left, x2: M.left, y1: M.top, y2: H - M.bottom }),
    el("line", { class: "axis-line", x1: M.left, x2: W - M.right, y1: H - M.bottom, y2: H - M.bottom }),
    el(
      "text",
      {
        class: "axis-label",
        transform: `translate(16 ${(M.top + H - M.bottom) / 2}) rotate(-90)`,
        "text-anchor": "middle",
      },
      yLabel,
    ),
  );
  svg.append(axis);
  return y;
}

function legend(svg, series, onToggle) {
  const g = el("g", { class: "legend" });
  let x = M.left;
  series.forEach((s, i) => {
    const color = s.color || PALETTE[i % PALETTE.length];
    const item = el(
      "g",
      { transform: `translate(${x} 14)`, "data-legend": s.key },
      el("rect", { width: 12, height: 12, rx: 2, fill: color }),
      el("text", { x: 17, y: 10 }, s.label),
    );
    g.append(item);
    x += 34 + Math.min(260, [...s.label].reduce((w, ch) => w + (ch.charCodeAt(0) > 255 ? 12 : 7), 0));
  });
  svg.append(g);
}

function shell(spec, kind, total) {
  const svg = el("svg", {
    viewBox: `0 0 ${W} ${H}`,
    width: W,
    height: H,
    role: "img",
    "aria-label": spec.summary || spec.title || "",
    "data-chart": spec.id || kind,
    "data-total": total,
  });
  if (spec.title) svg.append(title(spec.title));
  return svg;
}

function noData(svg, text) {
  const height = 90; // an empty chart says so in a short box
  svg.setAttribute("viewBox", `0 0 ${W} ${height}`);
  svg.setAttribute("height", height);
  svg.append(el("text", { class: "no-data", x: W / 2, y: height / 2, "text-anchor": "middle" }, text));
  return svg;
}

/**
 * A line chart.
 * spec: {id, title, summary, xLabel, yLabel, labels: [x…], xFormat(x), format(v), empty,
 *        series: [{key, label, color, values: {x: number}, tip(x, v)}]}
 */
export function lineChart(spec) {
  W = Math.max(320, spec.width || 720);
  H = spec.height || 320;
  const labels = spec.labels;
  const total = spec.series.reduce(
    (sum, s) => sum + Object.values(s.values).reduce((a, b) => a + b, 0),
    0,
  );
  const svg = shell(spec, "line", total);
  if (!labels.length || !spec.series.length) return noData(svg, spec.empty);
  const max = Math.max(0, ...spec.series.flatMap((s) => Object.values(s.values)));
  const ticks = niceTicks(max, 5, spec.integer);
  const y = frame(svg, ticks, spec.yLabel, spec.format);
  const inner = W - M.left - M.right;
  const x = (i) => (labels.length === 1 ? M.left + inner / 2 : M.left + 24 + ((inner - 48) * i) / (labels.length - 1));
  const every = Math.max(1, Math.ceil(labels.length / 10));
  const ticksX = el("g", { class: "tick" });
  labels.forEach((label, i) => {
    if (i % every !== 0 && i !== labels.length - 1) return;
    ticksX.append(
      el(
        "text",
        { x: x(i), y: H - M.bottom + 16, "text-anchor": labels.length > 6 ? "end" : "middle",
          transform: labels.length > 6 ? `rotate(-35 ${x(i)} ${H - M.bottom + 16})` : null },
        spec.xFormat ? spec.xFormat(label) : label,
      ),
    );
  });
  ticksX.append(
    el("text", { class: "axis-label", x: (M.left + W - M.right) / 2, y: H - 8, "text-anchor": "middle" }, spec.xLabel),
  );
  svg.append(ticksX);
  spec.series.forEach((s, i) => {
    const color = s.color || PALETTE[i % PALETTE.length];
    const sum = Object.values(s.values).reduce((a, b) => a + b, 0);
    const g = el("g", { "data-series": s.key, "data-sum": sum });
    const points = labels.map((label, j) => [x(j), y(s.values[label] || 0), label, s.values[label] || 0]);
    g.append(
      el("polyline", {
        points: points.map(([px, py]) => `${px},${py}`).join(" "),
        fill: "none",
        stroke: color,
        "stroke-width": 2.2,
      }),
    );
    for (const [px, py, label, value] of points) {
      g.append(
        el(
          "circle",
          { cx: px, cy: py, r: 4, fill: "#fff", stroke: color, "stroke-width": 2, "data-x": label, "data-value": value },
          title(s.tip ? s.tip(label, value) : `${s.label} · ${label}: ${spec.format(value)}`),
        ),
      );
    }
    svg.append(g);
  });
  legend(svg, spec.series);
  return svg;
}

/**
 * A grouped bar chart.
 * spec: {id, title, summary, yLabel, format(v), integer, empty, onCategory(key),
 *        categories: [{key, label}], series: [{key, label, color, values: {category: number}}]}
 */
export function barChart(spec) {
  W = Math.max(320, spec.width || 720);
  H = spec.height || 320;
  const total = spec.series.reduce(
    (sum, s) => sum + Object.values(s.values).reduce((a, b) => a + b, 0),
    0,
  );
  const svg = shell(spec, "bars", total);
  if (!spec.categories.length || !spec.series.length) return noData(svg, spec.empty);
  const max = Math.max(0, ...spec.series.flatMap((s) => Object.values(s.values)));
  const ticks = niceTicks(max, 5, spec.integer);
  const y = frame(svg, ticks, spec.yLabel, spec.format);
  const inner = W - M.left - M.right;
  const band = inner / spec.categories.length;
  const width = Math.min(46, (band * 0.75) / spec.series.length);
  const groups = new Map(spec.series.map((s) => [s.key, el("g", { "data-series": s.key, "data-sum": Object.values(s.values).reduce((a, b) => a + b, 0) })]));
  spec.categories.forEach((category, ci) => {
    const left = M.left + band * ci + (band - width * spec.series.length) / 2;
    const link = spec.onCategory ? " link" : "";
    const label = el(
      "text",
      {
        class: `category${link}`,
        x: M.left + band * ci + band / 2,
        y: H - M.bottom + 16,
        "text-anchor": "middle",
        "data-category": category.key,
      },
      category.label.length > 18 ? `${category.label.slice(0, 17)}…` : category.label,
      title(category.label),
    );
    if (spec.onCategory) label.addEventListener("click", () => spec.onCategory(category.key));
    svg.append(el("g", { class: "tick" }, label));
    spec.series.forEach((s, si) => {
      const value = s.values[category.key] || 0;
      const color = s.color || PALETTE[si % PALETTE.length];
      const top = y(value);
      const bar = el(
        "rect",
        {
          class: `bar${link}`,
          x: left + si * width,
          y: top,
          width: Math.max(1, width - 2),
          height: Math.max(0, H - M.bottom - top),
          fill: color,
          "data-category": category.key,
          "data-value": value,
        },
        title(`${category.label} · ${s.label}: ${spec.format(value)}`),
      );
      if (spec.onCategory) bar.addEventListener("click", () => spec.onCategory(category.key));
      groups.get(s.key).append(bar);
    });
  });
  for (const g of groups.values()) svg.append(g);
  if (spec.xLabel) {
    svg.append(el("text", { class: "axis-label", x: (M.left + W - M.right) / 2, y: H - 8, "text-anchor": "middle" }, spec.xLabel));
  }
  legend(svg, spec.series);
  return svg;
}
