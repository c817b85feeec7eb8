// Places in each clinic: taken, offered and free, stacked to the capacity, from the
// same numbers as the table beside it.
hatCharts.stackedBars("workload-chart", hatCharts.data("workload-data"), {
  taken: "#0d6efd", offered: "#ffc107", free: "#adb5bd",
}, "Places");
