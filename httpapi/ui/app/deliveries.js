// deliveries.js: the dashboard's delivery inspector (issue 15). A webhook
// job's details get a "Deliveries" part: a button that shows (and
// refreshes) the job's last delivery records from
// GET /karajo/api/job_exec/deliveries, one table row each with its time,
// verdict, status, reason, event, delivery id and client address. The
// open state and the last answer are kept per job, so that the details,
// rebuilt on every change of the job, keep them. app.js calls
// window.karajoDeliveries; without this file there is no such part.
(function (root) {
  'use strict';

  var doc = root.document;
  var shown = {}; // job id → {open, got: {list, error} | null}

  function el(tag, cls, text) {
    var n = doc.createElement(tag);
    if (cls) { n.className = cls; }
    if (text !== undefined && text !== null) { n.textContent = String(text); }
    return n;
  }

  // load fetches the job's records, then calls done.
  function load(id, done) {
    var url = '/karajo/api/job_exec/deliveries?id=' + encodeURIComponent(id);
    root.fetch(url, { credentials: 'same-origin', cache: 'no-store' }).then(function (res) {
      return res.json().then(function (msg) {
        if (!res.ok) { throw new Error(msg.message || 'HTTP ' + res.status); }
        return { list: (msg.data && msg.data.deliveries) || [] };
      });
    }).catch(function (err) { return { list: [], error: err.message }; }).then(done);
  }

  // table renders the records, newest first.
  function table(got) {
    if (got.error) { return el('p', 'deliveries-error', 'not available: ' + got.error); }
    if (!got.list.length) { return el('p', 'deliveries-none', 'No delivery yet.'); }
    var t = el('table', 'deliveries');
    var head = t.appendChild(el('thead')).appendChild(el('tr'));
    ['Time', 'Verdict', 'Status', 'Reason', 'Event', 'Delivery', 'From'].forEach(function (h) {
      var th = head.appendChild(el('th', '', h));
      th.scope = 'col';
    });
    var body = t.appendChild(el('tbody'));
    got.list.forEach(function (d) {
      var tr = body.appendChild(el('tr', 'verdict-' + d.verdict));
      var time = el('time', '', (d.time || '').replace('T', ' ').replace(/\.\d+Z$/, 'Z'));
      time.dateTime = d.time || '';
      tr.appendChild(el('td')).appendChild(time);
      tr.appendChild(el('td', 'verdict', d.verdict));
      tr.appendChild(el('td', '', d.status));
      var reason = d.reason || '';
      if (d.secret) { reason += ' (secret #' + d.secret + ')'; }
      tr.appendChild(el('td', 'reason', reason));
      tr.appendChild(el('td', '', d.event || ''));
      tr.appendChild(el('td')).appendChild(el('code', '', d.delivery_id || ''));
      tr.appendChild(el('td', '', d.remote || ''));
    });
    return t;
  }

  // part returns the Deliveries part of job id's details.
  function part(id) {
    var st = shown[id] || (shown[id] = { open: false, got: null });
    var box = el('div', 'deliveries-box');
    var btn = box.appendChild(el('button', 'act deliveries-toggle'));
    btn.type = 'button';
    var out = box.appendChild(el('div', 'deliveries-out'));
    out.setAttribute('aria-live', 'polite');
    var draw = function () {
      btn.textContent = st.open ? 'Refresh deliveries' : 'Show deliveries';
      btn.setAttribute('aria-expanded', st.open ? 'true' : 'false');
      out.textContent = '';
      if (st.open && st.got) { out.appendChild(table(st.got)); }
      if (st.open && !st.got) { out.appendChild(el('p', '', '…')); }
    };
    btn.addEventListener('click', function (ev) {
      ev.stopPropagation();
      st.open = true;
      st.got = null;
      draw();
      load(id, function (got) {
        st.got = got;
        if (box.isConnected) { draw(); } // else the details were rebuilt: the new part draws it
      });
    });
    draw();
    return box;
  }

  // details adds the Deliveries part to a webhook job's details (field is
  // app.js's).
  function details(kind, job, dl, field) {
    if (kind !== 'job' || !job.path) { return; }
    field(dl, 'Deliveries', part(job.id));
  }

  root.karajoDeliveries = { details: details };
})(window);
