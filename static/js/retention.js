// The retention curve: the share still in treatment by weeks since admission, a
// stepped line (Kaplan-Meier), from the same numbers as the table beside it.
(function () {
  const data = hatCharts.data("retention-data");
  new Chart(document.getElementById("retention-chart"), {
    type: "line",
    data: {
      labels: data.labels,
      datasets: [{ label: "Still in treatment (%)", data: data.retained, stepped: true, pointRadius: 0, borderColor: "#0d6efd" }],
    },
    options: {
      animation: false,
      scales: {
        x: { title: { display: true, text: "Weeks since admission" } },
        y: { min: 0, max: 100, title: { display: true, text: "% still in treatment" } },
      },
    },
  });
})();
