// The stage funnel and conversion charts (ECharts, served from /console/static/vendor/).
"use strict";

(function () {
  const data = window.Console && window.Console.data("stage-data");
  if (!data || !window.echarts) return;
  const charts = [];

  const funnelNode = document.getElementById("chart-funnel");
  if (funnelNode) {
    const chart = window.echarts.init(funnelNode);
    chart.setOption({
      // Tooltips drawn on the canvas: ECharts' HTML tooltips set inline styles the CSP refuses.
      tooltip: { trigger: "item", renderMode: "richText", formatter: "{b}: {c}" },
      color: ["#07c160", "#2aae67", "#10aeff", "#576b95", "#fa9d3b", "#fa5151"],
      series: [{
        type: "funnel", sort: "none", left: "10%", width: "80%", top: 10, bottom: 10, gap: 2,
        minSize: "10%", label: { position: "inside", formatter: "{b} {c}" },
        data: data.stages.map((name, i) => ({ name, value: data.reached[i] })),
      }],
    });
    charts.push(chart);
  }

  const convNode = document.getElementById("chart-conversion");
  if (convNode) {
    const chart = window.echarts.init(convNode);
    chart.setOption({
      tooltip: { trigger: "axis", renderMode: "richText" },
      grid: { left: 48, right: 16, top: 24, bottom: 64 },
      xAxis: { type: "category", data: data.conversion.map((c) => c.name), axisLabel: { interval: 0, rotate: 30 } },
      yAxis: { type: "value", max: 100, axisLabel: { formatter: "{value}%" } },
      color: ["#07c160"],
      series: [{ name: "转化率", type: "bar", data: data.conversion.map((c) => c.value), label: { show: true, position: "top", formatter: "{c}%" } }],
    });
    charts.push(chart);
  }
  window.addEventListener("resize", () => charts.forEach((c) => c.resize()));
})();
