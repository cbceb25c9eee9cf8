// Theme and classroom mode before first paint (no flash): the URL hash, then the system preference.
// A classic script loaded synchronously in <head> (not inline), so the page runs under a CSP of script-src 'self'.
(function () {
  var m = /(?:^|[#&])theme=(light|dark)/.exec(location.hash);
  var dark = m ? m[1] === "dark" : window.matchMedia && matchMedia("(prefers-color-scheme: dark)").matches;
  document.documentElement.dataset.theme = dark ? "dark" : "light";
  if (/(?:^|[#&])classroom=1/.test(location.hash)) document.documentElement.classList.add("classroom");
})();
