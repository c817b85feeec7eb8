// The attendance chart: stacked bars of each outcome per period, from the same
// numbers as the table beside it.
hatCharts.stackedBars("attendance-chart", hatCharts.data("attendance-data"), {
  administered: "#198754", withheld: "#fd7e14", declined: "#6f42c1",
  missed: "#dc3545", excused: "#6c757d", open: "#adb5bd",
}, "Sessions");
