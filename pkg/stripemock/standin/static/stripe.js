/* Stand-in for Stripe.js v3, for tests only (paygate.dev/pkg/stripemock/standin): the subset the
   hosted page uses, checked the way Stripe.js checks it. A misuse throws an IntegrationError, as
   Stripe.js does, and is reported to the test, which then fails. The card form is a frame of this
   origin; the page's script never sees what the buyer types into it. */
(function () {
  'use strict';
  var ORIGIN = new URL(document.currentScript.src).origin;
  var PK = /^pk_(test|live)_[A-Za-z0-9]+$/, CS = /^(pi_[A-Za-z0-9]+)_secret_[A-Za-z0-9]+$/;
  var FIELD = ['auto', 'never', 'if_required'];
  var EVENTS = ['ready', 'change', 'focus', 'blur', 'escape', 'loaderror', 'loaderstart'];
  var seq = 0;

  function misuse(text) {
    try {
      fetch(ORIGIN + '/_standin/misuse', { method: 'POST', body: text, credentials: 'omit' });
    } catch (e) { /* the error below still surfaces */ }
    var err = new Error(text);
    err.name = 'IntegrationError';
    return err;
  }
  function isObject(v) { return v !== null && typeof v === 'object' && !Array.isArray(v); }
  function only(o, keys, what) {
    for (var k in o) if (keys.indexOf(k) < 0) throw misuse(what + ': unknown parameter ' + JSON.stringify(k));
  }
  function qs(o) {
    return Object.keys(o).map(function (k) { return encodeURIComponent(k) + '=' + encodeURIComponent(o[k]); }).join('&');
  }
  function hang() { return new Promise(function () {}); } // the page is going away

  // ---- Stripe(publishableKey) ---------------------------------------------------------------
  function Stripe(key, options) {
    if (!(this instanceof Stripe)) return new Stripe(key, options);
    if (typeof key !== 'string' || !PK.test(key)) {
      throw misuse('Stripe(): invalid publishable key ' + JSON.stringify(key) + ' (pk_test_… or pk_live_… expected)');
    }
    if (options !== undefined && !isObject(options)) throw misuse('Stripe(): options must be an object');
    this._key = key;
  }

  Stripe.prototype.elements = function (o) {
    if (!isObject(o)) throw misuse('stripe.elements(): options with a clientSecret expected');
    only(o, ['clientSecret', 'appearance', 'locale', 'fonts', 'loader'], 'stripe.elements()');
    var m = typeof o.clientSecret === 'string' && CS.exec(o.clientSecret);
    if (!m) throw misuse('stripe.elements(): invalid clientSecret ' + JSON.stringify(o.clientSecret) + ' (pi_…_secret_… expected)');
    var color = '';
    if (o.appearance !== undefined) {
      if (!isObject(o.appearance)) throw misuse('stripe.elements(): appearance must be an object');
      var v = o.appearance.variables;
      if (v !== undefined && !isObject(v)) throw misuse('stripe.elements(): appearance.variables must be an object');
      if (v && v.colorPrimary !== undefined) {
        if (typeof v.colorPrimary !== 'string' || !/^#[0-9a-fA-F]{6}$/.test(v.colorPrimary)) {
          throw misuse('stripe.elements(): appearance.variables.colorPrimary must be a colour like #0570de, got ' + JSON.stringify(v.colorPrimary));
        }
        color = v.colorPrimary;
      }
    }
    if (o.locale !== undefined && typeof o.locale !== 'string') throw misuse('stripe.elements(): locale must be a string');
    return new Elements(this, o.clientSecret, m[1], color, o.locale || 'auto');
  };

  // ---- Elements -----------------------------------------------------------------------------
  function Elements(stripe, secret, pi, color, locale) {
    this._stripe = stripe;
    this._secret = secret;
    this._pi = pi;
    this._color = color;
    this._locale = locale;
    this._payment = null;
    // Like Stripe.js, ask the API what to show: the page's CSP must allow connecting here.
    this._session = fetch(ORIGIN + '/v1/elements/sessions?' + qs({ key: stripe._key, client_secret: secret, color_primary: color, locale: locale }),
      { credentials: 'omit' }).then(function (r) {
      return r.json().then(function (j) { if (!r.ok) throw j.error; return j; });
    });
    this._session.catch(function () { /* confirmPayment reports it */ });
  }

  function fieldOK(v) { return v === undefined || FIELD.indexOf(v) >= 0; }
  Elements.prototype.create = function (type, o) {
    if (type !== 'payment') throw misuse('elements.create(): the stand-in has the "payment" Element only, not ' + JSON.stringify(type));
    if (this._payment && !this._payment._destroyed) throw misuse('elements.create(): can only create one Element of type payment');
    if (o !== undefined && !isObject(o)) throw misuse('elements.create(): options must be an object');
    var bd = o && o.fields && o.fields.billingDetails;
    if (bd !== undefined && !fieldOK(bd)) {
      if (!isObject(bd)) throw misuse('elements.create(): fields.billingDetails must be "auto", "never" or an object');
      only(bd, ['name', 'email', 'phone', 'address'], 'fields.billingDetails');
      ['name', 'email', 'phone'].forEach(function (k) {
        if (!fieldOK(bd[k])) throw misuse('elements.create(): fields.billingDetails.' + k + ' must be "auto", "never" or "if_required"');
      });
      if (!fieldOK(bd.address) && !isObject(bd.address)) throw misuse('elements.create(): fields.billingDetails.address is invalid');
    }
    this._payment = new PaymentElement(this, bd || 'auto');
    return this._payment;
  };
  Elements.prototype.getElement = function (type) { return type === 'payment' ? this._payment : null; };

  // ---- The Payment Element: a frame of this origin --------------------------------------------
  function PaymentElement(elements, fields) {
    this._elements = elements;
    this._fields = fields;
    this._handlers = {};
    this._frame = null;
    this._destroyed = false;
    this._id = 'standin-payment-' + (++seq);
    this._pending = {};
    this._n = 0;
    this._onMessage = this._message.bind(this);
  }
  PaymentElement.prototype.on = function (ev, fn) {
    if (EVENTS.indexOf(ev) < 0) throw misuse('element.on(): unknown event ' + JSON.stringify(ev));
    if (typeof fn !== 'function') throw misuse('element.on(): the handler must be a function');
    (this._handlers[ev] = this._handlers[ev] || []).push(fn);
    return this;
  };
  PaymentElement.prototype._emit = function (ev, payload) {
    (this._handlers[ev] || []).forEach(function (fn) { fn(payload); });
  };
  PaymentElement.prototype.mount = function (target) {
    if (this._destroyed) throw misuse('element.mount(): this Element was destroyed');
    if (this._frame) throw misuse('element.mount(): this Element is already mounted');
    var box = target;
    if (typeof target === 'string') {
      var found = document.querySelectorAll(target);
      if (found.length !== 1) throw misuse('element.mount(): ' + JSON.stringify(target) + ' matches ' + found.length + ' elements, not 1');
      box = found[0];
    }
    if (!(box instanceof HTMLElement)) throw misuse('element.mount(): a CSS selector or a DOM element expected');
    var f = document.createElement('iframe');
    f.name = this._id;
    f.title = 'Secure payment input frame';
    f.setAttribute('allowtransparency', 'true');
    f.src = ORIGIN + '/elements/payment?' + qs({ id: this._id, origin: location.origin, color: this._elements._color, locale: this._elements._locale });
    // CSSOM, not a style attribute: allowed by a strict style-src, as with Stripe.js.
    f.style.display = 'block';
    f.style.width = '100%';
    f.style.border = '0';
    f.style.height = '12rem';
    window.addEventListener('message', this._onMessage);
    box.appendChild(f);
    this._frame = f;
    this._emit('loaderstart', { elementType: 'payment' });
  };
  PaymentElement.prototype._message = function (e) {
    if (!this._frame || e.source !== this._frame.contentWindow || e.origin !== ORIGIN) return;
    var m = e.data || {};
    if (m.id !== this._id) return;
    if (m.type === 'ready' || m.type === 'focus' || m.type === 'blur') this._emit(m.type, { elementType: 'payment' });
    else if (m.type === 'resize') this._frame.style.height = Math.ceil(m.height) + 'px';
    else if (m.type === 'change') this._emit('change', { elementType: 'payment', complete: !!m.complete, empty: !!m.empty, collapsed: false, value: { type: 'card' } });
    else if (m.type === 'result') {
      var done = this._pending[m.n];
      delete this._pending[m.n];
      if (done) done(m.result);
    }
  };
  PaymentElement.prototype._ask = function (msg) {
    var self = this;
    return new Promise(function (resolve) {
      msg.n = ++self._n;
      msg.id = self._id;
      self._pending[msg.n] = resolve;
      self._frame.contentWindow.postMessage(msg, ORIGIN);
    });
  };
  PaymentElement.prototype.unmount = function () {
    if (!this._frame) return;
    window.removeEventListener('message', this._onMessage);
    this._frame.remove();
    this._frame = null;
  };
  PaymentElement.prototype.destroy = function () {
    this.unmount();
    this._destroyed = true;
  };

  // ---- stripe.confirmPayment ------------------------------------------------------------------
  function never(fields, key) {
    return fields === 'never' || (isObject(fields) && fields[key] === 'never');
  }
  Stripe.prototype.confirmPayment = function (o) {
    if (!isObject(o)) throw misuse('stripe.confirmPayment(): options expected');
    only(o, ['elements', 'confirmParams', 'redirect', 'clientSecret'], 'stripe.confirmPayment()');
    var els = o.elements;
    if (!(els instanceof Elements)) throw misuse('stripe.confirmPayment(): elements must be the Elements instance of the mounted Payment Element');
    if (els._stripe !== this) throw misuse('stripe.confirmPayment(): these elements belong to another Stripe instance');
    if (o.clientSecret !== undefined) throw misuse('stripe.confirmPayment(): clientSecret is for Elements created without one');
    var pe = els._payment;
    if (!pe || !pe._frame) throw misuse('stripe.confirmPayment(): the Payment Element is not mounted');
    var redirect = o.redirect === undefined ? 'always' : o.redirect;
    if (redirect !== 'always' && redirect !== 'if_required') throw misuse('stripe.confirmPayment(): redirect must be "always" or "if_required"');
    var cp = o.confirmParams;
    if (!isObject(cp)) throw misuse('stripe.confirmPayment(): confirmParams with a return_url expected');
    only(cp, ['return_url', 'payment_method_data', 'receipt_email', 'shipping', 'save_payment_method', 'expand'], 'confirmParams');
    var ret = null;
    try { ret = new URL(cp.return_url); } catch (e) { ret = null; }
    if (typeof cp.return_url !== 'string' || !ret || (ret.protocol !== 'https:' && ret.protocol !== 'http:')) {
      throw misuse('confirmParams.return_url must be an absolute URL, got ' + JSON.stringify(cp.return_url));
    }
    var pmd = cp.payment_method_data === undefined ? {} : cp.payment_method_data;
    if (!isObject(pmd)) throw misuse('confirmParams.payment_method_data must be an object');
    only(pmd, ['billing_details', 'allow_redisplay'], 'confirmParams.payment_method_data');
    var bd = pmd.billing_details === undefined ? {} : pmd.billing_details;
    if (!isObject(bd)) throw misuse('payment_method_data.billing_details must be an object');
    only(bd, ['name', 'email', 'phone', 'address'], 'payment_method_data.billing_details');
    var fields = pe._fields;
    ['name', 'email', 'phone'].forEach(function (k) {
      if (bd[k] !== undefined && typeof bd[k] !== 'string') throw misuse('billing_details.' + k + ' must be a string');
      if (never(fields, k) && !bd[k]) {
        throw misuse('You specified "never" for fields.billing_details.' + k + ' when creating the payment Element, but did not pass confirmParams.payment_method_data.billing_details.' + k);
      }
    });
    var addr = bd.address;
    if (addr !== undefined) {
      if (!isObject(addr)) throw misuse('billing_details.address must be an object');
      only(addr, ['line1', 'line2', 'city', 'state', 'postal_code', 'country'], 'billing_details.address');
      for (var k in addr) if (addr[k] !== null && typeof addr[k] !== 'string') throw misuse('billing_details.address.' + k + ' must be a string');
      if (addr.country && !/^[A-Z]{2}$/.test(addr.country)) throw misuse('billing_details.address.country must be a two-letter country code');
    }
    if (never(fields, 'address') && (!addr || !addr.line1 || !addr.city || !addr.country)) {
      throw misuse('You specified "never" for fields.billing_details.address, but did not pass the address');
    }
    var params = { key: this._key, client_secret: els._secret, return_url: cp.return_url, redirect: redirect, billing_details: bd };
    return els._session.then(function () {
      return pe._frame ? pe._ask({ type: 'confirm', params: params }) : { error: { type: 'invalid_request_error', message: 'The Payment Element was removed.' } };
    }, function () {
      return { error: { type: 'api_connection_error', message: 'We could not connect to Stripe.' } };
    }).then(function (r) {
      if (r.error) return { error: r.error };
      var pi = r.paymentIntent, next = pi.next_action;
      if (pi.status === 'requires_action' && next && next.type === 'redirect_to_url') {
        window.location.assign(next.redirect_to_url.url);
        return hang();
      }
      if (redirect === 'always') {
        var u = new URL(cp.return_url);
        u.searchParams.set('payment_intent', pi.id);
        u.searchParams.set('payment_intent_client_secret', pi.client_secret);
        u.searchParams.set('redirect_status', pi.status === 'succeeded' ? 'succeeded' : pi.status);
        window.location.assign(u.toString());
        return hang();
      }
      return { paymentIntent: pi };
    });
  };

  window.Stripe = Stripe;
})();
