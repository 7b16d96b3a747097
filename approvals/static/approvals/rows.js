// Repeatable rows (技术需求, 进站专家, 辐射单位 ...): a small table editor that keeps a hidden JSON field.
// Its words come from the page (data-add, data-delete, data-actions: translated there). A new row takes
// the focus (its first cell), so that a keyboard user goes on typing; a deleted row gives the focus to
// the row that took its place, or to the add button.
(function () {
  function build(container) {
    var input = container.querySelector("input[type=hidden]");
    var columns = JSON.parse(input.dataset.rows || "[]");
    var rows = [];
    try { rows = JSON.parse(input.value || "[]"); } catch (e) { rows = []; }
    var title = container.querySelector(".kx-rows__title");
    if (input.dataset.label) { title.textContent = input.dataset.label; }
    var words = container.dataset;
    var scroller = document.createElement("div");
    scroller.className = "kx-scroll";
    var table = document.createElement("table");
    table.className = "kx-rows__table";
    table.setAttribute("aria-labelledby", title.id);
    scroller.appendChild(table);
    var add = document.createElement("button");
    add.type = "button"; add.className = "kx-btn kx-btn--secondary"; add.textContent = words.add;
    function sync() { input.value = JSON.stringify(rows); }
    function render(focusRow) {
      table.innerHTML = "";
      var head = table.createTHead().insertRow();
      columns.forEach(function (c) {
        var th = document.createElement("th"); th.scope = "col"; th.textContent = c.label; head.appendChild(th);
      });
      var actions = document.createElement("th");
      actions.scope = "col"; actions.textContent = words.actions; head.appendChild(actions);
      var body = table.createTBody();
      rows.forEach(function (row, i) {
        var tr = body.insertRow();
        columns.forEach(function (c) {
          var td = tr.insertCell(), el;
          if (c.type === "choice") {
            el = document.createElement("select");
            el.add(new Option("—", ""));
            (c.choices || []).forEach(function (ch) { el.add(new Option(ch[1] || ch, ch[0] || ch)); });
          } else if (c.type === "textarea") {
            el = document.createElement("textarea"); el.rows = 2;
          } else { el = document.createElement("input"); el.type = "text"; }
          el.value = row[c.name] || ""; el.name = "";
          el.setAttribute("aria-label", c.label);
          el.addEventListener("input", function () { row[c.name] = el.value; sync(); });
          el.addEventListener("change", function () { row[c.name] = el.value; sync(); });
          td.appendChild(el);
        });
        var del = document.createElement("button");
        del.type = "button"; del.className = "kx-btn kx-btn--secondary"; del.textContent = words.delete;
        del.setAttribute("aria-label", words.delete + " " + (i + 1));
        del.addEventListener("click", function () {
          rows.splice(i, 1); sync(); render(Math.min(i, rows.length - 1));
          if (!rows.length) { add.focus(); }
        });
        tr.insertCell().appendChild(del);
      });
      if (focusRow !== undefined && focusRow >= 0 && body.rows[focusRow]) {
        var first = body.rows[focusRow].querySelector("input, select, textarea, button");
        if (first) { first.focus(); }
      }
    }
    add.addEventListener("click", function () { rows.push({}); sync(); render(rows.length - 1); });
    container.appendChild(scroller); container.appendChild(add);
    render(); sync();
  }
  document.querySelectorAll(".kx-rows").forEach(build);
})();
