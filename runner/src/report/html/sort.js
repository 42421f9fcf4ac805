// Sorts the dashboard's tables by a column when its heading is clicked.
// The tables are complete and sorted by name without this script.
(function () {
  "use strict";
  var tables = document.querySelectorAll("table.sortable");
  Array.prototype.forEach.call(tables, function (table) {
    var headings = table.querySelectorAll("thead th");
    Array.prototype.forEach.call(headings, function (heading, column) {
      var button = document.createElement("button");
      button.type = "button";
      while (heading.firstChild) {
        button.appendChild(heading.firstChild);
      }
      heading.appendChild(button);
      button.addEventListener("click", function () {
        var ascending = heading.getAttribute("aria-sort") !== "ascending";
        Array.prototype.forEach.call(headings, function (other) {
          other.removeAttribute("aria-sort");
        });
        heading.setAttribute("aria-sort", ascending ? "ascending" : "descending");
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        var key = function (row) {
          var cell = row.cells[column];
          if (!cell) {
            return "";
          }
          var value = cell.getAttribute("data-value");
          return value === null ? cell.textContent.trim().toLowerCase() : value;
        };
        var numeric = rows.every(function (row) {
          var value = key(row);
          return value !== "" && !isNaN(Number(value));
        });
        rows.sort(function (a, b) {
          var x = key(a);
          var y = key(b);
          var order = numeric ? Number(x) - Number(y) : x < y ? -1 : x > y ? 1 : 0;
          return ascending ? order : -order;
        });
        rows.forEach(function (row) {
          body.appendChild(row);
        });
      });
    });
  });
})();
