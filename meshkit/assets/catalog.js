"use strict";
(function () {
  var input = document.getElementById("filter");
  var cards = Array.prototype.slice.call(document.querySelectorAll(".model"));
  var shown = document.getElementById("shown");
  function apply() {
    var query = input.value.trim().toLowerCase();
    var count = 0;
    cards.forEach(function (card) {
      var match = !query || card.getAttribute("data-search").indexOf(query) !== -1;
      card.classList.toggle("hidden", !match);
      if (match) { count += 1; }
    });
    shown.textContent = String(count);
    document.body.setAttribute("data-visible-models", String(count));
  }
  input.addEventListener("input", apply);
  var params = new URLSearchParams(window.location.search);
  if (params.has("q")) { input.value = params.get("q"); }
  apply();
  document.body.setAttribute("data-ready", "1");
})();
