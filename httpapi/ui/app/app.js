// karajo dashboard: every exec job and JobHttp with its status, last and
// next run and last runs; live over Server-Sent Events (polling as the
// fallback); actions through the session endpoints when users exist, or
// signed in the page with the secret otherwise.
//
// Text that comes from the configuration (names, ids, commands, paths,
// URLs) is only ever set with textContent. The description is the one
// exception: it may hold simple HTML and is sanitised by the server.
(function () {
  'use strict';

  var K = window.karajo;
  var KINDS = ['job', 'job_http'];
  var STATUSES = { started: 1, running: 1, success: 1, failed: 1, paused: 1, canceled: 1 };
  var POLL_MS = 5000;
  var SSE_RETRY_MS = 60000;

  var $ = function (id) { return document.getElementById(id); };
  var tpls = { job: $('tpl-job'), job_http: $('tpl-job_http') };

  var state = {
    session: null,      // GET /karajo/api/auth/session data; null until known
    secret: '',         // typed by the operator; memory only
    entries: new Map(), // kind + '\n' + id → entry
    filter: '',
    live: false,        // true while the event stream delivers
    engineRuns: {}      // kind + ':' + id → run in progress, from GET /karajo/api/engine
  };

  function key(kind, id) { return kind + '\n' + id; }

  function usersMode() { return !!(state.session && state.session.users); }

  // ---- Elements -------------------------------------------------------

  function el(tag, cls, text) {
    var n = document.createElement(tag);
    if (cls) { n.className = cls; }
    if (text !== undefined && text !== null) { n.textContent = String(text); }
    return n;
  }

  function logURL(kind, id, counter) {
    return '/karajo/' + (kind === 'job' ? 'job_exec' : 'job_http') + '/log/?id=' +
      encodeURIComponent(id) + '&counter=' + encodeURIComponent(counter);
  }

  function statusClass(st) { return 'st-' + (STATUSES[st] ? st : 'none'); }

  // ---- Toasts ---------------------------------------------------------

  function toast(msg, kind, link) {
    var t = el('div', 'toast ' + (kind || 'info'), msg);
    if (link) {
      t.appendChild(document.createTextNode(' '));
      var a = el('a', '', link.text);
      a.href = link.href;
      t.appendChild(a);
    }
    t.addEventListener('click', function () { t.remove(); });
    $('toasts').appendChild(t);
    setTimeout(function () { t.remove(); }, kind === 'error' ? 9000 : 4000);
  }

  // ---- Rows -----------------------------------------------------------

  // createRow clones the row template of the entry's kind; the parts are
  // found by position (the templates in index.html fix the structure).
  function createRow(e) {
    var node = tpls[e.kind].content.firstElementChild.cloneNode(true);
    node.dataset.jobId = e.id;
    node.dataset.kind = e.kind;
    var head = node.firstElementChild;
    var parts = head.children;
    var times = parts[4].children;
    var last = times[0].children, next = times[1].children;
    var acts = parts[5].children;
    e.node = node;
    e.r = {
      head: head,
      status: parts[0],
      name: parts[1],
      activity: parts[2],
      runs: parts[3],
      lastAbs: last[1],
      lastRel: last[2],
      nextAbs: next[1],
      nextRel: next[2],
      details: null,
      buttons: e.kind === 'job' ? { run: acts[0], toggle: acts[1], cancel: acts[2] } : { run: acts[0], toggle: acts[1] }
    };
    fillRow(e, Date.now());
    if (seen) { seen.observe(node); } else { e.visible = true; }
    return node;
  }

  // fillRow writes an entry's state into its row.
  function fillRow(e, now) {
    var j = e.job, r = e.r, st = j.status || '';
    if (e.node.dataset.status !== st) { e.node.dataset.status = st; }
    set(r.status, 'className', 'status ' + statusClass(st));
    set(r.status, 'textContent', st || '-');
    set(r.name, 'textContent', j.name);
    set(r.name, 'title', j.id);
    var act = e.running ? runningText(e, Date.now()) : e.waiting ? 'waiting for a slot' : '';
    set(r.activity, 'className', 'activity' + (e.running ? ' act-running' : e.waiting ? ' act-waiting' : ''));
    set(r.activity, 'textContent', act);
    fillMarks(e);
    e.lastMs = K.parseTime(j.last_run);
    e.nextMs = K.parseTime(j.next_run);
    set(r.lastAbs, 'textContent', fmtTime(e, e.lastMs));
    set(r.lastAbs, 'dateTime', e.lastMs ? j.last_run : '');
    set(r.nextAbs, 'textContent', st === 'paused' ? 'paused' : fmtTime(e, e.nextMs));
    set(r.nextAbs, 'dateTime', e.nextMs ? j.next_run : '');
    e.relLast = e.relNext = null;
    fillRel(e, now);
    fillButtons(e);
    if (e.open) { fillDetails(e); }
  }

  // fillMarks draws the strip of last runs, oldest left, as marks in one
  // link to the job's history page (one tap target, not twenty small
  // ones), with the share that succeeded. The runs come from the history
  // (GET .../runs?limit=20&skipped=false, asked for rows on screen when
  // their last run changes: see wantRuns); until it answers, from the
  // logs the job lists. Drawn only when they changed.
  function fillMarks(e) {
    var runs = e.runs || (e.job.logs || []).slice(-RATE_RUNS).reverse();
    var sig = runs.map(function (l) { return l.counter + ':' + l.status; }).join(' ');
    wantRuns(e);
    if (sig === e.marks) { return; }
    e.marks = sig;
    var strip = e.r.runs, by = {}, ok = 0, ended = 0;
    strip.textContent = '';
    for (var i = runs.length - 1; i >= 0; i--) {
      var l = runs[i], st = l.status || '';
      var m = el('span', 'mark ' + markClass(st));
      m.title = '#' + (l.counter || 0) + ' ' + st;
      strip.appendChild(m);
      by[st || 'unknown'] = (by[st || 'unknown'] || 0) + 1;
      if (st === 'success') { ok++; }
      if (ENDED[st]) { ended++; }
    }
    var rate = ended ? Math.round(100 * ok / ended) + '%' : '';
    strip.appendChild(el('span', 'rate', rate));
    strip.href = historyURL(e);
    var n = runs.length;
    strip.setAttribute('aria-label', (n ? 'Last ' + n + (n === 1 ? ' run: ' : ' runs: ') +
      Object.keys(by).map(function (k) { return by[k] + ' ' + k; }).join(', ') +
      (rate ? ' (' + rate + ' succeeded)' : '') : 'No runs yet') + '. Open the history');
  }

  // ---- Strip of runs from the history -----------------------------------

  var RATE_RUNS = 20;
  var ENDED = { success: 1, failed: 1, canceled: 1, timeout: 1 };
  var runsQueue = [], runsActive = 0, RUNS_PARALLEL = 4;
  var seen = window.IntersectionObserver ? new IntersectionObserver(function (items) {
    items.forEach(function (it) {
      var row = it.target;
      var e = state.entries.get(key(row.dataset.kind, row.dataset.jobId));
      if (!e) { return; }
      e.visible = it.isIntersecting;
      if (e.visible) { wantRuns(e); }
    });
  }) : null;

  function markClass(st) {
    return { queued: 'st-started', timeout: 'st-timeout' }[st] || statusClass(st);
  }

  function historyURL(e) {
    return '/karajo/app/history/?kind=' + (e.kind === 'job' ? 'job_exec' : 'job_http') + '&id=' + encodeURIComponent(e.id);
  }

  // wantRuns asks the history for a row on screen whose last run changed
  // since it last asked (at most RUNS_PARALLEL requests at a time).
  function wantRuns(e) {
    if (!e.visible) { return; }
    var logs = e.job.logs || [], last = logs[logs.length - 1];
    var sig = (last ? last.counter + ':' + last.status : '') + '|' + e.job.status;
    if (sig === e.runsSig || e.runsQueued) { return; }
    e.runsSig = sig;
    e.runsQueued = true;
    runsQueue.push(e);
    pumpRuns();
  }

  function pumpRuns() {
    while (runsActive < RUNS_PARALLEL && runsQueue.length) {
      var e = runsQueue.shift();
      runsActive++;
      fetchRuns(e).then(function () { runsActive--; pumpRuns(); });
    }
  }

  function fetchRuns(e) {
    var url = '/karajo/api/' + (e.kind === 'job' ? 'job_exec' : 'job_http') + '/runs?limit=' + RATE_RUNS +
      '&skipped=false&id=' + encodeURIComponent(e.id);
    return fetch(url, { credentials: 'same-origin', cache: 'no-store' }).then(function (res) {
      return res.ok ? res.json() : null;
    }).then(function (msg) {
      e.runsQueued = false;
      if (msg && msg.data && state.entries.get(key(e.kind, e.id)) === e) {
        e.runs = msg.data;
        fillMarks(e);
        behind(e);
      }
    }).catch(function () { e.runsQueued = false; });
  }

  // behind asks again, a little later, when the history has not caught up
  // with the job's newest log yet (records are written in batches, after
  // the event that brought the log): at most five times per change.
  function behind(e) {
    var logs = e.job.logs || [], last = logs[logs.length - 1], first = e.runs[0];
    var late = last && (!first || first.counter < last.counter ||
      (first.counter === last.counter && first.status !== last.status && ENDED[last.status]));
    if (!late) { e.runsRetry = 0; return; }
    if ((e.runsRetry = (e.runsRetry || 0) + 1) > 5) { return; }
    setTimeout(function () { e.runsSig = null; wantRuns(e); }, 300 * e.runsRetry);
  }

  // fillRel updates the relative times; text is only written on change.
  function fillRel(e, now) {
    var last, next;
    if (e.running) { set(e.r.activity, 'textContent', runningText(e, now)); }
    if (e.lastMs) {
      last = K.fmtRel(e.lastMs, now);
    } else {
      last = 'never';
    }
    if (e.job.status === 'paused') {
      next = '';
    } else if (e.nextMs) {
      next = e.nextMs > now - 1000 ? K.fmtRel(e.nextMs, now) : (e.running ? 'running' : (e.waiting ? 'waiting' : 'due'));
    } else if (e.kind === 'job' && e.job.path) {
      next = 'on webhook';
    } else {
      next = 'no timer';
    }
    if (last !== e.relLast) { e.r.lastRel.textContent = last; e.relLast = last; }
    if (next !== e.relNext) { e.r.nextRel.textContent = next; e.relNext = next; }
  }

  // runningText is a running job's activity: its elapsed time, against
  // its timeout when it has one, from the engine's state (pollEngine);
  // "waiting for a retry" with the time of the next attempt.
  function runningText(e, now) {
    var j = e.job, run = state.engineRuns[e.kind + ':' + e.id];
    if (j.waiting === 'retry' && j.next_attempt) {
      return 'attempt ' + (j.attempt || '?') + ' ' + K.fmtRel(K.parseTime(j.next_attempt), now);
    }
    if (!run) { return 'running'; }
    var text = (run.n > 1 ? run.n + ' runs, oldest ' : 'running ') + K.fmtDuration(Math.max(0, Math.floor((now - Date.parse(run.started)) / 1000)) * 1e9);
    if (j.timeout) { text += ' of ' + K.fmtDuration(j.timeout); }
    if (run.attempt > 1) { text += ' (attempt ' + run.attempt + ')'; }
    return text;
  }

  // set writes a property of a node only when it changes: rows are
  // refilled often, and most writes would change nothing.
  function set(node, prop, v) {
    if (node[prop] !== v) { node[prop] = v; }
  }

  function fillButtons(e) {
    var b = e.r.buttons, paused = e.job.status === 'paused';
    var toggle = b.toggle;
    if (toggle.dataset.action !== (paused ? 'resume' : 'pause')) {
      toggle.dataset.action = paused ? 'resume' : 'pause';
      toggle.textContent = paused ? 'Resume' : 'Pause';
    }
    set(toggle, 'disabled', !!e.busy);
    if (b.run) {
      set(b.run, 'disabled', !!e.busy || paused);
      set(b.run, 'title', paused ? 'Resume the job first' : 'Start a run now');
    }
    if (b.cancel) {
      set(b.cancel, 'disabled', !!e.busy || !(e.running || e.waiting || e.job.status === 'running'));
    }
  }

  // ---- Details --------------------------------------------------------

  function field(dl, label, value) {
    if (value === undefined || value === null || value === '') { return; }
    dl.appendChild(el('dt', '', label));
    var dd = el('dd');
    if (value instanceof Node) { dd.appendChild(value); } else { dd.textContent = String(value); }
    dl.appendChild(dd);
  }

  // fmtTime formats a job's time in the zone schedule.js says (the
  // viewer's or the job's, with the weekday), else in UTC.
  function fmtTime(e, ms) {
    var S = window.karajoSchedule;
    return S ? S.fmt(ms, S.zoneOf(e.job)) : K.fmtAbs(ms);
  }

  function timeText(e, ms, raw) {
    return ms ? fmtTime(e, ms) : (raw && raw.lastIndexOf('0001', 0) !== 0 ? raw : '-');
  }

  function fillDetails(e) {
    var j = e.job, d = e.r.details;
    d.textContent = '';
    if (j.description) {
      var desc = el('div', 'desc');
      desc.innerHTML = j.description; // sanitised by the server
      d.appendChild(desc);
    }
    var dl = el('dl', 'fields');
    field(dl, 'ID', el('code', '', j.id));
    field(dl, 'Name', j.name);
    field(dl, 'Status', j.status || '-');
    if (j.node) { field(dl, 'Node', j.node + (j.node_lost ? ' (lost: until the next owner shows its own)' : ' (owner)')); }
    if (e.kind === 'job') {
      field(dl, 'Path', j.path ? el('code', '', j.path) : '-');
      if (j.path) { field(dl, 'Auth', j.auth_kind + (j.auth_kind === 'hmac-sha256' ? ' (' + j.header_sign + ')' : '')); }
    } else {
      var req = el('code', '', (j.http_method || 'GET') + ' ' + j.http_url);
      field(dl, 'Request', req);
      field(dl, 'Request type', j.http_request_type);
      if (j.http_headers && j.http_headers.length) {
        var hl = el('ul', 'plain');
        j.http_headers.forEach(function (h) { hl.appendChild(el('li', '', '')).appendChild(el('code', '', h)); });
        field(dl, 'Headers', hl);
      }
      field(dl, 'Timeout', K.fmtDuration(j.http_timeout));
      if (j.http_insecure) { field(dl, 'TLS', 'certificate not verified'); }
    }
    if (j.schedule) { field(dl, 'Schedule', el('code', '', j.schedule)); }
    if (j.interval) { field(dl, 'Interval', 'every ' + K.fmtDuration(j.interval)); }
    field(dl, 'Last run', timeText(e, e.lastMs, j.last_run));
    field(dl, 'Next run', j.status === 'paused' ? 'paused' : timeText(e, e.nextMs, j.next_run));
    if (window.karajoSchedule) { window.karajoSchedule.details(e.kind, j, dl, field); }
    if (window.karajoDeliveries) { window.karajoDeliveries.details(e.kind, j, dl, field); }
    field(dl, 'Logs kept', j.log_retention);
    if (j.notif_on_success && j.notif_on_success.length) { field(dl, 'Notify on success', j.notif_on_success.join(', ')); }
    if (j.notif_on_failed && j.notif_on_failed.length) { field(dl, 'Notify on failure', j.notif_on_failed.join(', ')); }
    if (e.kind === 'job') {
      var cmds = el('ol', 'commands');
      (j.commands || []).forEach(function (c) { cmds.appendChild(el('li')).appendChild(el('code', '', c)); });
      field(dl, 'Commands', (j.commands && j.commands.length) ? cmds : '-');
    }
    var logs = (j.logs || []).slice().reverse();
    if (logs.length) {
      var ll = el('span', 'loglinks');
      logs.forEach(function (l) {
        var a = el('a', 'loglink ' + statusClass(l.status || ''), '#' + (l.counter || 0));
        a.href = logURL(e.kind, e.id, l.counter || 0);
        a.target = '_blank';
        a.rel = 'noopener';
        a.title = (l.status || '') + (l.node ? ' on ' + l.node : '');
        ll.appendChild(a);
      });
      field(dl, 'Logs', ll);
    } else {
      field(dl, 'Logs', 'none yet');
    }
    var h = el('a', 'history-link', 'every run, durations, runs that did not happen');
    h.href = historyURL(e);
    field(dl, 'History', h);
    d.appendChild(dl);
  }

  function toggleOpen(e) {
    e.open = !e.open;
    e.r.name.setAttribute('aria-expanded', e.open ? 'true' : 'false');
    e.node.classList.toggle('open', e.open);
    if (e.open) {
      if (!e.r.details) {
        e.r.details = el('div', 'details');
        e.node.appendChild(e.r.details);
      }
      fillDetails(e);
    } else if (e.r.details) {
      e.r.details.remove();
      e.r.details = null;
    }
  }

  // ---- State ----------------------------------------------------------

  function byName(a, b) {
    var x = a.job.name.toLowerCase(), y = b.job.name.toLowerCase();
    return x < y ? -1 : x > y ? 1 : (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  }

  function entryOf(item) {
    return {
      kind: item.kind,
      id: item.job.id,
      job: item.job,
      running: !!item.running,
      waiting: !!item.waiting,
      sig: null, // JSON of the last item applied; set by applyItem
      open: false
    };
  }

  // renderAll rebuilds both lists in one pass each, keeping open rows open.
  function renderAll(items) {
    var old = state.entries;
    if (seen) { seen.disconnect(); }
    state.entries = new Map();
    var groups = { job: [], job_http: [] };
    items.forEach(function (it) {
      if (!groups[it.kind] || !it.job || !it.job.id) { return; }
      var e = entryOf(it);
      var prev = old.get(key(e.kind, e.id));
      if (prev && prev.open) { e.open = true; }
      state.entries.set(key(e.kind, e.id), e);
      groups[it.kind].push(e);
    });
    var now = Date.now();
    KINDS.forEach(function (kind) {
      var list = groups[kind].sort(byName);
      var frag = document.createDocumentFragment();
      list.forEach(function (e) {
        var open = e.open;
        e.open = false;
        frag.appendChild(createRow(e, now));
        if (open) { toggleOpen(e); }
        applyFilter(e);
      });
      var box = $('list-' + kind);
      box.textContent = '';
      box.appendChild(frag);
      $('empty-' + kind).classList.toggle('hidden', list.length > 0);
      $('count-' + kind).textContent = list.length ? '(' + list.length + ')' : '';
    });
    shown();
    scheduleSummary();
  }

  // shown reveals the lists (hidden until the first snapshot, so that the
  // rows arriving do not push the page down: no layout shift).
  function shown() { document.body.classList.remove('loading'); }

  // applyItem updates one row from an event item (or an action's answer);
  // raw is the item's JSON when the caller has it.
  function applyItem(item, raw) {
    if (!item || !item.job) { return; }
    var e = state.entries.get(key(item.kind, item.job.id));
    if (!e) { // a job added by a reload: rebuild, it is rare
      var all = [];
      state.entries.forEach(function (x) { all.push({ kind: x.kind, job: x.job, running: x.running, waiting: x.waiting }); });
      all.push(item);
      renderAll(all);
      return;
    }
    var sig = typeof raw === 'string' ? raw : JSON.stringify(item);
    if (sig === e.sig) { return; }
    e.sig = sig;
    e.job = item.job;
    e.running = !!item.running;
    e.waiting = !!item.waiting;
    fillRow(e, Date.now());
    applyFilter(e);
    scheduleSummary();
  }

  function onSnapshot(snap) {
    if (snap.name) {
      $('env-name').textContent = snap.name;
      document.title = snap.name + ' · karajo';
    }
    if (snap.version) { $('version').textContent = snap.version; }
    var items = snap.items || [];
    var same = items.length === state.entries.size && items.every(function (it) {
      return it && it.job && state.entries.has(key(it.kind, it.job.id));
    });
    if (same) {
      items.forEach(function (it) { applyItem(it); });
    } else {
      renderAll(items);
    }
  }

  // onEnvironment turns GET /karajo/api/environment into a snapshot; it
  // has no running/waiting flags, so running is read from the status.
  function onEnvironment(env) {
    var items = [];
    var add = function (kind, m) {
      if (!m) { return; }
      Object.keys(m).forEach(function (name) {
        var j = m[name];
        items.push({ kind: kind, job: j, running: j.status === 'running', waiting: false });
      });
    };
    add('job', env.jobs);
    add('job_http', env.http_jobs);
    onSnapshot({ name: env.name, version: env.version, items: items });
  }

  // ---- Filter and summary ---------------------------------------------

  function applyFilter(e) {
    var f = state.filter;
    e.node.hidden = f !== '' && e.job.name.toLowerCase().indexOf(f) < 0 && e.id.indexOf(f) < 0;
  }

  var summaryPending = false;
  function scheduleSummary() {
    if (summaryPending) { return; }
    summaryPending = true;
    requestAnimationFrame(function () {
      summaryPending = false;
      var n = 0, running = 0, waiting = 0, by = {};
      state.entries.forEach(function (e) {
        n++;
        if (e.running) { running++; }
        if (e.waiting) { waiting++; }
        var st = e.job.status || '';
        by[st] = (by[st] || 0) + 1;
      });
      var parts = [n + (n === 1 ? ' job' : ' jobs')];
      if (running) { parts.push(running + ' running'); }
      if (waiting) { parts.push(waiting + ' waiting'); }
      ['failed', 'paused', 'canceled'].forEach(function (st) { if (by[st]) { parts.push(by[st] + ' ' + st); } });
      $('summary').textContent = parts.join(' · ');
    });
  }

  // ---- Actions --------------------------------------------------------

  function form(params) {
    return Object.keys(params).map(function (k) {
      return encodeURIComponent(k) + '=' + encodeURIComponent(params[k]);
    }).join('&');
  }

  // buildRequest resolves to {url, init} for an action on an entry.
  function buildRequest(e, action) {
    var api = e.kind === 'job' ? 'job_exec' : 'job_http';
    if (usersMode()) {
      return Promise.resolve({
        url: action === 'run' ? '/karajo/api/' + api + '/run_now' : '/karajo/api/session/' + api + '/' + action,
        init: {
          method: 'POST',
          headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'X-Karajo-CSRF': state.session.csrf || '' },
          body: form({ id: e.id })
        }
      });
    }
    if (!state.secret) {
      return Promise.reject(new Error('type the secret first (top right)'));
    }
    var epoch = Math.floor(Date.now() / 1000);
    var payload = form({ _karajo_epoch: epoch, id: e.id });
    return K.hmacHex(state.secret, payload).then(function (sig) {
      if (action === 'run') {
        return {
          url: '/karajo/api/' + api + '/run_now',
          init: { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'X-Karajo-Sign': sig }, body: payload }
        };
      }
      if (e.kind === 'job') {
        return {
          url: '/karajo/api/job_exec/' + action,
          init: { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'X-Karajo-Sign': sig }, body: payload }
        };
      }
      return { url: '/karajo/api/job_http/' + action + '?' + payload, init: { method: 'POST', headers: { 'X-Karajo-Sign': sig } } };
    });
  }

  function act(e, action) {
    if (e.busy) { return; }
    e.busy = true;
    fillButtons(e);
    buildRequest(e, action).then(function (req) {
      req.init.credentials = 'same-origin';
      req.init.cache = 'no-store';
      return fetch(req.url, req.init).then(function (res) {
        return res.text().then(function (text) {
          var msg = null;
          try { msg = JSON.parse(text); } catch (x) { msg = null; }
          if (res.ok && msg && msg.code === 200) { return msg; }
          var err = new Error((msg && msg.message) || text.trim() || ('HTTP ' + res.status));
          err.status = res.status;
          throw err;
        });
      });
    }).then(function (msg) {
      // A run's answer is the job as it was when queued, and a cancel's is
      // usually still running: the events (or the next poll) bring the
      // outcome, and may already have; applying those answers would step
      // back. Pause and resume answer with the state right after the change.
      if ((action === 'pause' || action === 'resume') && msg.data && msg.data.id === e.id) {
        var running = e.running, waiting = e.waiting;
        if (!state.live) {
          running = msg.data.status === 'running';
          waiting = false;
        }
        applyItem({ kind: e.kind, job: msg.data, running: running, waiting: waiting });
      }
      toast(e.job.name + ': ' + (action === 'run' ? 'run #' + (msg.run_counter || '?') + ' queued' : action + ' done'), 'ok');
    }).catch(function (err) {
      if (err.status === 401 && usersMode()) {
        toast(e.job.name + ': ' + action + ': your session has ended.', 'error', { href: '/karajo/', text: 'Log in again' });
        return;
      }
      toast(e.job.name + ': ' + action + ' refused: ' + err.message + (err.status ? ' (HTTP ' + err.status + ')' : ''), 'error');
      if (!usersMode() && !state.secret) { $('secret').focus(); }
    }).then(function () {
      e.busy = false;
      fillButtons(e);
    });
  }

  function onListClick(ev) {
    var t = ev.target;
    var row = t.closest('.job');
    if (!row) { return; }
    var e = state.entries.get(key(row.dataset.kind, row.dataset.jobId));
    if (!e) { return; }
    var btn = t.closest('button[data-action]');
    if (btn) {
      ev.stopPropagation();
      act(e, btn.dataset.action);
      return;
    }
    if (t.closest('a') || t.closest('.details')) { return; }
    if (t.closest('.head')) { toggleOpen(e); }
  }

  // ---- Updates: events, else polling -----------------------------------

  var es = null, esErrors = 0, pollTimer = null, polling = false, retryTimer = null;

  function setConn(text, cls) {
    var c = $('conn');
    c.textContent = text;
    c.className = 'conn ' + (cls || '');
  }

  function startEvents() {
    if (!window.EventSource) { startPolling(); return; }
    esErrors = 0;
    es = new EventSource('/karajo/api/events');
    es.addEventListener('snapshot', function (m) {
      esErrors = 0;
      state.live = true;
      stopPolling();
      setConn('live', 'ok');
      try { onSnapshot(JSON.parse(m.data)); } catch (x) { toast('bad snapshot event: ' + x.message, 'error'); }
    });
    es.addEventListener('job', function (m) {
      try { applyItem(JSON.parse(m.data), m.data); } catch (x) { toast('bad job event: ' + x.message, 'error'); }
    });
    es.onerror = function () {
      esErrors++;
      state.live = false;
      if (es.readyState === 2 || esErrors >= 3) {
        es.close();
        es = null;
        startPolling();
      } else {
        setConn('reconnecting…', 'warn');
      }
    };
  }

  function startPolling() {
    if (pollTimer) { return; }
    setConn('polling every 5 s', 'warn');
    poll();
    pollTimer = setInterval(poll, POLL_MS);
    if (window.EventSource && !retryTimer) {
      retryTimer = setTimeout(function () {
        retryTimer = null;
        if (pollTimer && !es) { startEvents(); }
      }, SSE_RETRY_MS);
    }
  }

  function stopPolling() {
    if (pollTimer) { clearInterval(pollTimer); pollTimer = null; }
  }

  function poll() {
    if (polling) { return; }
    polling = true;
    fetch('/karajo/api/environment', { credentials: 'same-origin', cache: 'no-store' }).then(function (res) {
      if (res.status === 401) {
        window.location.assign('/karajo/');
        return null;
      }
      if (!res.ok) { throw new Error('HTTP ' + res.status); }
      return res.json();
    }).then(function (msg) {
      if (msg && msg.data) {
        onEnvironment(msg.data);
        if (pollTimer) { setConn('polling every 5 s', 'warn'); }
      }
    }).catch(function () {
      setConn('offline: retrying', 'bad');
    }).then(function () {
      polling = false;
    });
  }

  // ---- Session ----------------------------------------------------------

  function loadSession() {
    return fetch('/karajo/api/auth/session', { credentials: 'same-origin', cache: 'no-store' }).then(function (res) {
      if (res.status === 401) {
        window.location.assign('/karajo/');
        return { users: true };
      }
      if (!res.ok) { return { users: false }; }
      return res.json().then(function (msg) { return (msg && msg.data) || { users: false }; });
    }).catch(function () { return { users: false }; }).then(function (s) {
      state.session = s;
      if (s.users && !s.user) { // the session ended: back to the login page
        window.location.assign('/karajo/');
        return;
      }
      if (s.users) {
        $('user-name').textContent = s.user || '';
        $('auth-user').classList.remove('hidden');
      } else {
        $('auth-secret').classList.remove('hidden');
      }
      state.entries.forEach(function (e) { fillButtons(e); });
    });
  }

  function logout() {
    fetch('/karajo/api/auth/logout', {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'X-Karajo-CSRF': (state.session && state.session.csrf) || '' }
    }).then(function (res) {
      if (!res.ok) { throw new Error('HTTP ' + res.status); }
      window.location.assign('/karajo/');
    }).catch(function (err) {
      toast('log out failed: ' + err.message, 'error');
    });
  }

  // ---- Engine state -----------------------------------------------------

  // pollEngine reads GET /karajo/api/engine: the slots header, and the
  // start of each run in progress for its elapsed time.
  var ENGINE_MS = 2000;
  function pollEngine() {
    if (document.hidden) { return; }
    fetch('/karajo/api/engine', { credentials: 'same-origin', cache: 'no-store' }).then(function (res) {
      if (!res.ok) { throw new Error('HTTP ' + res.status); }
      return res.json();
    }).then(function (msg) {
      var d = msg.data, runs = {};
      // Oldest first: a parallel job's row shows its oldest run and the count.
      (d.running || []).forEach(function (r) {
        var k = r.kind + ':' + r.job;
        if (runs[k]) { runs[k].n++; } else { r.n = 1; runs[k] = r; }
      });
      state.engineRuns = runs;
      var text = 'slots ' + d.slots.in_use + '/' + d.slots.max_job_running;
      if (d.queue && d.queue.length) { text += ' · ' + d.queue.length + ' queued'; }
      if (d.retry_pending && d.retry_pending.length) { text += ' · ' + d.retry_pending.length + ' waiting to retry'; }
      $('slots').textContent = text;
    }).catch(function () {
      $('slots').textContent = '';
    });
  }

  // ---- Clock ------------------------------------------------------------

  function tick() {
    var now = Date.now();
    $('clock').textContent = K.fmtAbs(now);
    state.entries.forEach(function (e) { fillRel(e, now); });
  }

  // ---- Start ------------------------------------------------------------

  KINDS.forEach(function (kind) {
    var box = $('list-' + kind);
    box.addEventListener('click', onListClick);
  });
  $('secret').addEventListener('input', function (ev) { state.secret = ev.target.value; });
  // Escape dismisses the toasts (a click on one does too).
  document.addEventListener('keydown', function (ev) {
    if (ev.key === 'Escape') { $('toasts').textContent = ''; }
  });
  $('logout').addEventListener('click', logout);
  $('filter').addEventListener('input', function (ev) {
    state.filter = ev.target.value.trim().toLowerCase();
    state.entries.forEach(applyFilter);
  });
  document.addEventListener('karajo-timezone', function () {
    state.entries.forEach(function (e) { fillRow(e, Date.now()); });
  });
  tick();
  setInterval(tick, 1000);
  pollEngine();
  setInterval(pollEngine, ENGINE_MS);
  loadSession();
  startEvents();
  setTimeout(shown, 5000); // no answer yet: show the (empty) lists anyway
})();
