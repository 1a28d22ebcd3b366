// karajo log viewer (/karajo/job_exec/log/ and /karajo/job_http/log/):
// shows the log ?id=&counter= and, while its run goes on, follows it over
// Server-Sent Events, or by re-reading it every 2 s when the stream is not
// available (IMP-37). The text is only ever set as text.
(function () {
  'use strict';

  var kind = document.body.dataset.kind === 'job_http' ? 'job_http' : 'job_exec';
  var q = new URLSearchParams(window.location.search);
  var id = q.get('id') || '';
  var counter = q.get('counter') || '';
  var api = '/karajo/api/' + kind + '/log';
  var query = '?id=' + encodeURIComponent(id) + '&counter=' + encodeURIComponent(counter);
  var STATUSES = { started: 1, running: 1, success: 1, failed: 1, paused: 1, canceled: 1 };
  var POLL_MS = 2000;

  var pre = document.getElementById('log');
  var statusEl = document.getElementById('log-status');
  var followEl = document.getElementById('follow');
  var errEl = document.getElementById('log-error');
  var shownLen = -1;

  function showError(msg, link) {
    errEl.textContent = msg;
    if (link) {
      errEl.appendChild(document.createTextNode(' '));
      var a = document.createElement('a');
      a.href = link.href;
      a.textContent = link.text;
      errEl.appendChild(a);
    }
    errEl.classList.remove('hidden');
  }

  function setStatus(st) {
    statusEl.textContent = st || '-';
    statusEl.className = 'status st-' + (STATUSES[st] ? st : 'none');
  }

  function setFollow(text, live) {
    followEl.textContent = text;
    followEl.classList.toggle('live', !!live);
  }

  function atBottom() {
    var d = document.documentElement;
    return window.innerHeight + window.scrollY >= d.scrollHeight - 40;
  }

  function scrollDown() {
    window.scrollTo(0, document.documentElement.scrollHeight);
  }

  function decode(b64) {
    var bin = atob(b64 || '');
    var bytes = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) { bytes[i] = bin.charCodeAt(i); }
    return new TextDecoder().decode(bytes);
  }

  function replaceText(text) {
    if (text.length === shownLen) { return; }
    var follow = atBottom();
    pre.textContent = text;
    shownLen = text.length;
    if (follow) { scrollDown(); }
  }

  function appendText(text) {
    if (!text) { return; }
    var follow = atBottom();
    pre.appendChild(document.createTextNode(text));
    if (follow) { scrollDown(); }
  }

  // fetchLog reads the whole log; resolves to its status, or null.
  function fetchLog() {
    return fetch(api + query, { credentials: 'same-origin', cache: 'no-store' }).then(function (res) {
      return res.json().catch(function () { return null; }).then(function (msg) {
        if (res.status === 401) {
          showError('You need to log in to read logs.', { href: '/karajo/', text: 'Log in' });
          return null;
        }
        if (!res.ok || !msg || msg.code !== 200 || !msg.data) {
          showError((msg && msg.message) || ('cannot read the log: HTTP ' + res.status));
          return null;
        }
        errEl.classList.add('hidden');
        replaceText(decode(msg.data.content));
        setStatus(msg.data.status);
        return msg.data.status;
      });
    }).catch(function (e) {
      showError('cannot reach the server: ' + e.message);
      return 'retry';
    });
  }

  // poll re-reads the log every 2 s while it is running.
  function poll() {
    setFollow('refreshing every 2 s', true);
    fetchLog().then(function (st) {
      if (st === 'running' || st === 'retry') {
        setTimeout(poll, POLL_MS);
      } else {
        setFollow('', false);
        showNext();
      }
    });
  }

  // showNext offers "next →" only when run n+1 has a log: it asks for that
  // log and stops reading at the answer's status (the body is not loaded).
  function showNext() {
    var ctl = window.AbortController ? new AbortController() : null;
    var nextQuery = '?id=' + encodeURIComponent(id) + '&counter=' + (parseInt(counter, 10) + 1);
    fetch(api + nextQuery, { credentials: 'same-origin', cache: 'no-store', signal: ctl && ctl.signal }).then(function (res) {
      if (ctl) { ctl.abort(); }
      document.body.dataset.next = res.ok ? 'shown' : 'none'; // for tests
      if (res.ok) {
        var next = document.getElementById('next');
        next.href = nextQuery;
        next.classList.remove('hidden');
      }
    }).catch(function () { /* no next link */ });
  }

  function follow() {
    if (!window.EventSource) { poll(); return; }
    var es = new EventSource(api + '/stream' + query);
    var errors = 0;
    var fresh = true; // the stream (re)starts from the first byte
    es.onopen = function () { fresh = true; setFollow('following live', true); };
    es.addEventListener('log', function (m) {
      errors = 0;
      var text = JSON.parse(m.data);
      if (fresh) {
        fresh = false;
        pre.textContent = '';
      }
      appendText(text);
    });
    es.addEventListener('end', function (m) {
      es.close();
      var end = {};
      try { end = JSON.parse(m.data) || {}; } catch (x) { end = {}; }
      setStatus(end.status);
      setFollow('', false);
      showNext();
    });
    es.onerror = function () {
      errors++;
      if (es.readyState === 2 || errors >= 3) {
        es.close();
        poll();
      } else {
        setFollow('reconnecting…', false);
      }
    };
  }

  var label = (kind === 'job_http' ? 'HTTP job ' : '') + id + ' #' + counter;
  document.getElementById('title').textContent = id + ' #' + counter;
  document.title = label + ' · karajo';

  var n = parseInt(counter, 10);
  if (!id || !/^[0-9]+$/.test(counter)) {
    showError('This page needs ?id=<job id>&counter=<run number>.');
    setStatus('');
    return;
  }
  if (n > 1) {
    var prev = document.getElementById('prev');
    prev.href = '?id=' + encodeURIComponent(id) + '&counter=' + (n - 1);
    prev.classList.remove('hidden');
  }

  fetchLog().then(function (st) {
    if (st === 'running') {
      follow();
    } else if (st === 'retry') {
      setTimeout(poll, POLL_MS);
    } else {
      showNext();
    }
  });
})();
