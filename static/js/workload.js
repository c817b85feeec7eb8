// Places in each clinic: taken, offered and free, stacked to the capacity, from the
// same numbers as the table beside it (json_script).
(function () {
  const data = JSON.parse(document.getElementById("workload-data").textContent);
  const colours = { taken: "#0d6efd", offered: "#ffc107", free: "#adb5bd" };
  new Chart(document.getElementById("workload-chart"), {
    type: "bar",
    data: {
      labels: data.labels,
      datasets: Object.entries(data.series).map(([name, values]) => ({
        label: name[0].toUpperCase() + name.slice(1),
        data: values,
        backgroundColor: colours[name],
      })),
    },
    options: { animation: false, scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, title: { display: true, text: "Places" } } } },
  });
})();
