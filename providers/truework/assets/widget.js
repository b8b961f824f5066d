// Truework emulator widget page: tells the Truework.js stand-in in the
// parent page what happened. The pages work without this file; it only
// matters when the widget runs in the stand-in's iframe.
(function () {
  "use strict";
  function post(msg) {
    if (window.parent && window.parent !== window) {
      msg.source = "truework-emulator";
      window.parent.postMessage(msg, "*");
    }
  }
  function announce() {
    var el = document.querySelector("[data-truework-event]");
    if (!el) return;
    var msg = { type: el.getAttribute("data-truework-event") };
    if (el.hasAttribute("data-truework-code")) msg.code = el.getAttribute("data-truework-code");
    if (el.hasAttribute("data-truework-message")) msg.message = el.getAttribute("data-truework-message");
    post(msg);
  }
  document.addEventListener("keydown", function (e) {
    if (e.key === "Escape") post({ type: "close" });
  });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", announce);
  } else {
    announce();
  }
})();
