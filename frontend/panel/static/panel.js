// Admin Panel: small enhancements. Every page works without this script; it adds the phone
// menu, copy buttons, confirmation dialogs, line-item rows without a round trip, and the live preview
// of a site's branding. No inline script anywhere (the CSP forbids it).
(function () {
  "use strict";
  var doc = document;
  doc.documentElement.classList.add("js");

  function announce(text) {
    var live = doc.getElementById("live");
    if (!live) return;
    live.textContent = "";
    window.setTimeout(function () { live.textContent = text; }, 50);
  }

  function ready(fn) {
    if (doc.readyState !== "loading") fn(); else doc.addEventListener("DOMContentLoaded", fn);
  }

  ready(function () {
    // Phone menu.
    var toggle = doc.querySelector(".menu-toggle");
    var nav = doc.getElementById("nav");
    if (toggle && nav) {
      toggle.addEventListener("click", function () {
        var open = nav.classList.toggle("open");
        toggle.setAttribute("aria-expanded", open ? "true" : "false");
      });
    }

    // Copy buttons: data-copy names the input (or element) whose value is copied.
    doc.addEventListener("click", function (ev) {
      var btn = ev.target.closest("[data-copy]");
      if (!btn) return;
      var el = doc.querySelector(btn.getAttribute("data-copy"));
      if (!el) return;
      var text = el.value !== undefined ? el.value : el.textContent;
      function done() { announce("Copied to the clipboard"); btn.textContent = "Copied"; window.setTimeout(function () { btn.textContent = "Copy"; }, 2000); }
      function fallback() {
        if (el.select) { el.select(); }
        try { doc.execCommand("copy"); done(); } catch (e) { announce("Press Ctrl+C to copy"); }
      }
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(text).then(done, fallback);
      } else {
        fallback();
      }
    });

    initConfirmDialogs();

    // Colour swatches (a CSSOM property: inline style attributes are not allowed).
    Array.prototype.forEach.call(doc.querySelectorAll("[data-swatch]"), function (el) {
      el.style.setProperty("--swatch", el.getAttribute("data-swatch"));
    });

    initItems();
    initPreview();
    initProviders();
  });

  // Confirmations. A destructive action's form sends confirm=ask: without this script the
  // server answers with a confirm page (what will happen, the amount formatted, the button that
  // does it and a way back). Here the same step is fetched and shown in a native modal <dialog>
  // instead; Cancel or Escape closes it and nothing happens. Whatever is not a confirm step
  // (the form's own errors) is submitted as usual.
  function initConfirmDialogs() {
    if (typeof HTMLDialogElement !== "function" || !window.fetch || !window.DOMParser || !window.URLSearchParams) return;
    doc.addEventListener("submit", function (ev) {
      var form = ev.target;
      if (ev.defaultPrevented || form.hasAttribute("data-asked") || !form.querySelector("input[name=confirm][value=ask]")) return;
      ev.preventDefault();
      var opener = ev.submitter || form.querySelector("button[type=submit], button:not([type])");
      if (form.getAttribute("aria-busy") === "true") return;
      form.setAttribute("aria-busy", "true");
      function plain() {
        form.removeAttribute("aria-busy");
        form.setAttribute("data-asked", "");
        if (form.requestSubmit && opener) form.requestSubmit(opener); else form.submit();
      }
      var data;
      try { data = new FormData(form, ev.submitter || undefined); } catch (e) { data = new FormData(form); }
      fetch(form.action, { method: "POST", body: new URLSearchParams(data), credentials: "same-origin", headers: { Accept: "text/html" } })
        .then(function (res) { return res.text().then(function (html) { return { ok: res.ok, html: html }; }); })
        .then(function (r) {
          var step = r.ok && new DOMParser().parseFromString(r.html, "text/html").querySelector("[data-confirm-step]");
          if (!step) { plain(); return; }
          form.removeAttribute("aria-busy");
          openConfirm(step, opener);
        }, plain);
    });
  }

  function openConfirm(step, opener) {
    var old = doc.getElementById("confirm-dialog");
    if (old) old.parentNode.removeChild(old);
    var dlg = doc.createElement("dialog");
    dlg.id = "confirm-dialog";
    dlg.className = "confirm-dialog";
    dlg.setAttribute("aria-labelledby", "confirm-dialog-h");
    dlg.setAttribute("aria-describedby", "confirm-dialog-d");
    var box = doc.importNode(step, true);
    ["role", "aria-labelledby", "data-confirm-step"].forEach(function (a) { box.removeAttribute(a); });
    var h1 = box.querySelector("h1");
    var h = doc.createElement("h2");
    h.id = "confirm-dialog-h";
    h.textContent = h1 ? h1.textContent : "";
    if (h1) h1.parentNode.replaceChild(h, h1); else box.insertBefore(h, box.firstChild);
    var lines = box.querySelector(".confirm-lines");
    if (lines) lines.id = "confirm-dialog-d";
    var link = box.querySelector("[data-cancel]");
    var cancel = doc.createElement("button");
    cancel.type = "button";
    cancel.className = "secondary";
    cancel.setAttribute("data-cancel", "");
    cancel.textContent = link ? link.textContent : "Cancel";
    cancel.autofocus = true; // the safe choice has the focus
    if (link) link.parentNode.replaceChild(cancel, link); else box.appendChild(cancel);
    cancel.addEventListener("click", function () { dlg.close("cancel"); });
    dlg.appendChild(box);
    dlg.addEventListener("close", function () {
      if (dlg.parentNode) dlg.parentNode.removeChild(dlg);
      if (opener && opener.focus) opener.focus();
    });
    doc.body.appendChild(dlg);
    dlg.showModal();
  }

  // Line items of the Create Checkout and invoice forms: add and remove rows here; the server-side
  // buttons do the same without JavaScript.
  function initItems() {
    var list = doc.getElementById("items");
    var tpl = doc.getElementById("item-template");
    if (!list || !tpl) return;
    var word = list.getAttribute("data-row-label") || "Item"; // Item (checkouts), Line (invoices)
    function renumber() {
      var rows = list.querySelectorAll(".item-row");
      Array.prototype.forEach.call(rows, function (row, i) {
        var legend = row.querySelector("legend");
        if (legend) legend.textContent = word + " " + (i + 1);
        Array.prototype.forEach.call(row.querySelectorAll("[id]"), function (el) {
          el.id = el.id.replace(/items-\d+-/, "items-" + i + "-");
        });
        Array.prototype.forEach.call(row.querySelectorAll("label[for]"), function (el) {
          el.htmlFor = el.htmlFor.replace(/items-\d+-/, "items-" + i + "-");
        });
        Array.prototype.forEach.call(row.querySelectorAll("[aria-describedby]"), function (el) {
          el.setAttribute("aria-describedby", el.getAttribute("aria-describedby").replace(/items-\d+-/g, "items-" + i + "-"));
        });
        var rm = row.querySelector("button[name=op]");
        if (rm) { rm.value = "remove-row-" + i; rm.setAttribute("aria-label", "Remove " + word.toLowerCase() + " " + (i + 1)); }
      });
    }
    doc.addEventListener("click", function (ev) {
      var btn = ev.target.closest("button[name=op]");
      if (!btn || !list.contains(btn) && btn.value !== "add-row") return;
      if (btn.value === "add-row") {
        ev.preventDefault();
        list.appendChild(tpl.content.cloneNode(true));
        renumber();
        var rows = list.querySelectorAll(".item-row");
        var first = rows[rows.length - 1].querySelector("input");
        if (first) first.focus();
        announce(word + " " + rows.length + " added");
      } else if (btn.value.indexOf("remove-row-") === 0) {
        ev.preventDefault();
        var row = btn.closest(".item-row");
        var rows2 = list.querySelectorAll(".item-row");
        if (rows2.length === 1) {
          Array.prototype.forEach.call(row.querySelectorAll("input"), function (i) { i.value = i.name === "item_quantity" ? "1" : ""; });
        } else {
          row.parentNode.removeChild(row);
        }
        renumber();
        var add = doc.querySelector("button[value=add-row]");
        if (add) add.focus();
        announce(word + " removed");
      }
    });
  }

  // Live preview of the hosted page's branding on the site form.
  function initPreview() {
    var preview = doc.getElementById("preview");
    if (!preview) return;
    var color = doc.getElementById("f-primaryColor");
    var picker = doc.getElementById("f-primaryColor-picker");
    var logo = doc.getElementById("f-logoUrl");
    var name = doc.getElementById("f-name");
    var img = doc.getElementById("preview-logo");
    var title = doc.getElementById("preview-name");
    var valid = /^#[0-9a-fA-F]{6}$/;
    function update() {
      if (color && valid.test(color.value.trim())) {
        preview.style.setProperty("--brand", color.value.trim());
        if (picker) picker.value = color.value.trim().toLowerCase();
      }
      if (title && name) title.textContent = name.value.trim() || "Your site";
      if (img && logo) {
        var u = logo.value.trim();
        if (/^https:\/\/[^\s]+$/.test(u)) { img.src = u; img.hidden = false; } else { img.removeAttribute("src"); img.hidden = true; }
      }
    }
    if (picker && color) {
      picker.hidden = false;
      picker.addEventListener("input", function () { color.value = picker.value; update(); });
    }
    [color, logo, name].forEach(function (el) { if (el) el.addEventListener("input", update); });
    update();
  }

  // Site form: the default provider must be one of the ticked ones.
  function initProviders() {
    var boxes = doc.querySelectorAll("input[name=providerIds]");
    if (!boxes.length) return;
    function sync() {
      Array.prototype.forEach.call(boxes, function (b) {
        var radio = doc.getElementById("default-" + b.value);
        if (!radio) return;
        radio.disabled = !b.checked;
        if (!b.checked && radio.checked) {
          radio.checked = false;
          var none = doc.getElementById("default-none");
          if (none) none.checked = true;
        }
      });
    }
    Array.prototype.forEach.call(boxes, function (b) { b.addEventListener("change", sync); });
    sync();
  }
})();
