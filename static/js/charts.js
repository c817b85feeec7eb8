// Shared by the dashboards' charts. Each page's numbers come in a json_script
// block (the content security policy allows no inline code).
window.hatCharts = {
  data(id) {
    return JSON.parse(document.getElementById(id).textContent);
  },
  // One bar per label, each series stacked on the last, coloured by its name.
  stackedBars(canvasId, data, colours, yTitle) {
    return new Chart(document.getElementById(canvasId), {
      type: "bar",
      data: {
        labels: data.labels,
        datasets: Object.entries(data.series).map(([name, values]) => ({
          label: name[0].toUpperCase() + name.slice(1),
          data: values,
          backgroundColor: colours[name],
        })),
      },
      options: {
        animation: false,
        scales: {
          x: { stacked: true },
          y: { stacked: true, beginAtZero: true, title: { display: Boolean(yTitle), text: yTitle } },
        },
      },
    });
  },
};
