/* Card payments with Stripe's Payment Element. app.js loads this file only when the buyer pays
   with a Stripe provider; it then loads Stripe.js (data-stripe-js). The card fields live in
   Stripe's own frames: card data never reaches this page's script nor our servers. We send
   Stripe the buyer's billing details and a return URL (3-D Secure and other redirects come back
   to this page with ?transaction=), and learn the outcome from our status API only. */
(function () {
  'use strict';
  var P = window.paygateCheckout, root = document.getElementById('checkout');
  if (!P || !root) return;
  var d = root.dataset, t = P.t;
  var panel = byId('card'), heading = byId('card-h'), box = byId('payment-element'), err = byId('card-error');
  var payBtn = byId('card-pay-btn'), amount = panel.querySelector('[data-card-amount]');
  var PAID = ['succeeded', 'partially_refunded', 'disputed', 'pending_provider'];
  var ready = null; // Stripe.js loading
  var cur = null;   // the attempt on screen: {id, provider, stripe, elements, element, returnUrl}
  var busy = false, errKind = '';

  function byId(id) { return document.getElementById(id); }
  // appearance follows the page's colour scheme: Stripe's night theme in dark mode, with the
  // page's link colour (the brand lightened to stay readable there) as the primary colour.
  function appearance() {
    var dark = window.matchMedia && window.matchMedia('(prefers-color-scheme: dark)').matches;
    if (!dark) return { theme: 'stripe', variables: { colorPrimary: d.brand } };
    var link = getComputedStyle(document.documentElement).getPropertyValue('--link').trim();
    return { theme: 'night', variables: { colorPrimary: link || d.brand } };
  }
  function stripeJS() {
    if (!ready) {
      ready = P.load(d.stripeJs).then(function () {
        if (typeof window.Stripe !== 'function') throw new Error('Stripe.js did not define Stripe');
      });
      ready.catch(function () { ready = null; }); // the next attempt tries again
    }
    return ready;
  }
  function setError(text, kind) {
    err.textContent = text || '';
    err.hidden = !text;
    errKind = text ? kind : '';
  }
  function setBusy(on) {
    busy = on;
    if (on) payBtn.setAttribute('aria-disabled', 'true'); else payBtn.removeAttribute('aria-disabled');
    root.setAttribute('aria-busy', on ? 'true' : 'false');
  }
  function unmount() {
    if (cur && cur.element) {
      try { cur.element.destroy(); } catch (e) { /* already gone */ }
    }
    cur = null;
    box.removeAttribute('aria-busy');
  }

  // mount shows the card step for an attempt (a transactions/create answer) in a new Payment Element.
  function mount(res) {
    var s = res.next && res.next.stripe;
    var radio = P.form.querySelector('input[name=providerId]:checked');
    if (!s || !s.clientSecret || !s.publishableKey || !s.returnUrl || !radio) throw { body: { message: t('method_unavailable'), localized: true } };
    P.announce(t('card_loading'));
    return stripeJS().then(function () {
      unmount();
      var stripe = window.Stripe(s.publishableKey);
      var elements = stripe.elements({ clientSecret: s.clientSecret, locale: d.locale,
        appearance: appearance() });
      // Name and email come from our form (passed on confirming); Stripe asks for the rest it needs.
      var element = elements.create('payment', { fields: { billingDetails: { name: 'never', email: 'never' } } });
      var a = cur = { id: res.transactionId, provider: radio.value, stripe: stripe, elements: elements, element: element, returnUrl: s.returnUrl };
      box.setAttribute('aria-busy', 'true');
      element.on('ready', function () {
        if (a !== cur) return;
        box.removeAttribute('aria-busy');
        P.announce(t('card_ready'));
      });
      element.on('loaderror', function () {
        if (a !== cur) return;
        box.removeAttribute('aria-busy');
        setError(t('card_load_failed'), 'error');
      });
      element.on('change', function (e) {
        if (a === cur && e.complete && errKind === 'validation') setError('');
      });
      element.mount('#payment-element');
      amount.textContent = P.money(res.amount, res.currency);
      P.setTransaction(a.id);
      P.show(panel);
      heading.focus();
    }, function () { throw { status: -1, body: { message: t('card_load_failed'), localized: true } }; });
  }

  // back returns to the form: another payment method, other billing details.
  function back() {
    unmount();
    setError('');
    P.show(P.form);
    var radio = P.form.querySelector('input[name=providerId]:checked');
    if (radio) radio.focus();
  }

  // failed handles an unsuccessful confirmation. A validation error (incomplete fields) changed
  // nothing: the buyer fixes it and pays again. Otherwise the attempt failed at Stripe: the status
  // API records that (it asks Stripe), and a new attempt with a fresh Payment Element is ready for
  // the next try, with the message kept on screen.
  function failed(a, e) {
    var text = (e && e.message) || t('payment_failed');
    if (e && e.type === 'validation_error') { setError(text, 'validation'); return; }
    setError(text + ' ' + t('card_retry'), 'declined');
    return P.api('GET', '/api/v1/transactions/' + encodeURIComponent(a.id) + '/status?sync=1').then(function (s) {
      return s && s.status;
    }, function () { return ''; }).then(function (st) {
      if (a !== cur) return;
      if (PAID.indexOf(st) >= 0) { P.check(a.id); return; } // it went through after all
      return P.create(a.provider).then(function (res) { if (a === cur) return mount(res); });
    }).catch(function (e) { back(); P.error(e); });
  }

  payBtn.addEventListener('click', function () {
    if (busy || !cur) return;
    var a = cur, b = P.buyer();
    setError('');
    setBusy(true);
    P.announce(t('processing'));
    Promise.resolve().then(function () {
      return a.stripe.confirmPayment({
        elements: a.elements,
        confirmParams: {
          return_url: a.returnUrl,
          payment_method_data: { billing_details: { name: b.name, email: b.email,
            address: { line1: b.line1, city: b.city, postal_code: b.postalCode, country: b.country } } }
        },
        redirect: 'if_required' // cards come back here; redirect-based steps return to returnUrl
      });
    }).then(function (r) {
      if (a !== cur) return;
      if (r.error) return failed(a, r.error);
      var st = r.paymentIntent && r.paymentIntent.status;
      if (st === 'succeeded' || st === 'processing' || st === 'requires_capture') { P.check(a.id); return; }
      return failed(a, null);
    }, function () { if (a === cur) setError(t('error_generic'), 'error'); })
      .then(function () { setBusy(false); });
  });
  byId('card-back').addEventListener('click', function () { if (!busy) back(); });

  P.onNext('stripe', mount);
})();
