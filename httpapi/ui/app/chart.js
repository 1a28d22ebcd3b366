// chart.js: the duration chart of a job's history page (issue 17), drawn
// as inline SVG by this file: no library, no CDN. One bar per run, oldest
// left, its height the run's duration and its colour the run's status; a
// run that did not happen is a ring on the base line. Each mark has a
// <title> (the browser's tooltip); the figure as a whole is one image
// with a text summary, the table below it holds the same data.
(function (root) {
  'use strict';

  var NS = 'http://www.w3.org/2000/svg';
  var HISTORY_STATUSES = {
    queued: 1, started: 1, running: 1, success: 1, failed: 1, canceled: 1, timeout: 1, paused: 1, skipped: 1
  };

  function statusClass(st) { return 'st-' + (HISTORY_STATUSES[st] ? st : 'none'); }

  function node(tag, attrs, parent) {
    var n = root.document.createElementNS(NS, tag);
    Object.keys(attrs || {}).forEach(function (k) { n.setAttribute(k, String(attrs[k])); });
    if (parent) { parent.appendChild(n); }
    return n;
  }

  function titled(n, text) {
    node('title', {}, n).textContent = text;
    return n;
  }

  // fmtSecs formats a duration in seconds: "13 ms", "4.2 s", "12 s", "3 min 4 s".
  function fmtSecs(s) {
    if (!(s > 0)) { return '0 s'; }
    if (s < 1) { return Math.max(1, Math.round(s * 1000)) + ' ms'; }
    if (s < 10) { return (Math.round(s * 10) / 10) + ' s'; }
    if (s < 60) { return Math.round(s) + ' s'; }
    var m = Math.floor(s / 60), h = Math.floor(m / 60);
    if (h) { return h + ' h' + (m % 60 ? ' ' + (m % 60) + ' min' : ''); }
    return m + ' min' + (Math.round(s % 60) ? ' ' + Math.round(s % 60) + ' s' : '');
  }

  // fmtTick formats an axis label compactly: "45 s", "12 min", "2.5 h".
  function fmtTick(s) {
    if (s < 60) { return Math.round(s * 10) / 10 + ' s'; }
    if (s < 3600) { return Math.round(s / 6) / 10 + ' min'; }
    return Math.round(s / 360) / 10 + ' h';
  }

  // niceMax rounds a duration up to 1, 2 or 5 times a power of ten.
  function niceMax(v) {
    if (!(v > 0)) { return 1; }
    var p = Math.pow(10, Math.floor(Math.log10(v)));
    var m = [1, 2, 5, 10].find(function (x) { return x * p >= v; });
    return m * p;
  }

  // runSeconds is how long a run took, or has been going for now.
  function runSeconds(r, now) {
    if (r.status === 'running') {
      var t = Date.parse(r.started_at || '');
      return isNaN(t) ? 0 : Math.max(0, (now - t) / 1000);
    }
    return r.duration > 0 ? r.duration : 0;
  }

  // describe is a record's one-line text for tooltips.
  function describe(r, fmtTime) {
    if (r.status === 'skipped') {
      return 'did not run: ' + (r.reason || 'skipped') + (r.count > 1 ? ' (×' + r.count + ')' : '') +
        ', ' + fmtTime(r.scheduled_at || r.queued_at || r.finished_at);
    }
    if (r.status === 'running' || r.status === 'queued') {
      return '#' + r.counter + ' ' + r.status + ' since ' + fmtTime(r.started_at || r.queued_at);
    }
    return '#' + r.counter + ' ' + r.status + ', ' + fmtSecs(r.duration) + ', ' + fmtTime(r.started_at || r.queued_at);
  }

  // summary is the chart's text alternative.
  function summary(recs) {
    var by = {}, runs = 0, total = 0;
    recs.forEach(function (r) {
      by[r.status] = (by[r.status] || 0) + 1;
      if (r.status !== 'skipped') { runs++; total += r.duration || 0; }
    });
    var parts = Object.keys(by).map(function (st) { return by[st] + ' ' + (st === 'skipped' ? 'did not run' : st); });
    return 'Durations of the last ' + recs.length + ' records: ' + parts.join(', ') +
      (runs ? '; mean ' + fmtSecs(total / runs) : '') + '.';
  }

  // durations draws recs (newest first, as the API answers) into box.
  function durations(box, recs, fmtTime) {
    var now = Date.now();
    var list = recs.slice().reverse();
    var W = Math.max(280, box.clientWidth || 600), H = 200;
    var left = 52, right = 8, top = 10, bottom = 22;
    var pw = W - left - right, ph = H - top - bottom;
    var svg = node('svg', { viewBox: '0 0 ' + W + ' ' + H, role: 'img', 'aria-label': summary(list), focusable: 'false' });
    // The scale is set by the runs that ended; a run still going that is
    // already longer reaches the top, cut (a notch marks it).
    var ended = list.reduce(function (m, r) { return r.status === 'running' ? m : Math.max(m, runSeconds(r, now)); }, 0);
    var max = niceMax(ended || list.reduce(function (m, r) { return Math.max(m, runSeconds(r, now)); }, 0));
    [0, 0.5, 1].forEach(function (f) {
      var y = top + ph - f * ph;
      node('line', { x1: left, x2: W - right, y1: y, y2: y, 'class': f ? 'grid' : 'axis' }, svg);
      node('text', { x: left - 6, y: y + 4, 'text-anchor': 'end' }, svg).textContent = fmtTick(f * max);
    });
    if (!list.length) {
      node('text', { x: left + pw / 2, y: top + ph / 2, 'text-anchor': 'middle', 'class': 'empty' }, svg).textContent = 'No runs yet';
    }
    var slot = pw / Math.max(list.length, 20);
    var bw = Math.max(1, Math.min(24, slot * 0.7));
    list.forEach(function (r, i) {
      var cx = left + slot * i + slot / 2;
      if (r.status === 'skipped') {
        titled(node('circle', { cx: cx, cy: top + ph - 5, r: Math.min(4, Math.max(2, bw / 2)), 'class': 'skip' }, svg), describe(r, fmtTime));
        return;
      }
      var secs = runSeconds(r, now);
      var h = Math.max(2, Math.min(1, secs / max) * ph);
      titled(node('rect', {
        x: cx - bw / 2, y: top + ph - h, width: bw, height: h, rx: Math.min(2, bw / 3),
        'class': 'bar ' + statusClass(r.status), 'data-counter': r.counter
      }, svg), describe(r, fmtTime));
      if (secs > max) {
        node('line', { x1: cx - bw / 2, x2: cx + bw / 2, y1: top + 4, y2: top + 2, 'class': 'cut' }, svg);
      }
    });
    // The first and last run's counters under their bars.
    var firstAt = list.findIndex(function (r) { return r.counter > 0; });
    var lastAt = list.length - 1 - list.slice().reverse().findIndex(function (r) { return r.counter > 0; });
    if (firstAt >= 0) {
      node('text', { x: left + slot * firstAt, y: H - 6 }, svg).textContent = '#' + list[firstAt].counter;
      if (lastAt > firstAt) {
        node('text', { x: left + slot * (lastAt + 1), y: H - 6, 'text-anchor': 'end' }, svg).textContent = '#' + list[lastAt].counter;
      }
    }
    box.textContent = '';
    box.appendChild(svg);
    return svg;
  }

  // days draws the stats' per-day buckets (oldest first) into box: one
  // column per UTC day, successes, failures and runs that did not happen
  // stacked, heights relative to the busiest day.
  function days(box, list) {
    list = list || [];
    var W = Math.max(280, box.clientWidth || 600), H = 60, HT = 78;
    var svg = node('svg', { viewBox: '0 0 ' + W + ' ' + HT, role: 'img', focusable: 'false' });
    var max = list.reduce(function (m, d) { return Math.max(m, d.successes + d.failures + d.skipped, d.runs); }, 0) || 1;
    var slot = W / Math.max(list.length, 1), bw = Math.max(1, Math.min(28, slot * 0.75));
    var runs = 0, failures = 0, busy = 0;
    list.forEach(function (d, i) {
      var g = node('g', { 'data-day': d.day, 'data-runs': d.runs, 'data-failures': d.failures, 'data-skipped': d.skipped }, svg);
      var x = slot * i + (slot - bw) / 2, y = H;
      var other = Math.max(0, d.runs - d.successes - d.failures); // canceled, running
      [['ok', d.successes], ['bad', d.failures], ['skip', d.skipped + other]].forEach(function (p) {
        if (!p[1]) { return; }
        var h = p[1] / max * (H - 2);
        y -= h;
        node('rect', { x: x, y: y, width: bw, height: h, 'class': p[0] }, g);
      });
      if (y === H) { node('rect', { x: x, y: H - 1, width: bw, height: 1, 'class': 'none' }, g); }
      titled(g, d.day + ': ' + d.runs + (d.runs === 1 ? ' run' : ' runs') + ', ' + d.failures + ' failed' +
        (d.skipped ? ', ' + d.skipped + ' did not run' : ''));
      runs += d.runs; failures += d.failures; busy = Math.max(busy, d.runs);
    });
    if (list.length) {
      node('text', { x: 0, y: HT - 4 }, svg).textContent = list[0].day;
      node('text', { x: W, y: HT - 4, 'text-anchor': 'end' }, svg).textContent = list[list.length - 1].day;
    }
    svg.setAttribute('aria-label', 'Runs per day over ' + list.length + ' days: ' + runs + ' runs, ' + failures +
      ' failed; at most ' + busy + ' in a day.');
    box.textContent = '';
    box.appendChild(svg);
    return svg;
  }

  root.karajoChart = { days: days, durations: durations, fmtSecs: fmtSecs, statusClass: statusClass, niceMax: niceMax, describe: describe };
})(window);
