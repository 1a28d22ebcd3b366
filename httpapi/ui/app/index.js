// karajo dashboard helpers: HMAC-SHA256 signing and time formatting.
//
// Signing uses Web Crypto (crypto.subtle) when the page is in a secure
// context (https, or http on localhost). karajo itself serves plain HTTP,
// and browsers hide crypto.subtle from plain-HTTP pages on other hosts, so
// a small SHA-256 implementation takes over there. Either way the secret
// never leaves the page.
(function (root) {
  'use strict';

  var K = [
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2
  ];

  // sha256 returns the SHA-256 digest (32 bytes) of a Uint8Array.
  function sha256(msg) {
    var h = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];
    var n = msg.length;
    var padded = new Uint8Array(((n + 9 + 63) >> 6) << 6);
    padded.set(msg);
    padded[n] = 0x80;
    var bits = n * 8;
    var end = padded.length;
    padded[end - 1] = bits & 0xff;
    padded[end - 2] = (bits >>> 8) & 0xff;
    padded[end - 3] = (bits >>> 16) & 0xff;
    padded[end - 4] = (bits >>> 24) & 0xff;
    var hi = Math.floor(bits / 0x100000000);
    padded[end - 5] = hi & 0xff;
    padded[end - 6] = (hi >>> 8) & 0xff;
    padded[end - 7] = (hi >>> 16) & 0xff;
    padded[end - 8] = (hi >>> 24) & 0xff;
    var w = new Array(64);
    for (var off = 0; off < end; off += 64) {
      var i, t1, t2;
      for (i = 0; i < 16; i++) {
        var j = off + i * 4;
        w[i] = (padded[j] << 24) | (padded[j + 1] << 16) | (padded[j + 2] << 8) | padded[j + 3];
      }
      for (i = 16; i < 64; i++) {
        var x = w[i - 15], y = w[i - 2];
        var s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
        var s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
        w[i] = (w[i - 16] + s0 + w[i - 7] + s1) | 0;
      }
      var a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], k = h[7];
      for (i = 0; i < 64; i++) {
        var S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
        var ch = (e & f) ^ (~e & g);
        t1 = (k + S1 + ch + K[i] + w[i]) | 0;
        var S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
        var maj = (a & b) ^ (a & c) ^ (b & c);
        t2 = (S0 + maj) | 0;
        k = g; g = f; f = e; e = (d + t1) | 0;
        d = c; c = b; b = a; a = (t1 + t2) | 0;
      }
      h[0] = (h[0] + a) | 0; h[1] = (h[1] + b) | 0; h[2] = (h[2] + c) | 0; h[3] = (h[3] + d) | 0;
      h[4] = (h[4] + e) | 0; h[5] = (h[5] + f) | 0; h[6] = (h[6] + g) | 0; h[7] = (h[7] + k) | 0;
    }
    var out = new Uint8Array(32);
    for (var m = 0; m < 8; m++) {
      out[m * 4] = (h[m] >>> 24) & 0xff;
      out[m * 4 + 1] = (h[m] >>> 16) & 0xff;
      out[m * 4 + 2] = (h[m] >>> 8) & 0xff;
      out[m * 4 + 3] = h[m] & 0xff;
    }
    return out;
  }

  // hmacSHA256 is HMAC-SHA256 (RFC 2104) over byte arrays.
  function hmacSHA256(key, msg) {
    if (key.length > 64) {
      key = sha256(key);
    }
    var inner = new Uint8Array(64 + msg.length);
    var outer = new Uint8Array(64 + 32);
    for (var i = 0; i < 64; i++) {
      var kb = i < key.length ? key[i] : 0;
      inner[i] = kb ^ 0x36;
      outer[i] = kb ^ 0x5c;
    }
    inner.set(msg, 64);
    outer.set(sha256(inner), 64);
    return sha256(outer);
  }

  function hex(bytes) {
    var s = '';
    for (var i = 0; i < bytes.length; i++) {
      s += (bytes[i] < 16 ? '0' : '') + bytes[i].toString(16);
    }
    return s;
  }

  var utf8 = new TextEncoder();

  // hmacHex resolves to the lowercase hex HMAC-SHA256 of message (a
  // string, signed as its UTF-8 bytes) with secret.
  function hmacHex(secret, message) {
    var key = utf8.encode(secret);
    var msg = utf8.encode(message);
    var subtle = root.crypto && root.crypto.subtle;
    if (!subtle || key.length === 0) { // Web Crypto refuses an empty HMAC key
      return Promise.resolve(hex(hmacSHA256(key, msg)));
    }
    return subtle.importKey('raw', key, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign'])
      .then(function (k) { return subtle.sign('HMAC', k, msg); })
      .then(function (sig) { return hex(new Uint8Array(sig)); })
      .catch(function () { return hex(hmacSHA256(key, msg)); });
  }

  function pad(n) { return n < 10 ? '0' + n : '' + n; }

  // parseTime returns the milliseconds of an RFC 3339 time, or 0 for the
  // zero time (year 1) and anything unreadable.
  function parseTime(s) {
    if (!s || s.lastIndexOf('0001-01-01', 0) === 0) {
      return 0;
    }
    var t = Date.parse(s);
    return isNaN(t) ? 0 : t;
  }

  // fmtAbs formats milliseconds as "2026-11-28 16:40:00 UTC".
  function fmtAbs(ms) {
    if (!ms) {
      return '';
    }
    var d = new Date(ms);
    return d.getUTCFullYear() + '-' + pad(d.getUTCMonth() + 1) + '-' + pad(d.getUTCDate()) + ' ' +
      pad(d.getUTCHours()) + ':' + pad(d.getUTCMinutes()) + ':' + pad(d.getUTCSeconds()) + ' UTC';
  }

  // fmtSpan formats a positive number of seconds coarsely: "42 s",
  // "3 min", "2 h 5 min", "4 d 3 h".
  function fmtSpan(sec) {
    sec = Math.round(sec);
    if (sec < 60) {
      return sec + ' s';
    }
    var min = Math.floor(sec / 60);
    if (min < 60) {
      return min + ' min';
    }
    var h = Math.floor(min / 60);
    if (h < 48) {
      return h + ' h' + (min % 60 ? ' ' + (min % 60) + ' min' : '');
    }
    var d = Math.floor(h / 24);
    return d + ' d' + (h % 24 ? ' ' + (h % 24) + ' h' : '');
  }

  // fmtRel formats ms relative to now: "in 3 min", "5 min ago", "now".
  function fmtRel(ms, now) {
    if (!ms) {
      return '';
    }
    var sec = (ms - now) / 1000;
    if (Math.abs(sec) < 1) {
      return 'now';
    }
    return sec > 0 ? 'in ' + fmtSpan(sec) : fmtSpan(-sec) + ' ago';
  }

  // fmtDuration formats nanoseconds (the API's intervals and timeouts).
  function fmtDuration(ns) {
    if (!ns) {
      return '0 s';
    }
    var sec = ns / 1e9;
    var parts = [];
    var d = Math.floor(sec / 86400); sec -= d * 86400;
    var h = Math.floor(sec / 3600); sec -= h * 3600;
    var m = Math.floor(sec / 60); sec -= m * 60;
    if (d) { parts.push(d + ' d'); }
    if (h) { parts.push(h + ' h'); }
    if (m) { parts.push(m + ' min'); }
    if (sec) { parts.push((Math.round(sec * 1000) / 1000) + ' s'); }
    return parts.join(' ');
  }

  root.karajo = {
    sha256: sha256,
    hmacSHA256: hmacSHA256,
    hex: hex,
    hmacHex: hmacHex,
    parseTime: parseTime,
    fmtAbs: fmtAbs,
    fmtRel: fmtRel,
    fmtSpan: fmtSpan,
    fmtDuration: fmtDuration
  };
})(typeof window !== 'undefined' ? window : globalThis);
