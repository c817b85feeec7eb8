// The attendance chart: stacked bars of each outcome per period, from the same
// numbers as the table beside it (json_script, no inline code: the CSP allows it).
(function () {
  const data = JSON.parse(document.getElementById("attendance-data").textContent);
  const colours = {
    administered: "#198754", withheld: "#fd7e14", declined: "#6f42c1",
    missed: "#dc3545", excused: "#6c757d", open: "#adb5bd",
  };
  new Chart(document.getElementById("attendance-chart"), {
    type: "bar",
    data: {
      labels: data.labels,
      datasets: Object.entries(data.series).map(([name, values]) => ({
        label: name[0].toUpperCase() + name.slice(1),
        data: values,
        backgroundColor: colours[name],
      })),
    },
    options: { animation: false, scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true } } },
  });
})();
