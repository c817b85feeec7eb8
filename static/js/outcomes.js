// The outcomes chart: one line per substance, the share of screens positive by month,
// from the same numbers as the table (json_script).
(function () {
  const data = hatCharts.data("outcomes-data");
  new Chart(document.getElementById("outcomes-chart"), {
    type: "line",
    data: {
      labels: data.labels,
      datasets: Object.entries(data.series).map(([label, values], index) => ({
        label: label,
        data: values,
        borderWidth: index === 0 ? 3 : 1,
        spanGaps: true,
      })),
    },
    options: { animation: false, scales: { y: { min: 0, max: 100, title: { display: true, text: "% positive" } } } },
  });
})();
