// Wide tables scroll inside their card on a narrow screen (a phone); such a scroller is a named region a
// keyboard user can focus and scroll with the arrow keys.
(function () {
  function mark() {
    document.querySelectorAll(".kx-page table").forEach(function (table) {
      var box = table.parentElement;
      if (!box.classList.contains("kx-scroll")) {
        box = document.createElement("div");
        box.className = "kx-scroll";
        table.parentNode.insertBefore(box, table);
        box.appendChild(table);
      }
      if (box.scrollWidth > box.clientWidth + 1) {
        var card = box.closest(".kx-card"), heading = card && card.querySelector("h2");
        box.tabIndex = 0;
        box.setAttribute("role", "region");
        if (!box.hasAttribute("aria-label") && !box.hasAttribute("aria-labelledby")) {
          box.setAttribute("aria-label", heading ? heading.textContent.trim() : document.title);
        }
      } else if (box.getAttribute("role") === "region") {
        box.removeAttribute("tabindex"); box.removeAttribute("role");
      }
    });
  }
  mark();
  window.addEventListener("resize", mark);
})();

// A file picker in the page's language (approvals/_file_picker.html): the chosen file's name beside it.
(function () {
  if (window.kxFilePick) return;
  window.kxFilePick = true;
  document.addEventListener("change", function (event) {
    var input = event.target;
    if (!input.matches || !input.matches(".kx-filepick__input")) return;
    var box = input.closest(".kx-filepick"), name = box && box.querySelector(".kx-filepick__name");
    if (!name) return;
    name.textContent = input.files && input.files.length
      ? Array.prototype.map.call(input.files, function (file) { return file.name; }).join("、")
      : box.dataset.empty;
  });
})();
