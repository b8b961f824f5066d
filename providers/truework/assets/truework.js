// Stand-in for https://js.truework.com/v1, served by the caseverify Truework
// emulator at {emulator}/js/v1. It offers the Truework Direct API of the
// Truework.js reference:
//
//   var direct = Truework.direct.init({
//     publishableKey: "tw_pk_test_...",
//     sessionToken: "...",
//     env: Truework.direct.Env.Sandbox,
//     onComplete: function () {},
//     onClose: function () {},
//     onError: function (e) { /* e.code, e.message */ }
//   });
//   direct.open();
//
// open() shows a modal dialog with the emulator's widget in an iframe. The
// widget page posts {source: "truework-emulator", type: "complete" | "error"
// | "close"} to this window. No inline styles: the dialog's stylesheet is
// loaded from the emulator, so a strict Content-Security-Policy still holds.
(function () {
  "use strict";
  var script = document.currentScript;
  var src = script && script.src ? script.src : "";
  var base = src.replace(/[?#].*$/, "").replace(/\/js\/v1\/?$/, "");
  var baseOrigin = "";
  try { baseOrigin = new URL(base || ".", window.location.href).origin; } catch (err) { baseOrigin = window.location.origin; }

  var Env = Object.freeze({ Sandbox: "sandbox", Production: "production" });

  function ensureStyles() {
    if (document.querySelector("link[data-truework-emulator]")) return;
    var link = document.createElement("link");
    link.rel = "stylesheet";
    link.href = base + "/assets/truework-modal.css";
    link.setAttribute("data-truework-emulator", "");
    document.head.appendChild(link);
  }

  function init(options) {
    var opts = options || {};
    var state = { open: false, overlay: null, dialog: null, frame: null, closeButton: null, lastFocus: null };

    function callback(name, arg) {
      var fn = opts[name];
      if (typeof fn !== "function") return;
      try { fn(arg); } catch (err) { if (window.console) window.console.error(err); }
    }

    function onMessage(ev) {
      if (!state.open || ev.origin !== baseOrigin) return;
      if (state.frame && ev.source !== state.frame.contentWindow) return;
      var d = ev.data;
      if (!d || d.source !== "truework-emulator") return;
      if (d.type === "complete") {
        teardown();
        callback("onComplete", {});
      } else if (d.type === "error") {
        callback("onError", { code: String(d.code || "unknown"), message: String(d.message || "") });
      } else if (d.type === "close") {
        close();
      }
    }

    function onKey(ev) {
      if (!state.open) return;
      if (ev.key === "Escape") {
        ev.preventDefault();
        close();
      } else if (ev.key === "Tab") {
        // Keep focus inside the dialog: the close button and the iframe.
        var items = [state.closeButton, state.frame];
        var i = items.indexOf(document.activeElement);
        if (ev.shiftKey && i <= 0) { ev.preventDefault(); items[items.length - 1].focus(); }
        else if (!ev.shiftKey && i === items.length - 1) { ev.preventDefault(); items[0].focus(); }
      }
    }

    function teardown() {
      if (!state.open) return;
      state.open = false;
      window.removeEventListener("message", onMessage);
      document.removeEventListener("keydown", onKey, true);
      if (state.overlay && state.overlay.parentNode) state.overlay.parentNode.removeChild(state.overlay);
      state.overlay = state.dialog = state.frame = state.closeButton = null;
      if (state.lastFocus && typeof state.lastFocus.focus === "function") state.lastFocus.focus();
    }

    function close() {
      if (!state.open) return;
      teardown();
      callback("onClose");
    }

    function open() {
      if (state.open) return;
      if (!opts.sessionToken) {
        callback("onError", { code: "invalid_session", message: "A session token is required." });
        return;
      }
      ensureStyles();
      var overlay = document.createElement("div");
      overlay.className = "tw-emu-overlay";
      overlay.setAttribute("data-testid", "truework-overlay");

      var dialog = document.createElement("div");
      dialog.className = "tw-emu-dialog";
      dialog.setAttribute("role", "dialog");
      dialog.setAttribute("aria-modal", "true");
      dialog.setAttribute("aria-labelledby", "tw-emu-title");
      dialog.setAttribute("tabindex", "-1");
      dialog.setAttribute("data-testid", "truework-dialog");

      var header = document.createElement("div");
      header.className = "tw-emu-header";
      var title = document.createElement("h2");
      title.className = "tw-emu-title";
      title.id = "tw-emu-title";
      title.textContent = "Truework (sandbox emulator)";
      var closeButton = document.createElement("button");
      closeButton.type = "button";
      closeButton.className = "tw-emu-close";
      closeButton.textContent = "Close";
      closeButton.setAttribute("aria-label", "Close the Truework window");
      closeButton.setAttribute("data-testid", "truework-close");
      closeButton.addEventListener("click", close);
      header.appendChild(title);
      header.appendChild(closeButton);

      var frame = document.createElement("iframe");
      frame.className = "tw-emu-frame";
      frame.title = "Truework verification";
      frame.src = base + "/widget?token=" + encodeURIComponent(opts.sessionToken);
      frame.setAttribute("data-testid", "truework-frame");

      dialog.appendChild(header);
      dialog.appendChild(frame);
      overlay.appendChild(dialog);

      state.lastFocus = document.activeElement;
      state.overlay = overlay;
      state.dialog = dialog;
      state.frame = frame;
      state.closeButton = closeButton;
      state.open = true;
      document.body.appendChild(overlay);
      window.addEventListener("message", onMessage);
      document.addEventListener("keydown", onKey, true);
      dialog.focus();
    }

    return { open: open, close: close };
  }

  window.Truework = window.Truework || {};
  window.Truework.direct = { Env: Env, init: init };
})();
