// The side menu's links are in the Tab order. The Material frame makes each menu a list with a roving
// tabindex (only one item tabbable, the others reached with the arrow keys), and gives the current page's
// item tabindex -1, so Tab went past the whole menu. Navigation links are reached with Tab everywhere
// else on the site, so here too: every link and button of the menu keeps tabindex 0. The arrow keys still
// move within a list as before.
(function () {
  var SELECTOR = "aside.vf-page__menu a[href], aside.vf-page__menu button";

  function tabbable(el) {
    if (el.getAttribute("tabindex") !== "0") el.setAttribute("tabindex", "0");
  }

  function watch() {
    var menu = document.querySelector("aside.vf-page__menu");
    if (!menu || menu.dataset.kxKeys) return;
    menu.dataset.kxKeys = "1";
    menu.querySelectorAll("a[href], button").forEach(tabbable);
    new MutationObserver(function (changes) {
      changes.forEach(function (change) {
        if (change.target.matches && change.target.matches(SELECTOR)) tabbable(change.target);
        change.addedNodes.forEach(function (node) {
          if (node.querySelectorAll) node.querySelectorAll("a[href], button").forEach(tabbable);
        });
      });
    }).observe(menu, {subtree: true, childList: true, attributes: true, attributeFilter: ["tabindex"]});
  }

  document.addEventListener("DOMContentLoaded", watch);
  document.addEventListener("turbo:load", watch);
  document.addEventListener("turbo:render", watch);
})();
