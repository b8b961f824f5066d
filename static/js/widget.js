// caseverify: the applicant's page for a widget provider (Truework Direct,
// /v/{token}). It reads the page's data attributes and opens Truework.js:
//
//   Truework.direct.init({publishableKey, sessionToken, env, onComplete,
//                         onClose, onError}).open()
//
// Loaded as a file because the Content-Security-Policy allows no inline
// script. The messages are in the page already, in the applicant's
// language; this file only shows one of them.
(function () {
  "use strict";
  var root = document.querySelector("[data-widget]");
  if (!root) return;
  var button = root.querySelector("[data-widget-open]");
  var done = false;

  function show(name) {
    var msgs = root.querySelectorAll("[data-widget-msg]");
    for (var i = 0; i < msgs.length; i++) {
      msgs[i].hidden = msgs[i].getAttribute("data-widget-msg") !== name;
    }
  }

  function open() {
    if (done) return;
    var tw = window.Truework;
    if (!tw || !tw.direct || typeof tw.direct.init !== "function") {
      show("error");
      return;
    }
    show("");
    var env = root.getAttribute("data-env") === "production" ? tw.direct.Env.Production : tw.direct.Env.Sandbox;
    var widget = tw.direct.init({
      publishableKey: root.getAttribute("data-publishable-key"),
      sessionToken: root.getAttribute("data-session-token"),
      env: env,
      onComplete: function () {
        done = true;
        // Removed, not hidden: the button's own display rule would win.
        if (button.parentNode) button.parentNode.removeChild(button);
        show("complete");
      },
      onClose: function () {
        if (!done) show("closed");
      },
      onError: function () {
        show("error");
      }
    });
    widget.open();
  }

  button.addEventListener("click", open);
  button.disabled = false;
})();
