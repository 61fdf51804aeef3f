// The dashboard's charts (ECharts, served from /console/static/vendor/): data from #chart-data.
"use strict";

(function () {
  const data = window.Console && window.Console.data("chart-data");
  if (!data || !window.echarts) return;
  // Tooltips drawn on the canvas: ECharts' HTML tooltips set inline styles the CSP refuses.
  const tooltip = { trigger: "axis", renderMode: "richText" };
  const charts = [];

  const trendNode = document.getElementById("chart-trend");
  if (trendNode) {
    const chart = window.echarts.init(trendNode);
    chart.setOption({
      tooltip,
      legend: { data: ["新增", "流失"] },
      grid: { left: 40, right: 16, top: 36, bottom: 28 },
      xAxis: { type: "category", data: data.labels },
      yAxis: { type: "value", minInterval: 1 },
      color: ["#07c160", "#fa5151"],
      series: [
        { name: "新增", type: "line", smooth: true, data: data.new },
        { name: "流失", type: "line", smooth: true, data: data.lost },
      ],
    });
    charts.push(chart);
  }

  const channelNode = document.getElementById("chart-channels");
  if (channelNode) {
    const chart = window.echarts.init(channelNode);
    chart.setOption({
      tooltip: { trigger: "item", renderMode: "richText" },
      series: [{
        type: "pie", radius: ["35%", "65%"], data: data.channels.length ? data.channels : [{ name: "暂无", value: 0 }],
        label: { formatter: "{b}: {c}" },
      }],
    });
    charts.push(chart);
  }
  window.addEventListener("resize", () => charts.forEach((c) => c.resize()));
})();
