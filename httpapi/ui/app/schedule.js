// schedule.js: the dashboard's schedule parts (issue 13). It formats
// times in the viewer's zone or each job's zone (a toggle remembered in
// localStorage), with weekday names, and fills a job's details with its
// cron expressions, zone and next five runs (from the preview endpoint).
// app.js calls window.karajoSchedule; without this file it keeps UTC.
(function (root) {
  'use strict';

  var STORE = 'karajo.timezone-mode'; // "local" or "job"
  var mode = 'local';
  try { mode = root.localStorage.getItem(STORE) === 'job' ? 'job' : 'local'; } catch (e) { /* storage off */ }

  var formats = {}; // Intl.DateTimeFormat by zone ("" = the viewer's)

  function formatter(zone) {
    if (!formats[zone]) {
      var opts = {
        weekday: 'short', year: 'numeric', month: '2-digit', day: '2-digit',
        hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23', timeZoneName: 'short'
      };
      if (zone) { opts.timeZone = zone; }
      try {
        formats[zone] = new Intl.DateTimeFormat('en-GB', opts);
      } catch (e) {
        opts.timeZone = 'UTC';
        formats[zone] = new Intl.DateTimeFormat('en-GB', opts);
      }
    }
    return formats[zone];
  }

  // zoneOf is the zone a job's times are shown in: the viewer's in local
  // mode, else the job's (UTC for jobs without one, as v0.9.3).
  function zoneOf(job) {
    if (mode === 'local') { return ''; }
    return (job && job.timezone) || 'UTC';
  }

  // fmt formats milliseconds as "Thu 2026-12-03 21:30:00 GMT+5:30".
  function fmt(ms, zone) {
    if (!ms) { return ''; }
    var p = {};
    formatter(zone || '').formatToParts(new Date(ms)).forEach(function (x) { p[x.type] = x.value; });
    return p.weekday + ' ' + p.year + '-' + p.month + '-' + p.day + ' ' + p.hour + ':' + p.minute + ':' + p.second +
      ' ' + (p.timeZoneName || '');
  }

  function label() {
    return mode === 'local' ? 'Times: your zone' : "Times: each job's zone";
  }

  // toggle switches the mode, remembers it and tells app.js to redraw.
  function toggle(button) {
    mode = mode === 'local' ? 'job' : 'local';
    try { root.localStorage.setItem(STORE, mode); } catch (e) { /* storage off */ }
    button.textContent = label();
    root.document.dispatchEvent(new root.CustomEvent('karajo-timezone'));
  }

  var runs = {}; // preview answers by kind, id and next_run: {list, error}

  // nextRuns returns a list element of the job's next five runs, filled
  // from the preview endpoint (asked again when next_run changes).
  function nextRuns(kind, job) {
    var ol = root.document.createElement('ol');
    ol.className = 'next-runs';
    var key = kind + '\n' + job.id + '\n' + job.next_run;
    var fill = function (got) {
      ol.textContent = '';
      if (got.error) {
        ol.appendChild(item('not available: ' + got.error));
        return;
      }
      if (!got.list.length) { ol.appendChild(item('none')); }
      got.list.forEach(function (r) { ol.appendChild(item(fmt(Date.parse(r.at), zoneOf(job)), r.at)); });
    };
    if (runs[key]) {
      fill(runs[key]);
      return ol;
    }
    ol.appendChild(item('…'));
    var url = '/karajo/api/' + (kind === 'job' ? 'job_exec' : 'job_http') + '/schedule?n=5&id=' + encodeURIComponent(job.id);
    root.fetch(url, { credentials: 'same-origin', cache: 'no-store' }).then(function (res) {
      return res.json().then(function (msg) {
        if (!res.ok) { throw new Error(msg.message || 'HTTP ' + res.status); }
        return { list: (msg.data && msg.data.runs) || [] };
      });
    }).catch(function (err) { return { list: [], error: err.message }; }).then(function (got) {
      runs[key] = got;
      fill(got);
    });
    return ol;
  }

  function item(text, dateTime) {
    var li = root.document.createElement('li');
    var t = root.document.createElement('time');
    t.textContent = text;
    if (dateTime) { t.dateTime = dateTime; }
    li.appendChild(t);
    return li;
  }

  // details adds the schedule fields to a job's details (field is app.js's).
  function details(kind, job, dl, field) {
    if (job.cron && job.cron.length) {
      var c = root.document.createElement('code');
      c.textContent = job.cron.join('  |  ');
      field(dl, 'Cron', c);
    }
    if (job.cron || job.schedule) { field(dl, 'Time zone', job.timezone || 'UTC'); }
    if (job.status === 'paused') {
      field(dl, 'Next runs', 'paused');
    } else if (job.cron || job.schedule || job.interval) {
      field(dl, 'Next runs', nextRuns(kind, job));
    }
  }

  root.addEventListener('DOMContentLoaded', function () {
    var b = root.document.getElementById('tz-toggle');
    if (!b) { return; }
    b.textContent = label();
    b.addEventListener('click', function () { toggle(b); });
  });

  root.karajoSchedule = { fmt: fmt, zoneOf: zoneOf, details: details };
})(window);
