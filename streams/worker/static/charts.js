/* Small SVG charts drawn with DOM calls only (no markup strings, no inline styles): every
   data point is one element of class "mark" with a <title> that the browser shows on hover.
   Colours come from page.css (.series-N). */
"use strict";

const Charts = (() => {
  const SVG = "http://www.w3.org/2000/svg";
  const WIDTH = 640, HEIGHT = 240, LEFT = 56, RIGHT = 12, TOP = 12, BOTTOM = 28;
  const LABEL_CHARS = 24;

  function svgElement(name, attributes, parent) {
    const element = document.createElementNS(SVG, name);
    for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, String(value));
    if (parent) parent.append(element);
    return element;
  }

  function mark(name, attributes, parent, label) {
    const element = svgElement(name, { ...attributes, class: "mark " + (attributes.class || "") },
      parent);
    svgElement("title", {}, element).textContent = label;
    return element;
  }

  function canvas(container, label) {
    const svg = svgElement("svg", { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: "img",
                                    "aria-label": label });
    container.replaceChildren(svg);
    return svg;
  }

  function niceMax(value) {
    if (value <= 0) return 1;
    const step = 10 ** Math.floor(Math.log10(value));
    return Math.ceil(value / step) * step;
  }

  function axes(svg, days, top, format) {
    const bottom = HEIGHT - BOTTOM;
    svgElement("line", { x1: LEFT, y1: bottom, x2: WIDTH - RIGHT, y2: bottom, class: "axis" }, svg);
    for (const fraction of [0, 0.5, 1]) {
      const y = bottom - fraction * (bottom - TOP);
      svgElement("line", { x1: LEFT, y1: y, x2: WIDTH - RIGHT, y2: y, class: "grid" }, svg);
      svgElement("text", { x: LEFT - 4, y: y + 4, class: "tick end" }, svg)
        .textContent = format(top * fraction);
    }
    const every = Math.max(1, Math.ceil(days.length / 6));
    days.forEach((day, index) => {
      if (index % every) return;
      svgElement("text", { x: xOf(index, days.length) + slot(days.length) / 2, y: HEIGHT - 8,
                           class: "tick middle" }, svg).textContent = day.slice(5);
    });
  }

  function slot(count) { return (WIDTH - LEFT - RIGHT) / Math.max(1, count); }
  function xOf(index, count) { return LEFT + index * slot(count); }
  function yOf(value, top) { return HEIGHT - BOTTOM - (value / top) * (HEIGHT - BOTTOM - TOP); }

  function legend(container, names) {
    const list = document.createElement("p");
    list.className = "legend";
    names.forEach((name, index) => {
      const item = document.createElement("span");
      item.className = "key series-" + (index % 8);
      item.textContent = name;
      list.append(item);
    });
    container.append(list);
  }

  /* Bars per day, each day's series stacked: rows is {day: {series: value}}. */
  function stackedBars(container, rows, { label, format, axis = format }) {
    const days = Object.keys(rows).sort();
    const names = [...new Set(days.flatMap((day) => Object.keys(rows[day])))].sort();
    const top = niceMax(Math.max(0, ...days.map((day) =>
      Object.values(rows[day]).reduce((sum, value) => sum + value, 0))));
    const svg = canvas(container, label);
    axes(svg, days, top, axis);
    const width = Math.max(1, slot(days.length) * 0.8);
    days.forEach((day, index) => {
      let base = 0;
      names.forEach((name, seriesIndex) => {
        const value = rows[day][name];
        if (value === undefined) return;
        const y = yOf(base + value, top);
        mark("rect", { x: xOf(index, days.length) + slot(days.length) * 0.1, y,
                       width, height: Math.max(0, yOf(base, top) - y),
                       class: "series-" + (seriesIndex % 8) }, svg,
             `${day} ${name}: ${format(value)}`);
        base += value;
      });
    });
    legend(container, names);
  }

  /* One line per series over the days, a dot per point: rows is {day: {series: value}}. */
  function lines(container, rows, { label, format }) {
    const days = Object.keys(rows).sort();
    const names = [...new Set(days.flatMap((day) => Object.keys(rows[day])))].sort();
    const top = niceMax(Math.max(0, ...days.flatMap((day) => Object.values(rows[day]))));
    const svg = canvas(container, label);
    axes(svg, days, top, format);
    const centre = (index) => xOf(index, days.length) + slot(days.length) / 2;
    names.forEach((name, seriesIndex) => {
      const points = days.map((day, index) => [index, rows[day][name]])
        .filter(([, value]) => value !== undefined);
      svgElement("polyline", {
        points: points.map(([index, value]) => `${centre(index)},${yOf(value, top)}`).join(" "),
        class: "line series-" + (seriesIndex % 8),
      }, svg);
      for (const [index, value] of points) {
        mark("circle", { cx: centre(index), cy: yOf(value, top), r: 3,
                         class: "series-" + (seriesIndex % 8) }, svg,
             `${days[index]} ${name}: ${format(value)}`);
      }
    });
    legend(container, names);
  }

  /* Horizontal bars, one per item: items is [[name, value]]. */
  function bars(container, items, { label, format }) {
    const rowHeight = 22;
    const height = Math.max(1, items.length) * rowHeight + TOP;
    const svg = svgElement("svg", { viewBox: `0 0 ${WIDTH} ${height}`, role: "img",
                                    "aria-label": label });
    container.replaceChildren(svg);
    const top = niceMax(Math.max(0, ...items.map(([, value]) => value)));
    const labelWidth = 200, barSpace = WIDTH - labelWidth - 90;
    items.forEach(([name, value], index) => {
      const y = TOP / 2 + index * rowHeight;
      svgElement("text", { x: labelWidth - 6, y: y + 15, class: "tick end" }, svg)
        .textContent = name.length > LABEL_CHARS ? name.slice(0, LABEL_CHARS - 1) + "\u2026" : name;
      mark("rect", { x: labelWidth, y: y + 3, height: rowHeight - 6,
                     width: Math.max(1, (value / top) * barSpace), class: "series-0" }, svg,
           `${name}: ${format(value)}`);
      svgElement("text", { x: labelWidth + (value / top) * barSpace + 6, y: y + 15,
                           class: "tick" }, svg).textContent = format(value);
    });
  }

  return { stackedBars, lines, bars };
})();
