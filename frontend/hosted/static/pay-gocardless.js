/* Bank payments with GoCardless (Billing Request Flow). app.js loads this file when the buyer
   pays with a GoCardless provider, and when they come back from GoCardless (data-gc-return).
   Paying sends the whole tab to GoCardless's authorisation page, a top-level navigation: no
   script or frame of GoCardless's runs on this page. GoCardless sends the buyer back with
   ?transaction=…&gocardless=return once they authorised the payment (it then takes working
   days: the page says so and keeps checking), or with …&gocardless=exit when they left it
   (the attempt is cancelled and the payment methods are shown again). A transaction id from the
   address is acted on only when this tab started it or the server says it is this checkout's. */
(function () {
  'use strict';
  var P = window.paygateCheckout, root = document.getElementById('checkout');
  if (!P || !root) return;
  var d = root.dataset, msg = JSON.parse(document.getElementById('pg-i18n').textContent || '{}');
  var panel = byId('gc'), heading = byId('gc-h'), left = byId('gc-left'), link = byId('gc-return-link');
  var PAID = ['succeeded', 'partially_refunded', 'disputed'];
  var away = ''; // the attempt this tab is on its way to GoCardless for

  function byId(id) { return document.getElementById(id); }
  function t(key) { return msg[key] || P.t(key); }
  function txn(id, what) { return '/api/v1/transactions/' + encodeURIComponent(id) + '/' + what; }
  function safe(u) { return typeof u === 'string' && /^https?:\/\//i.test(u) ? u : ''; }

  // ---- Paying ------------------------------------------------------------------------------
  // start creates the attempt's billing request and its flow with the billing details (or, for
  // a checkout with an open GoCardless attempt, resumes it: paying again after pressing back on
  // GoCardless's page leads to the same authorisation page).
  function start(providerId) {
    return P.api('POST', '/api/v1/billing-requests/create',
      { sessionPublicId: d.session, shortCode: d.code, providerId: providerId, billingAddress: P.buyer(), language: document.documentElement.lang })
      .then(function (res) {
        if (!res || !res.transactionId || !safe(res.authorisationUrl)) throw { body: { message: t('method_unavailable'), localized: true } };
        P.remember(res.transactionId);
        return { transactionId: res.transactionId, next: { type: 'gocardless', url: res.authorisationUrl } };
      });
  }
  // leave takes the tab to GoCardless. The page stays busy until it is gone, so that nothing
  // else starts meanwhile; see pageshow for the way back.
  function leave(res) {
    away = res.transactionId;
    P.announce(t('gc_redirecting'));
    window.location.assign(res.next.url);
    return new Promise(function () {});
  }
  // Back with the browser's back button, the page may come from the back-forward cache just as
  // it was left (busy, on its way out): make it usable again and, should the buyer have
  // authorised the payment meanwhile, show that rather than the form.
  window.addEventListener('pageshow', function (e) {
    if (!e.persisted || !away) return;
    var id = away;
    away = '';
    P.busy(false);
    P.announce('');
    P.api('GET', txn(id, 'status?sync=1')).then(function (s) {
      var st = s && s.status;
      if (st === 'pending_provider' || PAID.indexOf(st) >= 0) after(id, s);
    }, function () { /* the form it is */ });
  });
  if (P.form) P.form.addEventListener('submit', function () { if (left) left.hidden = true; });

  // ---- Back from GoCardless ----------------------------------------------------------------
  // back handles the page's load after GoCardless: kind is "return" (authorised), "exit" (left
  // without paying) or "pending" (a reload while the payment is processed). The promise settles
  // once the page shows where the attempt stands.
  function back(id, kind) {
    var own = d.returnVerified === 'true' || P.started().indexOf(id) >= 0;
    if (own && kind === 'return') return markPending(id);
    // Leaving is acted on only while nothing was authorised: the state comes from GoCardless.
    return P.api('GET', txn(id, 'status?sync=1')).then(function (s) {
      if (!own && !(s && s.sessionPublicId === d.session)) { P.forget(); P.show(P.form); return; } // not this checkout's
      P.remember(id);
      var st = s.status;
      if (kind === 'return') return markPending(id);
      if (kind !== 'exit' || st === 'pending_provider' || PAID.indexOf(st) >= 0) after(id, s);
      else if (st === 'initiated') return cancel(id);
      else choose();
    }, function () {
      if (kind === 'exit') choose();
      else P.check(id, '', own); // keeps asking (and checking it is ours)
    });
  }
  // markPending records that the buyer finished at GoCardless, then shows where the payment is.
  function markPending(id) {
    return P.api('POST', txn(id, 'mark-pending')).then(function (s) { after(id, s); }, function (e) {
      if (e.status === 404) { P.forget(); P.show(P.form); return; }
      if (e.status === 409) P.check(id, '', true); // over meanwhile (failed, cancelled): the status says how
      else after(id, null); // offline: the status API catches up (it asks GoCardless)
    });
  }
  // after shows a payment on its way and polls until it is over; one that is over already is
  // shown by app.js (paid: back to the shop; failed: the form with the reason).
  function after(id, s) {
    var st = s && s.status;
    if (st && st !== 'initiated' && st !== 'pending_provider') { P.check(id, '', true); return; }
    var u = safe(s && s.returnUrl);
    if (u) { link.href = u; link.hidden = false; }
    P.show(panel);
    heading.focus();
    P.announce(heading.textContent + '. ' + byId('gc-text').textContent);
    P.check(id, '', true, true);
  }
  // cancel ends the attempt the buyer left, so that its authorisation page takes no money.
  function cancel(id) {
    return P.api('POST', txn(id, 'cancel')).then(choose, function (e) {
      if (e.status === 409) P.check(id, '', true); // authorised after all
      else choose();
    });
  }
  // choose shows the payment methods again, saying why.
  function choose() {
    P.forget();
    P.show(P.form);
    left.hidden = false;
    left.focus();
    P.announce(left.textContent);
  }

  P.onStart('gocardless', start);
  P.onNext('gocardless', leave);
  if (d.gcReturn && d.returnTxn) {
    // Busy meanwhile: paying again before a left attempt is cancelled would resume it.
    var done = function () { P.busy(false); };
    P.busy(true);
    back(d.returnTxn, d.gcReturn).then(done, done);
  }
})();
