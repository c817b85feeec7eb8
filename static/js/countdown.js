// Countdowns to a window's close and observation timers. Any element with data-until
// (an ISO instant) shows the time left, updated each second. Time is the server's:
// the page carries the server's "now" (data-server-now), so a tablet whose own clock
// is wrong still counts down correctly.
(function () {
  let offset = 0;

  function syncToServer() {
    const marks = document.querySelectorAll("[data-server-now]");
    if (marks.length) {
      offset = Date.parse(marks[marks.length - 1].dataset.serverNow) - Date.now();
    }
  }

  function render() {
    const now = Date.now() + offset;
    document.querySelectorAll("[data-until]").forEach(function (el) {
      const left = Math.round((Date.parse(el.dataset.until) - now) / 1000);
      if (left <= 0) {
        el.textContent = el.dataset.doneText || "now";
        el.classList.add("text-success");
        return;
      }
      el.classList.remove("text-success");
      const h = Math.floor(left / 3600), m = Math.floor((left % 3600) / 60), s = left % 60;
      el.textContent = (h ? h + " h " : "") + m + " min " + String(s).padStart(2, "0") +
        " s left";
    });
  }

  syncToServer();
  render();
  setInterval(render, 1000);
  document.body.addEventListener("htmx:afterSwap", function () { syncToServer(); render(); });
})();
