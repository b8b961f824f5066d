// caseverify: the little behaviour pages need beyond htmx. Loaded as a file
// because the Content-Security-Policy allows no inline script.
document.addEventListener("click", function (e) {
  var b = e.target.closest("[data-print]");
  if (b) { window.print(); }
});
