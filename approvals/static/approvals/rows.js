// Repeatable rows (技术需求, 进站专家, 辐射单位 ...): a small table editor that keeps a hidden JSON field.
(function () {
  function build(container) {
    var input = container.querySelector("input[type=hidden]");
    var columns = JSON.parse(input.dataset.rows || "[]");
    var rows = [];
    try { rows = JSON.parse(input.value || "[]"); } catch (e) { rows = []; }
    var label = container.querySelector("label");
    label.textContent = input.dataset.label || label.textContent;
    var table = document.createElement("table");
    var add = document.createElement("button");
    add.type = "button"; add.className = "kx-btn kx-btn--secondary"; add.textContent = "+ 添加一行";
    function sync() { input.value = JSON.stringify(rows); }
    function render() {
      table.innerHTML = "";
      var head = table.insertRow();
      columns.forEach(function (c) { var th = document.createElement("th"); th.textContent = c.label; head.appendChild(th); });
      head.appendChild(document.createElement("th"));
      rows.forEach(function (row, i) {
        var tr = table.insertRow();
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
        del.type = "button"; del.className = "kx-btn kx-btn--secondary"; del.textContent = "删除";
        del.addEventListener("click", function () { rows.splice(i, 1); sync(); render(); });
        tr.insertCell().appendChild(del);
      });
    }
    add.addEventListener("click", function () { rows.push({}); sync(); render(); });
    container.appendChild(table); container.appendChild(add);
    render(); sync();
  }
  document.querySelectorAll(".kx-rows").forEach(build);
})();
