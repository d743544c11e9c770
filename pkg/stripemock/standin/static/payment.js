/* The stand-in Payment Element's card form (a frame of the stand-in's origin). It talks to the
   page's stand-in Stripe.js by postMessage only, and sends the card to the stand-in's API. */
(function () {
  'use strict';
  var q = new URLSearchParams(location.search);
  var id = q.get('id'), parent = q.get('origin');
  var number = byId('number'), expiry = byId('expiry'), cvc = byId('cvc'), error = byId('error');

  function byId(x) { return document.getElementById(x); }
  function send(m) { m.id = id; window.parent.postMessage(m, parent); }
  function digits(s) { return String(s || '').replace(/\D+/g, ''); }
  function luhn(n) {
    var sum = 0;
    for (var i = 0; i < n.length; i++) {
      var v = +n[n.length - 1 - i];
      if (i % 2) { v *= 2; if (v > 9) v -= 9; }
      sum += v;
    }
    return sum % 10 === 0;
  }
  function state() {
    var n = digits(number.value), e = digits(expiry.value), c = digits(cvc.value), mm = +e.slice(0, 2);
    return { n: n, e: e, c: c, numberOK: n.length >= 13 && n.length <= 19 && luhn(n),
      expiryOK: e.length === 4 && mm >= 1 && mm <= 12, cvcOK: c.length >= 3 && c.length <= 4 };
  }
  // Formatting as Stripe's form does: "4242 4242 4242 4242", "12 / 34".
  number.addEventListener('input', function () { number.value = digits(number.value).slice(0, 19).replace(/(\d{4})(?=\d)/g, '$1 '); });
  expiry.addEventListener('input', function () {
    var e = digits(expiry.value).slice(0, 4);
    expiry.value = e.length > 2 ? e.slice(0, 2) + ' / ' + e.slice(2) : e;
  });
  cvc.addEventListener('input', function () { cvc.value = digits(cvc.value).slice(0, 4); });
  [number, expiry, cvc].forEach(function (el) {
    el.addEventListener('input', function () {
      var s = state();
      el.removeAttribute('aria-invalid');
      send({ type: 'change', complete: s.numberOK && s.expiryOK && s.cvcOK, empty: !s.n && !s.e && !s.c });
    });
    el.addEventListener('focus', function () { send({ type: 'focus' }); });
    el.addEventListener('blur', function () { send({ type: 'blur' }); });
  });
  byId('form').addEventListener('submit', function (ev) { ev.preventDefault(); });

  function invalid(el, code, message) {
    el.setAttribute('aria-invalid', 'true');
    error.textContent = message;
    return { error: { type: 'validation_error', code: code, message: message } };
  }
  function check(s) {
    if (s.n.length < 13) return invalid(number, 'incomplete_number', 'Your card number is incomplete.');
    if (!s.numberOK) return invalid(number, 'invalid_number', 'Your card number is invalid.');
    if (s.e.length < 4) return invalid(expiry, 'incomplete_expiry', 'Your card’s expiration date is incomplete.');
    if (!s.expiryOK) return invalid(expiry, 'invalid_expiry_month', 'Your card’s expiration month is invalid.');
    if (!s.cvcOK) return invalid(cvc, 'incomplete_cvc', 'Your card’s security code is incomplete.');
    return null;
  }

  window.addEventListener('message', function (e) {
    if (e.origin !== parent || e.source !== window.parent) return;
    var m = e.data || {};
    if (m.id !== id || m.type !== 'confirm') return;
    var reply = function (result) { send({ type: 'result', n: m.n, result: result }); };
    error.textContent = '';
    var s = state(), bad = check(s);
    if (bad) { reply(bad); return; }
    var p = m.params, body = new URLSearchParams(), bd = p.billing_details || {};
    body.set('key', p.key);
    body.set('client_secret', p.client_secret);
    body.set('return_url', p.return_url);
    body.set('redirect', p.redirect);
    body.set('card[number]', s.n);
    body.set('card[exp]', s.e.slice(0, 2) + '/' + s.e.slice(2));
    body.set('card[cvc]', s.c);
    ['name', 'email', 'phone'].forEach(function (k) { if (bd[k] != null) body.set('billing_details[' + k + ']', bd[k]); });
    for (var k in bd.address || {}) body.set('billing_details[address][' + k + ']', bd.address[k] == null ? '' : bd.address[k]);
    var pi = /^(pi_[A-Za-z0-9]+)_secret_/.exec(p.client_secret)[1];
    fetch('/v1/payment_intents/' + encodeURIComponent(pi) + '/confirm', { method: 'POST', body: body, credentials: 'omit' })
      .then(function (r) { return r.json(); })
      .then(function (j) {
        if (j.error && j.error.type === 'card_error') error.textContent = j.error.message;
        reply(j.error ? { error: j.error } : { paymentIntent: j.payment_intent });
      }, function () {
        reply({ error: { type: 'api_connection_error', message: 'We could not connect to Stripe.' } });
      });
  });

  function resize() { send({ type: 'resize', height: document.documentElement.scrollHeight }); }
  if (window.ResizeObserver) new ResizeObserver(resize).observe(document.body);
  resize();
  send({ type: 'ready' });
})();
