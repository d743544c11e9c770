/* Hosted checkout page: live tax preview, paying, wire-transfer instructions, status polling.
   Talks to the main backend's runtime API (data-backend) directly; no inline script, no eval.
   Provider flows plug in through window.paygateCheckout.onNext(type, fn) and .onStart(type, fn);
   a flow that only some pages need lives in its own file, loaded on first use (data-stripe-flow,
   data-gc-flow). */
(function () {
  'use strict';
  var root = document.getElementById('checkout');
  if (!root || !window.fetch) return;
  var d = root.dataset;
  var backend = d.backend.replace(/\/+$/, '');
  var lang = d.locale, exp = +d.exponent, inclusive = d.display === 'inclusive';
  var msg = JSON.parse(document.getElementById('pg-i18n').textContent || '{}');
  var form = byId('pay-form'), live = byId('live'), summary = byId('error-summary'), payError = byId('pay-error');
  var payBtn = byId('pay-btn'), wire = byId('wire'), paid = byId('paid'), checking = byId('checking');
  var txnId = d.txn || '', busy = false;
  var POLL_START = 3000, POLL_MAX = 30000, REDIRECT_SECONDS = 4;

  function byId(id) { return document.getElementById(id); }
  function all(sel, el) { return Array.prototype.slice.call((el || document).querySelectorAll(sel)); }
  function t(key, vars) {
    var s = msg[key] || '';
    for (var k in vars || {}) s = s.split('{' + k + '}').join(vars[k]);
    return s;
  }
  function announce(text) {
    // Clear first so that the same message is announced again.
    live.textContent = '';
    setTimeout(function () { live.textContent = text; }, 50);
  }

  // Money: integer minor units, formatted like the server does (ISO exponent, exact decimal string).
  var formatters = {};
  function money(minor, currency) {
    currency = currency || d.currency;
    var e = currency === d.currency ? exp : 2;
    var f = formatters[currency] || (formatters[currency] = new Intl.NumberFormat(lang, {
      style: 'currency', currency: currency, minimumFractionDigits: e, maximumFractionDigits: e }));
    var neg = minor < 0, s = String(Math.abs(minor));
    if (e > 0) { while (s.length <= e) s = '0' + s; s = s.slice(0, -e) + '.' + s.slice(-e); }
    return f.format((neg ? '-' : '') + s);
  }
  var pctFmt = new Intl.NumberFormat(lang, { style: 'percent', maximumFractionDigits: 2 });
  function rate(r) { return pctFmt.format(Number(r) / 100); }

  function api(method, path, body) {
    return fetch(backend + path, {
      method: method, credentials: 'omit', cache: 'no-store',
      headers: body ? { 'Content-Type': 'application/json', Accept: 'application/json' } : { Accept: 'application/json' },
      body: body ? JSON.stringify(body) : undefined
    }).then(function (res) {
      return res.text().then(function (text) {
        var data = null;
        try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
        if (!res.ok) throw { status: res.status, body: data || {} };
        return data;
      });
    }, function () { throw { status: 0, body: { message: t('network_error') } }; });
  }

  // ---- Tax preview -------------------------------------------------------------------------
  function field(name) { return form && form.elements[name]; }
  function val(name) { var el = field(name); return el ? el.value.trim() : ''; }
  function buyer() {
    return { name: val('name'), email: val('email'), company: val('company'), line1: val('line1'),
      city: val('city'), postalCode: val('postalCode'), country: val('country'), vatId: val('vatId') };
  }
  var taxTimer = 0, taxSeq = 0;
  function scheduleTax() { clearTimeout(taxTimer); taxTimer = setTimeout(updateTax, 350); }
  function updateTax() {
    var b = buyer(), seq = ++taxSeq;
    if (!b.country) return;
    var totals = byId('totals');
    totals.setAttribute('aria-busy', 'true');
    api('POST', '/api/v1/checkouts/' + encodeURIComponent(d.code) + '/tax-preview',
      { billingAddress: { country: b.country, postalCode: b.postalCode, vatId: b.vatId } })
      .then(function (p) {
        if (seq !== taxSeq) return; // a newer request is on its way
        renderTax(p);
        announce(t('total_updated', { amount: money(p.totalGross) }));
      }, function (e) {
        if (seq !== taxSeq) return;
        if (e.body && e.body.field && fieldFor(e.body.field)) setFieldError(fieldFor(e.body.field), e.body.message);
        else announce(t('tax_failed'));
      })
      .then(function () { if (seq === taxSeq) totals.removeAttribute('aria-busy'); });
  }
  function renderTax(p) {
    all('[data-line]').forEach(function (el) {
      var l = (p.lines || [])[+el.getAttribute('data-line')];
      if (l) el.textContent = money(inclusive ? l.gross : l.net);
    });
    all('[data-unit]').forEach(function (el) {
      var l = (p.lines || [])[+el.getAttribute('data-unit')], q = +el.getAttribute('data-qty');
      if (!l || !(q > 1)) return;
      // Not an exact share: the server's unit price (the merchant's) stays (view.go, itemViews).
      var amount = inclusive ? l.gross : l.net;
      if (amount % q === 0) el.textContent = t('each', { amount: money(amount / q) });
    });
    setTotal('net', p.totalNet); setTotal('tax', p.totalTax); setTotal('gross', p.totalGross);
    var totals = byId('totals'), grand = totals.querySelector('[data-grand]');
    all('[data-taxline]', totals).forEach(function (el) { el.remove(); });
    var after = inclusive ? grand.nextSibling : grand;
    (p.taxBreakdown || []).forEach(function (b) {
      if (!b.taxRate && !b.taxAmount) return; // no VAT charged (export, reverse charge): the hint says why
      var row = document.createElement('div'), dt = document.createElement('dt'), dd = document.createElement('dd');
      row.setAttribute('data-taxline', '');
      dt.textContent = t(inclusive ? 'incl_vat_rate' : 'vat_rate', { rate: rate(b.taxRate) });
      dd.textContent = money(b.taxAmount);
      row.appendChild(dt); row.appendChild(dd);
      totals.insertBefore(row, after);
    });
    var hint = byId('tax-hint'), key = 'treatment_' + p.treatment;
    // Under OSS with a rate the merchant set, "the rate of your country" would be untrue (view.go).
    if (p.treatment === 'oss' && (p.taxBreakdown || []).some(function (b) {
      return b.taxAmount && !/-standard$/.test(b.taxRateCode || '');
    })) key = 'treatment_oss_explicit';
    hint.textContent = t(key);
    hint.hidden = !hint.textContent;
    var vs = byId('vat-status'), vat = field('vatId');
    if (vs && vat) {
      vs.textContent = vat.value.trim() ? t('vat_status_' + p.vatIdStatus) : '';
      vs.hidden = !vs.textContent;
      if (p.vatIdStatus === 'invalid' && vat.value.trim()) vat.setAttribute('aria-invalid', 'true');
      else if (!byId('err-vatId').textContent) vat.removeAttribute('aria-invalid');
    }
  }
  function setTotal(name, minor) {
    all('[data-total="' + name + '"]').forEach(function (el) { el.textContent = money(minor); });
  }

  // ---- Errors ------------------------------------------------------------------------------
  var aliases = { postcode: 'postalCode', postal_code: 'postalCode', address1: 'line1', address: 'line1',
    firstName: 'name', lastName: 'name', vatid: 'vatId', vat_id: 'vatId', provider: 'providerId', provider_id: 'providerId' };
  function fieldFor(path) {
    var name = String(path || '').split('.').pop();
    name = aliases[name] || name;
    return byId('err-' + name) ? name : '';
  }
  function controls(name) {
    return name === 'providerId' ? all('input[name=providerId]') : [byId('f-' + name)].filter(Boolean);
  }
  function setFieldError(name, text) {
    var err = byId('err-' + name);
    err.textContent = text; err.hidden = false;
    controls(name).forEach(function (el) {
      el.setAttribute('aria-invalid', 'true');
      var base = el.getAttribute('data-describedby');
      el.setAttribute('aria-describedby', (base ? base + ' ' : '') + err.id);
    });
  }
  function clearErrors() {
    all('.field-error').forEach(function (err) {
      err.hidden = true; err.textContent = '';
      controls(err.id.slice(4)).forEach(function (el) {
        el.removeAttribute('aria-invalid');
        var base = el.getAttribute('data-describedby');
        if (base) el.setAttribute('aria-describedby', base); else el.removeAttribute('aria-describedby');
      });
    });
    summary.hidden = true;
    summary.querySelector('ul').textContent = '';
    payError.hidden = true; payError.textContent = '';
  }
  // showErrors lists problems in the summary (each linking to its field) and moves focus there.
  function showErrors(list) {
    var ul = summary.querySelector('ul');
    ul.textContent = '';
    list.forEach(function (e) {
      var li = document.createElement('li');
      if (e.field) {
        setFieldError(e.field, e.text);
        var a = document.createElement('a');
        var target = controls(e.field)[0];
        a.href = '#' + (target ? target.id : 'pay-form');
        a.textContent = e.text;
        a.addEventListener('click', function (ev) { ev.preventDefault(); if (target) target.focus(); });
        li.appendChild(a);
      } else {
        li.textContent = e.text;
      }
      ul.appendChild(li);
    });
    summary.hidden = false;
    summary.focus();
  }
  // apiError shows an API error: a problem with one of the buyer's fields next to that field
  // (and in the summary), anything else (the provider, the service, the checkout's state) as
  // one message in the page's language above the button, never as the buyer's form error.
  var codeKeys = { PROVIDER_ERROR: 'err_provider', SERVICE_UNAVAILABLE: 'err_provider', PROVIDER_NOT_AVAILABLE: 'method_unavailable',
    NO_PROVIDER_AVAILABLE: 'method_unavailable', PAYMENT_IN_PROGRESS: 'err_in_progress', CHECKOUT_EXPIRED: 'expired_title',
    CHECKOUT_NOT_OPEN: 'expired_title', CHECKOUT_ALREADY_PAID: 'completed_title' };
  function apiError(e) {
    var b = (e && e.body) || {}, name = fieldFor(b.field);
    if (name && e.status === 400) {
      var text = b.message || t('error_generic');
      if (b.requestId) text += ' (' + t('request_id') + ': ' + b.requestId + ')';
      showErrors([{ field: name, text: text }]);
      return;
    }
    var msgText = e && e.status === 0 ? t('network_error') : (b.localized ? b.message : t(codeKeys[b.code] || 'error_generic'));
    if (b.requestId) msgText += ' (' + t('request_id') + ': ' + b.requestId + ')';
    payError.textContent = msgText;
    payError.hidden = false;
    payError.focus();
  }

  function validate() {
    var errs = [], b = buyer();
    if (!form.querySelector('input[name=providerId]:checked')) errs.push({ field: 'providerId', text: t('err_providerId') });
    if (!b.name) errs.push({ field: 'name', text: t('err_name') });
    if (!b.email) errs.push({ field: 'email', text: t('err_email') });
    else if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(b.email)) errs.push({ field: 'email', text: t('err_email_invalid') });
    if (!b.line1) errs.push({ field: 'line1', text: t('err_line1') });
    if (!b.city) errs.push({ field: 'city', text: t('err_city') });
    if (!b.country) errs.push({ field: 'country', text: t('err_country') });
    return errs;
  }

  // ---- Paying ------------------------------------------------------------------------------
  // starters create the payment attempt per provider type; the default is POST /transactions/create.
  var starters = {};
  // nextHandlers act on the create answer's next.type; flows in their own files (stripe) register
  // themselves through onNext once loaded.
  var nextHandlers = {
    wire_instructions: function (res) { showWire(res.next.wire, false); },
    redirect: function (res) { go(res.next.redirectUrl); },
    none: function (res) { handleStatus(res); }
  };
  // load adds a script once (a flow of ours, Stripe.js); the promise settles when it ran or failed.
  var loaded = {};
  function load(src) {
    return loaded[src] || (loaded[src] = new Promise(function (ok, fail) {
      var s = document.createElement('script');
      s.src = src;
      s.onload = ok;
      s.onerror = function () { delete loaded[src]; s.remove(); fail(); };
      document.head.appendChild(s);
    }));
  }
  // lazy stands in for a flow (in tbl) until its file has registered the real one.
  function lazy(tbl, type, src) {
    var self = function (res) {
      return load(src).then(function () {
        if (tbl[type] === self) throw { body: { message: t('method_unavailable'), localized: true } };
        return tbl[type](res);
      }, function () { throw { status: 0, body: { message: t('network_error') } }; });
    };
    return self;
  }
  if (d.stripeFlow) nextHandlers.stripe = lazy(nextHandlers, 'stripe', d.stripeFlow);
  if (d.gcFlow) starters.gocardless = lazy(starters, 'gocardless', d.gcFlow);
  function createTransaction(providerId) {
    return api('POST', '/api/v1/transactions/create',
      { sessionPublicId: d.session, shortCode: d.code, providerId: providerId, billingAddress: buyer(), language: document.documentElement.lang })
      .then(function (res) {
        remember(res.transactionId);
        if (res.tax) { taxSeq++; renderTax(res.tax); } // what this attempt charges, authoritatively
        return res;
      });
  }
  // The attempts this tab started. A return (?transaction=) is believed only for one of these, one
  // the server knows is this checkout's (data-return-verified), or one the status API says is.
  var KEY = 'paygate.txns.' + d.session;
  function started() { try { return JSON.parse(sessionStorage.getItem(KEY)) || []; } catch (e) { return []; } }
  function remember(id) {
    try { sessionStorage.setItem(KEY, JSON.stringify(started().concat(id).slice(-10))); } catch (e) { /* no storage */ }
  }
  function setBusy(on) {
    busy = on;
    // aria-disabled instead of disabled: the button keeps keyboard focus while we wait.
    if (payBtn) { if (on) payBtn.setAttribute('aria-disabled', 'true'); else payBtn.removeAttribute('aria-disabled'); }
    root.setAttribute('aria-busy', on ? 'true' : 'false');
  }
  if (form) form.addEventListener('submit', function (ev) {
    ev.preventDefault();
    if (busy) return;
    clearErrors();
    var errs = validate();
    if (errs.length) { showErrors(errs); return; }
    var radio = form.querySelector('input[name=providerId]:checked');
    var start = starters[radio.getAttribute('data-type')] || createTransaction;
    setBusy(true);
    announce(t('processing'));
    Promise.resolve(start(radio.value)).then(function (res) {
      txnId = res.transactionId || txnId;
      var h = nextHandlers[res.next && res.next.type];
      if (!h) throw { body: { message: t('method_unavailable'), localized: true } };
      return h(res);
    }).catch(apiError).then(function () { setBusy(false); });
  });

  // ---- Wire transfer -----------------------------------------------------------------------
  function groupIBAN(s) { return String(s || '').replace(/\s+/g, '').replace(/(.{4})(?=.)/g, '$1 '); }
  function showWire(w, marked) {
    var values = { amount: money(w.amount, w.currency), reference: w.reference, accountHolder: w.accountHolder,
      iban: w.ibanGrouped || groupIBAN(w.iban), bic: w.bic || '', bankName: w.bankName || '', instructions: w.instructions || '' };
    all('[data-wire]', wire).forEach(function (el) { el.textContent = values[el.getAttribute('data-wire')] || ''; });
    all('[data-wire-row]', wire).forEach(function (el) { el.hidden = !values[el.getAttribute('data-wire-row')]; });
    wire.querySelector('[data-wire=instructions]').hidden = !values.instructions;
    byId('sent-btn').hidden = marked;
    byId('wire-waiting').hidden = !marked;
    if (wireBack) wireBack.hidden = marked;
    show(wire);
    byId('wire-h').focus();
    announce(t('wire_ready'));
  }
  var sent = byId('sent-btn');
  if (sent) sent.addEventListener('click', function () {
    if (busy || !txnId) return;
    busy = true;
    clearErrors();
    api('POST', '/api/v1/transactions/' + encodeURIComponent(txnId) + '/mark-pending').then(function (s) {
      sent.hidden = true;
      if (wireBack) wireBack.hidden = true; // the money may be on its way: no switching now
      var waiting = byId('wire-waiting');
      waiting.hidden = false;
      waiting.focus(); // the button is gone: keep focus in the flow
      announce(t('wire_waiting'));
      if (!handleStatus(s)) startPolling();
    }, apiError).then(function () { busy = false; });
  });
  // Back from the transfer to the payment methods: the transfer not yet sent is called off (so
  // the shop does not wait for it), and the buyer chooses again.
  var wireBack = byId('wire-back');
  if (wireBack) wireBack.addEventListener('click', function () {
    if (busy) return;
    var id = txnId;
    busy = true;
    clearErrors();
    (id ? api('POST', '/api/v1/transactions/' + encodeURIComponent(id) + '/cancel') : Promise.resolve()).then(function () {
      txnId = '';
      polling = false;
      show(form);
      var radio = form.querySelector('input[name=providerId]:checked') || form.querySelector('input[name=providerId]');
      if (radio) radio.focus();
    }, apiError).then(function () { busy = false; });
  });
  all('button[data-copy]').forEach(function (btn) {
    btn.addEventListener('click', function () {
      var src = byId(btn.getAttribute('data-copy')), what = btn.getAttribute('data-what');
      var text = src.textContent.trim();
      if (src.id === 'wire-iban') text = text.replace(/\s+/g, '');
      var done = function () {
        announce(t('copied', { what: what }));
        // Visible too: "Copied" beside the button for a few seconds.
        var mark = wire.querySelector('[data-copied="' + src.id + '"]');
        if (!mark) return;
        mark.hidden = false;
        btn.classList.add('is-copied');
        clearTimeout(mark.timer);
        mark.timer = setTimeout(function () { mark.hidden = true; btn.classList.remove('is-copied'); }, 4000);
      };
      var fail = function () {
        var r = document.createRange(); r.selectNodeContents(src);
        var sel = window.getSelection(); sel.removeAllRanges(); sel.addRange(r);
        announce(t('copy_failed'));
      };
      if (navigator.clipboard && navigator.clipboard.writeText) navigator.clipboard.writeText(text).then(done, fail);
      else fail();
    });
  });

  // ---- Status polling ----------------------------------------------------------------------
  // sync asks the backend to ask the provider (a card payment's outcome is at Stripe, not yet
  // in our database); hint is what the provider's redirect said, trusted for failure only.
  var polling = false, pollTimer = 0, pollDelay = POLL_START, inflight = false, sync = false, hint = '', trusted = true;
  function startPolling(now) { polling = true; pollDelay = POLL_START; if (now) poll(); else schedulePoll(); }
  function schedulePoll() {
    clearTimeout(pollTimer);
    if (polling && !document.hidden) pollTimer = setTimeout(poll, pollDelay);
  }
  function poll() {
    if (inflight || !polling) return;
    inflight = true;
    api('GET', '/api/v1/transactions/' + encodeURIComponent(txnId) + '/status' + (sync ? '?sync=1' : '')).then(function (s) {
      pollDelay = Math.min(Math.round(pollDelay * 1.2), POLL_MAX);
      if (!trusted && !(trusted = s.sessionPublicId === d.session)) { polling = false; show(form); forget(); return; }
      if (handleStatus(s)) polling = false;
      else if (hint === 'failed') { polling = false; handleStatus({ status: 'failed', failureMessage: s.failureMessage }); }
    }, function (e) {
      pollDelay = Math.min(pollDelay * 2, POLL_MAX * 2);
      if (e.status === 404 && sync) { polling = false; show(form); forget(); } // not a transaction of ours
    }).then(function () { inflight = false; schedulePoll(); });
  }
  // Stop while the tab is hidden; check at once when the buyer comes back.
  document.addEventListener('visibilitychange', function () {
    if (!polling) return;
    if (document.hidden) clearTimeout(pollTimer); else { clearTimeout(pollTimer); poll(); }
  });
  // handleStatus reacts to a transaction status answer; it reports whether the attempt is over.
  function handleStatus(s) {
    var st = s && s.status;
    if (st === 'succeeded' || st === 'partially_refunded' || st === 'disputed') { showPaid(s.returnUrl); return true; }
    if (st === 'pending_provider' && s.leaveOnPending && safeURL(s.returnUrl)) { leave(s.returnUrl); return true; } // the store (Duda) has the order
    if (st === 'failed' || st === 'canceled') {
      show(form);
      forget();
      showErrors([{ field: '', text: s.failureMessage || t('payment_failed') }]);
      return true;
    }
    return false;
  }
  // show makes one of the page's steps visible: the form, the transfer, the card, the check.
  function show(el) {
    // Back to the form after an attempt: the totals showed that attempt's tax, the form's own
    // details may differ.
    var again = el === form && form && form.hidden;
    [form, wire, byId('card'), checking, byId('gc')].forEach(function (x) { if (x) x.hidden = x !== el; });
    if (again) updateTax();
  }
  // check shows "checking your payment" (unless quiet: the caller shows its own step) and asks
  // for the outcome at once, then polls.
  function check(id, redirectStatus, verified, quiet) {
    txnId = id; sync = true; hint = redirectStatus || '';
    trusted = verified !== false || started().indexOf(id) >= 0;
    if (!quiet) {
      show(checking);
      byId('checking-h').focus();
      announce(t('checking_title'));
    }
    startPolling(true);
  }
  // forget drops the provider's return parameters from the address, so a reload starts afresh.
  function forget() {
    hint = '';
    if (!window.history.replaceState || !/[?&]transaction=/.test(location.search)) return;
    var q = new URLSearchParams(location.search);
    ['transaction', 'gocardless', 'payment_intent', 'payment_intent_client_secret', 'redirect_status'].forEach(function (k) { q.delete(k); });
    var qs = q.toString();
    window.history.replaceState(null, '', location.pathname + (qs ? '?' + qs : '') + location.hash);
  }
  function safeURL(u) { return typeof u === 'string' && /^https?:\/\//i.test(u) ? u : ''; }
  function go(u) { if (safeURL(u)) window.location.assign(u); }
  // leave: the store has the order; back to it while the payment is on its way.
  function leave(u) {
    var text = t('pending_redirect', { site: d.site, seconds: REDIRECT_SECONDS }), el = byId(wire && !wire.hidden ? 'wire-waiting' : 'gc-text');
    if (el) { el.textContent = text; el.hidden = false; }
    if ((el = byId('cancel'))) el.hidden = true;
    announce(text);
    setTimeout(function () { go(u); }, REDIRECT_SECONDS * 1000);
  }
  function showPaid(returnUrl) {
    var url = safeURL(returnUrl), link = byId('return-link'), text;
    show(null); summary.hidden = true;
    forget();
    var cancel = byId('cancel');
    if (cancel) cancel.hidden = true;
    paid.hidden = false;
    if (url) {
      text = t('paid_redirect', { site: d.site, seconds: REDIRECT_SECONDS });
      link.href = url; link.hidden = false;
      setTimeout(function () { go(url); }, REDIRECT_SECONDS * 1000);
    } else {
      text = t('paid_done');
    }
    byId('paid-msg').textContent = text;
    byId('paid-h').focus();
    announce(t('paid_title') + '. ' + text);
  }

  // Payment methods offered only to some countries (data-countries, the server's availability
  // rules) follow the billing country: hidden and disabled for any other; the server refuses
  // them all the same. When none is left, the notice says so.
  function filterProviders() {
    var sel = field('country'), cc = sel ? String(sel.value).toUpperCase() : '';
    var rows = all('.providers .radio'), visible = [];
    rows.forEach(function (row) {
      var list = row.getAttribute('data-countries'), input = row.querySelector('input[name=providerId]');
      var hide = !!list && list.split(' ').indexOf(cc) < 0;
      row.hidden = hide;
      input.disabled = hide;
      if (hide) input.checked = false; else visible.push(input);
    });
    if (visible.length && !visible.some(function (i) { return i.checked; })) visible[0].checked = true;
    var none = byId('no-provider-country');
    if (!none) return;
    var wasHidden = none.hidden;
    none.hidden = !(rows.length && !visible.length);
    if (wasHidden && !none.hidden) announce(none.textContent);
  }

  // ---- Wiring ------------------------------------------------------------------------------
  if (form) {
    ['country', 'vatId', 'postalCode'].forEach(function (n) {
      var el = field(n);
      if (!el) return;
      el.addEventListener(el.tagName === 'SELECT' ? 'change' : 'input', scheduleTax);
    });
    var countryEl = field('country');
    if (countryEl) countryEl.addEventListener(countryEl.tagName === 'SELECT' ? 'change' : 'input', filterProviders);
  }
  // The order summary is open beside the form on wide screens, folded to its total on phones
  // (without script the stylesheet shows it on wide screens all the same).
  var sumEl = byId('summary');
  if (sumEl && window.matchMedia) {
    var wide = window.matchMedia('(min-width: 56rem)');
    var fit = function () { if (wide.matches) sumEl.open = true; };
    fit();
    if (wide.addEventListener) wide.addEventListener('change', fit);
  }
  // Local time for the expiry (the server renders UTC).
  all('time[datetime]').forEach(function (el) {
    try {
      el.textContent = new Intl.DateTimeFormat(lang, { dateStyle: 'long', timeStyle: 'short' }).format(new Date(el.getAttribute('datetime')));
    } catch (e) { /* keep the server's text */ }
  });
  // A reload while a transfer is pending resumes the page (the server rendered the instructions).
  if (txnId && d.txnMarked === 'true') startPolling();
  // Back from the provider (3-D Secure, a bank's page): the outcome comes from the status API only.
  // GoCardless's flow (data-gc-return) handles its returns itself.
  if (d.gcReturn) load(d.gcFlow).catch(function () { show(form); });
  else if (d.returnTxn && checking) check(d.returnTxn, d.returnStatus, d.returnVerified === 'true');

  window.paygateCheckout = {
    onNext: function (type, fn) { nextHandlers[type] = fn; },
    onStart: function (type, fn) { starters[type] = fn; },
    api: api, money: money, t: t, announce: announce, showPaid: showPaid, startPolling: startPolling,
    setTransaction: function (id) { txnId = id; }, buyer: buyer,
    load: load, show: show, check: check, create: createTransaction,
    form: form, error: apiError, busy: setBusy, remember: remember, started: started, forget: forget
  };
})();
