// karajo login page: posts name and password (form-encoded) to
// /karajo/api/auth/login; on code 200 opens the dashboard, else shows the
// server's message.
(function () {
  'use strict';
  var form = document.getElementById('login-form');
  var nameIn = document.getElementById('login-name');
  var passIn = document.getElementById('login-password');
  var submit = document.getElementById('login-submit');
  var errEl = document.getElementById('login-error');

  form.addEventListener('submit', function (ev) {
    ev.preventDefault();
    errEl.textContent = '';
    var body = new URLSearchParams();
    body.set('name', nameIn.value);
    body.set('password', passIn.value);
    submit.disabled = true;
    fetch('/karajo/api/auth/login', {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: body.toString()
    }).then(function (res) {
      return res.text().then(function (text) {
        var msg = null;
        try { msg = JSON.parse(text); } catch (e) { msg = null; }
        if (msg && msg.code === 200) {
          window.location.assign('/karajo/app/');
          return;
        }
        var m = msg && msg.message ? msg.message : ('login failed (HTTP ' + res.status + ')');
        errEl.textContent = m;
        passIn.select();
      });
    }).catch(function (e) {
      errEl.textContent = 'cannot reach the server: ' + e.message;
    }).then(function () {
      submit.disabled = false;
    });
  });
})();
