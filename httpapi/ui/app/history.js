// history.js: a job's history page, /karajo/app/history/?kind=job_exec&id=<id>
// (or kind=job_http). Reads GET /karajo/api/<kind>/stats and /runs (issue
// 17): the last 7, 30 or 90 days in figures and per day, a chart of the last 100 runs'
// durations (chart.js) and the table of runs, older pages on demand.
// Refreshed every 10 s while the page is visible. Text from the server is
// only ever set with textContent.
(function () {
  'use strict';

  var K = window.karajo, C = window.karajoChart, S = window.karajoSchedule;
  var CHART = 100; // runs in the chart
  var REFRESH_MS = 10000;
  var $ = function (id) { return document.getElementById(id); };

  var q = new URLSearchParams(window.location.search);
  var kind = q.get('kind') === 'job_http' ? 'job_http' : 'job_exec';
  var id = q.get('id') || '';
  // Rows per page of the table: ?rows=1..500, 100 by default.
  var PAGE = Math.min(500, Math.max(1, parseInt(q.get('rows'), 10) || 100));
  var api = '/karajo/api/' + kind + '/';
  // gen counts the table's changes of course (older pages, the skipped
  // switch): a refresh that started before one does not overwrite it.
  var state = { recs: [], paged: false, skipped: true, loading: false, chartRecs: [], gen: 0, window: '7d', days: [] };

  function fmtTime(s) {
    var ms = K.parseTime(s || '');
    if (!ms) { return '-'; }
    return S ? S.fmt(ms, S.zoneOf(null)) : K.fmtAbs(ms);
  }

  function el(tag, cls, text) {
    var n = document.createElement(tag);
    if (cls) { n.className = cls; }
    if (text !== undefined && text !== null) { n.textContent = String(text); }
    return n;
  }

  function showError(msg, link) {
    var e = $('hist-error');
    e.textContent = msg;
    if (link) {
      e.appendChild(document.createTextNode(' '));
      var a = el('a', '', link.text);
      a.href = link.href;
      e.appendChild(a);
    }
    e.classList.remove('hidden');
  }

  // get resolves to an API answer's data, or rejects with its message.
  function get(path) {
    return fetch(api + path, { credentials: 'same-origin', cache: 'no-store' }).then(function (res) {
      return res.json().catch(function () { return null; }).then(function (msg) {
        if (res.ok && msg && msg.code === 200) { return msg.data; }
        var err = new Error((msg && msg.message) || ('HTTP ' + res.status));
        err.status = res.status;
        throw err;
      });
    });
  }

  // runsPath asks for the records older than the one whose cursor is
  // given (from the newest without one): paging by cursor steps through
  // any run of skipped records, which all have counter 0.
  // The table lists retry attempts too (attempts=true: a row per retry,
  // "retry of #N"); the chart has one bar per run.
  function runsPath(cursor, skipped, limit, attempts) {
    return 'runs?id=' + encodeURIComponent(id) + '&limit=' + (limit || PAGE) +
      (cursor ? '&cursor=' + encodeURIComponent(cursor) : '') + (skipped ? '' : '&skipped=false') +
      (attempts ? '&attempts=true' : '');
  }

  // ---- Figures -----------------------------------------------------------

  function fillStats(st) {
    var finished = st.successes + st.failures;
    $('st-runs').textContent = st.runs;
    $('st-rate').textContent = finished ? Math.round(100 * st.successes / finished) + ' %' : '–';
    $('st-failures').textContent = st.failures;
    var reasons = st.skipped || {}, n = 0, parts = [];
    Object.keys(reasons).sort().forEach(function (r) { n += reasons[r]; parts.push(reasons[r] + ' ' + r); });
    $('st-skipped').textContent = n;
    var d = st.duration || {};
    $('st-p50').textContent = finished ? C.fmtSecs(d.p50) : '–';
    $('st-p95').textContent = finished ? C.fmtSecs(d.p95) : '–';
    $('st-max').textContent = finished ? C.fmtSecs(d.max) : '–';
    $('st-reasons').textContent = parts.length ? 'Did not run: ' + parts.join(', ') + '.' : '';
    $('h-stats').textContent = 'Last ' + (st.window || state.window).replace(/d$/, ' days');
    state.days = st.days || [];
    C.days($('days'), state.days);
  }

  // setWindow switches the period of the figures (7, 30 or 90 days).
  function setWindow(w) {
    state.window = w;
    Array.prototype.forEach.call(document.querySelectorAll('.windows button'), function (b) {
      b.setAttribute('aria-pressed', b.dataset.window === w ? 'true' : 'false');
    });
    get('stats?id=' + encodeURIComponent(id) + '&window=' + w).then(fillStats).catch(failed);
  }

  // ---- Table -------------------------------------------------------------

  var TRIGGERS = { timer: 'timer', webhook: 'webhook', api: 'API', run_now: 'run now', retry: 'retry', catch_up: 'catch-up', reload: 'reload' };

  function triggerCell(td, t) {
    t = t || {};
    td.appendChild(document.createTextNode(TRIGGERS[t.kind] || t.kind || '-'));
    var sub = [];
    if (t.kind === 'retry' && t.retry_of) { sub.push('of #' + t.retry_of); }
    if (t.user) { sub.push('by ' + t.user); }
    if (t.remote) { sub.push('from ' + t.remote); }
    if (t.delivery_id) { sub.push('delivery ' + t.delivery_id); }
    if (sub.length) { td.appendChild(el('span', 'sub', sub.join(', '))); }
  }

  function logURL(counter) {
    return '/karajo/' + kind + '/log/?id=' + encodeURIComponent(id) + '&counter=' + counter;
  }

  function row(r) {
    var tr = el('tr', r.status === 'skipped' ? 'skipped' : '');
    tr.dataset.counter = r.counter;
    tr.dataset.status = r.status;
    tr.appendChild(el('td', '', r.counter ? r.counter : '–'));
    var st = el('td');
    st.appendChild(el('span', 'status ' + C.statusClass(r.status), r.status === 'skipped' ? 'did not run' : r.status));
    if (r.status === 'skipped') {
      st.appendChild(el('span', 'sub', (r.reason || '') + (r.count > 1 ? ' ×' + r.count : '')));
    } else if (r.failed_command >= 0 && (r.status === 'failed' || r.status === 'timeout')) {
      st.appendChild(el('span', 'sub', 'command ' + (r.failed_command + 1) + (r.exit_code ? ', exit ' + r.exit_code : '')));
    }
    tr.appendChild(st);
    var trig = el('td');
    triggerCell(trig, r.trigger);
    if (r.attempt > 1) { trig.appendChild(el('span', 'sub', 'attempt ' + r.attempt)); }
    tr.appendChild(trig);
    var when = r.status === 'skipped' ? (r.scheduled_at || r.queued_at || r.finished_at) : (r.started_at || r.queued_at);
    var td = el('td');
    var t = el('time', '', fmtTime(when));
    if (when) { t.dateTime = when; }
    td.appendChild(t);
    tr.appendChild(td);
    var dur = r.status === 'skipped' ? '–' : r.status === 'running' ? 'running' : r.status === 'queued' ? 'queued' : C.fmtSecs(r.duration);
    tr.appendChild(el('td', '', dur));
    var log = el('td');
    if (r.counter && r.log_kept) {
      var a = el('a', 'log', 'log #' + r.counter);
      a.href = logURL(r.counter);
      log.appendChild(a);
    } else if (r.counter) {
      log.appendChild(el('span', 'muted', 'pruned'));
    }
    tr.appendChild(log);
    return tr;
  }

  function fillTable(recs, append) {
    var body = $('runs-body');
    var frag = document.createDocumentFragment();
    recs.forEach(function (r) { frag.appendChild(row(r)); });
    if (!append) { body.textContent = ''; }
    body.appendChild(frag);
    $('runs-empty').classList.toggle('hidden', state.recs.length > 0);
  }

  // lastCursor is the cursor of the oldest record shown: the next page
  // starts after it.
  function lastCursor() {
    var r = state.recs[state.recs.length - 1];
    return r && r.cursor ? r.cursor : '';
  }

  function setOlder(lastPage) {
    $('older').classList.toggle('hidden', lastPage.length < PAGE || !lastCursor());
  }

  // ---- Loading -----------------------------------------------------------

  function failed(err) {
    if (err.status === 401) {
      showError('You need to log in to see the history.', { href: '/karajo/', text: 'Log in' });
    } else {
      showError('cannot read the history: ' + err.message);
    }
  }

  function drawChart() { C.durations($('chart'), state.chartRecs, fmtTime); }

  // load reads the figures, the chart's runs and (unless older pages are
  // shown) the table's first page.
  function load() {
    if (state.loading) { return Promise.resolve(); }
    state.loading = true;
    var gen = state.gen;
    var stats = get('stats?id=' + encodeURIComponent(id) + '&window=' + state.window).then(fillStats);
    var runs = get(runsPath('', true, CHART)).then(function (recs) {
      state.chartRecs = recs || [];
      drawChart();
      if (state.paged) { return null; }
      return get(runsPath('', state.skipped, PAGE, true));
    }).then(function (page) {
      if (!page || state.paged || gen !== state.gen) { return; }
      state.recs = page;
      fillTable(page, false);
      setOlder(page);
    });
    return Promise.all([stats, runs]).then(function () {
      $('hist-error').classList.add('hidden');
    }).catch(failed).then(function () {
      state.loading = false;
      document.body.classList.remove('loading');
    });
  }

  function older() {
    var b = $('older');
    b.disabled = true;
    state.gen++;
    get(runsPath(lastCursor(), state.skipped, PAGE, true)).then(function (page) {
      state.paged = true;
      state.recs = state.recs.concat(page);
      fillTable(page, true);
      setOlder(page);
    }).catch(failed).then(function () { b.disabled = false; });
  }

  // ---- Start -------------------------------------------------------------

  var label = (kind === 'job_http' ? 'HTTP job ' : 'Job ') + id;
  $('title').textContent = label;
  document.title = label + ' · history · karajo';
  if (!id) {
    showError('This page needs ?kind=job_exec&id=<job id> (or kind=job_http).');
    document.body.classList.remove('loading');
    return;
  }
  $('older').addEventListener('click', older);
  Array.prototype.forEach.call(document.querySelectorAll('.windows button'), function (b) {
    b.addEventListener('click', function () { setWindow(b.dataset.window); });
  });
  $('show-skipped').addEventListener('change', function (ev) {
    state.skipped = ev.target.checked;
    state.paged = false;
    state.gen++;
    state.loading = false; // a refresh under way is superseded
    load();
  });
  var resizeTimer = null;
  window.addEventListener('resize', function () {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(function () {
      drawChart();
      C.days($('days'), state.days);
    }, 150);
  });
  load();
  setInterval(function () { if (!document.hidden) { load(); } }, REFRESH_MS);
})();
